"""Forms of the blog pages: posts, comments, profiles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select
from wtforms import BooleanField, SelectField, StringField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, Email, Length, Regexp

from ..auth.forms import USERNAME_MESSAGE, USERNAME_PATTERN
from ..db import get_session
from ..forms import Form
from ..i18n import gettext as _
from ..i18n import lazy_gettext as _l
from ..limits import ABOUT_ME_MAX, COMMENT_BODY_MAX, LOCATION_MAX, NAME_MAX, POST_BODY_MAX
from ..markdown import TooComplex
from ..models import Role, User
from ..render_pool import comment_html, post_html

# `service.markdown.TOO_COMPLEX`, as the reader's language says it.
TOO_COMPLEX = _l("This text is too complex to display.")

# The standard roles' names as the page's language writes them; the rows keep the English.
_ROLE_NAMES = {
    "User": _l("User"),
    "Moderator": _l("Moderator"),
    "Administrator": _l("Administrator"),
}


def _role_name(role: Role) -> str:
    return str(_ROLE_NAMES.get(role.name, role.name))


class _MarkdownForm(Form):
    """A form whose `body` is Markdown, rendered while validating.

    Rendering is the last check: text that is too costly to render is a
    form error on `body` (and `refused` is true, so the page answers 400);
    valid text leaves its HTML in `body_html`, ready to store.
    """

    body: Any
    body_html = ""
    refused = False
    _render: Callable[[str], Awaitable[str]]

    async def check_body(self, field: Any) -> None:
        try:
            self.body_html = await type(self)._render(field.data)
        except TooComplex as error:
            self.refused = True
            raise ValidationError(str(TOO_COMPLEX)) from error


class PostForm(_MarkdownForm):
    body = TextAreaField(
        _l("What's on your mind?"), validators=[DataRequired(), Length(max=POST_BODY_MAX)]
    )
    _render = staticmethod(post_html)


class CommentForm(_MarkdownForm):
    body = StringField(
        _l("Enter your comment"), validators=[DataRequired(), Length(max=COMMENT_BODY_MAX)]
    )
    _render = staticmethod(comment_html)


class _AccountFields(Form):
    """The account fields only administrators edit.

    WTForms orders fields by when they were created: declaring these before
    `EditProfileForm` puts them first on the administrator's page.
    """

    email = StringField(_l("Email"), validators=[DataRequired(), Length(1, 254), Email()])
    username = StringField(
        _l("Username"),
        validators=[DataRequired(), Length(1, 64), Regexp(USERNAME_PATTERN, 0, USERNAME_MESSAGE)],
    )
    confirmed = BooleanField(_l("Confirmed"))
    role = SelectField(_l("Role"), coerce=int)


class EditProfileForm(Form):
    name = StringField(_l("Real name"), validators=[Length(0, NAME_MAX)])
    location = StringField(_l("Location"), validators=[Length(0, LOCATION_MAX)])
    about_me = TextAreaField(_l("About me"), validators=[Length(0, ABOUT_ME_MAX)])


class EditProfileAdminForm(_AccountFields, EditProfileForm):
    """Everything an administrator may change about `user`."""

    def __init__(self, user: User, roles: list[Role], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.user = user
        self.role.choices = [(role.id, _role_name(role)) for role in roles]

    async def check_email(self, field: StringField) -> None:
        email = (field.data or "").strip().lower()
        if await self._taken(User.email == email):
            raise ValidationError(_("Email already registered."))

    async def check_username(self, field: StringField) -> None:
        # Case-insensitive, as at registration: no "John" beside "john".
        if await self._taken(func.lower(User.username) == field.data.lower()):
            raise ValidationError(_("Username already in use."))

    async def _taken(self, condition: Any) -> bool:
        """Whether another account than the one being edited matches `condition`."""
        query = select(User.id).where(condition, User.id != self.user.id).limit(1)
        return (await get_session().scalar(query)) is not None
