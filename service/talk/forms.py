"""The form of a private message."""

from __future__ import annotations

from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from ..i18n import lazy_gettext as _l
from ..limits import MESSAGE_BODY_MAX
from ..main.forms import _MarkdownForm
from ..render_pool import comment_html


class MessageForm(_MarkdownForm):
    """Markdown with the comments' allow-list, sanitized off the event loop like a comment."""

    body = TextAreaField(
        _l("Your message"), validators=[DataRequired(), Length(max=MESSAGE_BODY_MAX)]
    )
    _render = staticmethod(comment_html)
