"""Forms of the blog pages: posts, comments, profiles."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from wtforms import BooleanField, SelectField, StringField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, Email, Length, Regexp

from ..auth.forms import USERNAME_PATTERN
from ..db import get_session
from ..forms import Form
from ..models import Role, User

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
        if await self._taken(User.email == email):
            raise ValidationError("Email already registered.")

    async def check_username(self, field: StringField) -> None:
        # Case-insensitive, as at registration: no "John" beside "john".
        if await self._taken(func.lower(User.username) == field.data.lower()):
            raise ValidationError("Username already in use.")

    async def _taken(self, condition: Any) -> bool:
        """Whether another account than the one being edited matches `condition`."""
        query = select(User.id).where(condition, User.id != self.user.id).limit(1)
        return (await get_session().scalar(query)) is not None
