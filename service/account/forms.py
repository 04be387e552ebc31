"""The account forms."""

from __future__ import annotations

from wtforms import PasswordField
from wtforms.validators import DataRequired, Length

from ..forms import Form
from ..i18n import lazy_gettext
from ..passwords import MAX_LENGTH


class DeleteAccountForm(Form):
    """Confirms the deletion with what proves the account holder: today the password.

    When two-factor sign-in exists, its `code` field joins this form and its
    check joins `views._holder_confirmed`, the one place deletion checks who asks.
    """

    password = PasswordField(
        lazy_gettext("Password"), validators=[DataRequired(), Length(max=MAX_LENGTH)]
    )
