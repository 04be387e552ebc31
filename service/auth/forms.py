"""The account forms: field names and messages as in Flasky, limits as the spec sets them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from wtforms import BooleanField, PasswordField, StringField, ValidationError
from wtforms.fields import EmailField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Regexp

from ..db import get_session
from ..forms import Form
from ..models import User
from ..passwords import MAX_LENGTH, MIN_LENGTH
from .accounts import email_taken

USERNAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_.]*$"


def _normalize_email(value: Any) -> Any:
    """Addresses are compared and stored lower-case, without stray spaces."""
    return value.strip().lower() if isinstance(value, str) else value


def _email_field(label: str = "Email") -> EmailField:
    return EmailField(
        label, validators=[DataRequired(), Length(1, 254), Email()], filters=[_normalize_email]
    )


def _new_password_fields(label: str = "Password") -> tuple[PasswordField, PasswordField]:
    """A new password and its confirmation: long enough, and never silently cut."""
    password = PasswordField(
        label,
        validators=[
            DataRequired(),
            Length(
                MIN_LENGTH,
                MAX_LENGTH,
                message=f"Passwords must have between {MIN_LENGTH} and {MAX_LENGTH} characters.",
            ),
            EqualTo("password2", message="Passwords must match."),
        ],
    )
    return password, PasswordField(f"Confirm {label.lower()}", validators=[DataRequired()])


class LoginForm(Form):
    email = _email_field()
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_LENGTH)])
    remember_me = BooleanField("Keep me logged in")


class RegistrationForm(Form):
    email = _email_field()
    username = StringField(
        "Username",
        validators=[
            DataRequired(),
            Length(1, 64),
            Regexp(
                USERNAME_PATTERN,
                0,
                "Usernames must have only letters, numbers, dots or underscores",
            ),
        ],
    )
    password, password2 = _new_password_fields()

    async def check_email(self, field: EmailField) -> None:
        if await email_taken(get_session(), field.data):
            raise ValidationError("Email already registered.")

    async def check_username(self, field: StringField) -> None:
        # Case-insensitive, so nobody can register "John" beside "john".
        taken = await get_session().scalar(
            select(User.id).where(func.lower(User.username) == field.data.lower())
        )
        if taken is not None:
            raise ValidationError("Username already in use.")


class ChangePasswordForm(Form):
    old_password = PasswordField(
        "Old password", validators=[DataRequired(), Length(max=MAX_LENGTH)]
    )
    password, password2 = _new_password_fields("New password")


class PasswordResetRequestForm(Form):
    email = _email_field()


class PasswordResetForm(Form):
    password, password2 = _new_password_fields("New password")


class ChangeEmailForm(Form):
    email = _email_field("New Email")
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_LENGTH)])

    async def check_email(self, field: EmailField) -> None:
        if await email_taken(get_session(), field.data):
            raise ValidationError("Email already registered.")
