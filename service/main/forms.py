"""Forms of the blog pages: posts, comments, profiles."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from wtforms import BooleanField, SelectField, StringField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, Email, Length, Regexp

from ..db import get_session
from ..forms import Form
from ..models import Role, User

# The same rule as registration's, and as the `users.username` column documents.
USERNAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_.]*$"
USERNAME_MESSAGE = "Usernames must have only letters, numbers, dots or underscores"


class PostForm(Form):
    body = TextAreaField("What's on your mind?", validators=[DataRequired()])


class CommentForm(Form):
    body = StringField("Enter your comment", validators=[DataRequired()])


class _AccountFields(Form):
    """The account fields only administrators edit.

    WTForms orders fields by when they were created: declaring these before
    `EditProfileForm` puts them first on the administrator's page.
    """

    email = StringField("Email", validators=[DataRequired(), Length(1, 254), Email()])
    username = StringField(
        "Username",
        validators=[DataRequired(), Length(1, 64), Regexp(USERNAME_PATTERN, 0, USERNAME_MESSAGE)],
    )
    confirmed = BooleanField("Confirmed")
    role = SelectField("Role", coerce=int)


class EditProfileForm(Form):
    name = StringField("Real name", validators=[Length(0, 64)])
    location = StringField("Location", validators=[Length(0, 64)])
    about_me = TextAreaField("About me")


class EditProfileAdminForm(_AccountFields, EditProfileForm):
    """Everything an administrator may change about `user`."""

    def __init__(self, user: User, roles: list[Role], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.user = user
        self.role.choices = [(role.id, role.name) for role in roles]

    async def check_email(self, field: StringField) -> None:
        email = (field.data or "").strip().lower()
        if email != self.user.email and await _taken(User.email == email):
            raise ValidationError("Email already registered.")

    async def check_username(self, field: StringField) -> None:
        if field.data != self.user.username and await _taken(User.username == field.data):
            raise ValidationError("Username already in use.")


async def _taken(condition: Any) -> bool:
    return (await get_session().scalar(select(User.id).where(condition).limit(1))) is not None
