"""The account forms: field names and messages as in Flasky, limits as the spec sets them."""

from __future__ import annotations

from typing import Any

from babel.support import LazyProxy
from sqlalchemy import func, select
from wtforms import BooleanField, PasswordField, StringField, ValidationError
from wtforms.fields import EmailField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Regexp

from ..db import get_session
from ..forms import Form
from ..i18n import gettext as _
from ..i18n import lazy_gettext as _l
from ..models import User
from ..passwords import MAX_LENGTH, MIN_LENGTH
from .accounts import email_taken

# A TOTP code is 6 digits and a recovery code 11 characters; the bound leaves
# room for spaces a person types, and no more.
CODE_MAX_LENGTH = 64
USERNAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_.]*$"
USERNAME_MESSAGE = _l("Usernames must have only letters, numbers, dots or underscores")


def _normalize_email(value: Any) -> Any:
    """Addresses are compared and stored lower-case, without stray spaces."""
    return value.strip().lower() if isinstance(value, str) else value


def _email_field(label: LazyProxy | None = None) -> EmailField:
    return EmailField(
        _l("Email") if label is None else label,
        validators=[DataRequired(), Length(1, 254), Email()],
        filters=[_normalize_email],
    )


def _new_password_fields(
    label: LazyProxy | None = None, confirm: LazyProxy | None = None
) -> tuple[PasswordField, PasswordField]:
    """A new password and its confirmation: long enough, and never silently cut."""
    password = PasswordField(
        _l("Password") if label is None else label,
        validators=[
            DataRequired(),
            Length(
                MIN_LENGTH,
                MAX_LENGTH,
                message=_l("Passwords must have between %(min)d and %(max)d characters."),
            ),
            EqualTo("password2", message=_l("Passwords must match.")),
        ],
    )
    return password, PasswordField(
        _l("Confirm password") if confirm is None else confirm, validators=[DataRequired()]
    )


def code_field(label: LazyProxy | None = None) -> StringField:
    """A two-factor code: the 6 digits of an authenticator app (or a recovery code)."""
    return StringField(
        _l("Code") if label is None else label,
        validators=[DataRequired(), Length(max=CODE_MAX_LENGTH)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


def current_password_field() -> PasswordField:
    return PasswordField(_l("Password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])


class LoginForm(Form):
    email = _email_field()
    password = current_password_field()
    remember_me = BooleanField(_l("Keep me logged in"))


class RegistrationForm(Form):
    email = _email_field()
    username = StringField(
        _l("Username"),
        validators=[
            DataRequired(),
            Length(1, 64),
            Regexp(
                USERNAME_PATTERN,
                0,
                USERNAME_MESSAGE,
            ),
        ],
    )
    password, password2 = _new_password_fields()

    async def check_email(self, field: EmailField) -> None:
        if await email_taken(get_session(), field.data):
            raise ValidationError(_("Email already registered."))

    async def check_username(self, field: StringField) -> None:
        # Case-insensitive, so nobody can register "John" beside "john".
        taken = await get_session().scalar(
            select(User.id).where(func.lower(User.username) == field.data.lower())
        )
        if taken is not None:
            raise ValidationError(_("Username already in use."))


class ChangePasswordForm(Form):
    old_password = PasswordField(
        _l("Old password"), validators=[DataRequired(), Length(max=MAX_LENGTH)]
    )
    password, password2 = _new_password_fields(_l("New password"), _l("Confirm new password"))


class PasswordResetRequestForm(Form):
    email = _email_field()


class PasswordResetForm(Form):
    password, password2 = _new_password_fields(_l("New password"), _l("Confirm new password"))


class ChangeEmailForm(Form):
    email = _email_field(_l("New Email"))
    password = current_password_field()

    async def check_email(self, field: EmailField) -> None:
        if await email_taken(get_session(), field.data):
            raise ValidationError(_("Email already registered."))


class TwoFactorSetupForm(Form):
    code = code_field(_l("Code from your authenticator app"))


class TwoFactorVerifyForm(Form):
    code = code_field(_l("Code from your authenticator app, or a recovery code"))


class TwoFactorDisableForm(Form):
    password = current_password_field()
    code = code_field(_l("Code from your authenticator app, or a recovery code"))
