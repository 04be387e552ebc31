"""Forms of the blog pages: posts, comments, profiles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select
from wtforms import BooleanField, SelectField, StringField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, Email, Length, Regexp

from ..auth.forms import USERNAME_PATTERN
from ..db import get_session
from ..forms import Form
from ..limits import ABOUT_ME_MAX, COMMENT_BODY_MAX, LOCATION_MAX, NAME_MAX, POST_BODY_MAX
from ..markdown import TOO_COMPLEX, TooComplex
from ..models import Role, User
from ..render_pool import comment_html, post_html

USERNAME_MESSAGE = "Usernames must have only letters, numbers, dots or underscores"


class _MarkdownForm(Form):
    """A form whose `body` is Markdown, rendered while validating.

    Rendering is the last check: text that is too costly to render is a
    form error on `body` (and `refused` is true, so the page answers 400);
    valid text leaves its HTML in `body_html`, ready to store.
    """

    body: Any
    body_html = ""
    _render: Callable[[str], Awaitable[str]]

    async def check_body(self, field: Any) -> None:
        try:
            self.body_html = await type(self)._render(field.data)
        except TooComplex as error:
            raise ValidationError(str(error)) from error

    @property
    def refused(self) -> bool:
        """Whether the body was refused as too costly to render."""
        return TOO_COMPLEX in self.body.errors


class PostForm(_MarkdownForm):
    body = TextAreaField(
        "What's on your mind?", validators=[DataRequired(), Length(max=POST_BODY_MAX)]
    )
    _render = staticmethod(post_html)


class CommentForm(_MarkdownForm):
    body = StringField(
        "Enter your comment", validators=[DataRequired(), Length(max=COMMENT_BODY_MAX)]
    )
    _render = staticmethod(comment_html)


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
    name = StringField("Real name", validators=[Length(0, NAME_MAX)])
    location = StringField("Location", validators=[Length(0, LOCATION_MAX)])
    about_me = TextAreaField("About me", validators=[Length(0, ABOUT_ME_MAX)])


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
