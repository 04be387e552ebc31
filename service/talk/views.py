"""Pages of `talk`: the inbox, a conversation, the notifications, Block and Unblock.

A conversation's URL names only the other person: the page shows the
signed-in user's own conversation with them, so nobody can open anyone
else's. Every write goes through `write_transaction`, and a message's
notification is written in the same transaction as the message.
"""

from __future__ import annotations

from quart import abort, flash, redirect, request, url_for
from quart.typing import ResponseReturnValue
from quart_auth import current_user, login_required
from werkzeug.exceptions import TooManyRequests

from .. import blocks, messages, notifications, queries, throttle
from ..config import current_config
from ..db import get_session, write_transaction
from ..decorators import permission_required
from ..i18n import gettext as _
from ..identity import Reader, signed_in_reader
from ..models import Message, NotificationKind, Permission, User
from ..pagination import page_arg
from ..templating import render_template
from . import talk
from .forms import MessageForm


async def _someone_else(username: str, yourself: str) -> User:
    """The user named in the URL: 404 if there is none, 400 (`yourself`) for the signed-in user."""
    user = await queries.user_by_username(get_session(), username)
    if user is None:
        abort(404)
    if user.id == signed_in_reader().id:
        abort(400, yourself)
    return user


@talk.route("/messages")
@login_required
async def inbox() -> str:
    pagination = await messages.inbox(
        get_session(), signed_in_reader().id, page_arg(), current_config().followers_per_page
    )
    return await render_template(
        "talk/inbox.html", conversations=pagination.items, pagination=pagination
    )


@talk.route("/messages/<username>", methods=["GET", "POST"])
@login_required
async def conversation(username: str) -> ResponseReturnValue:
    viewer = signed_in_reader()
    other = await _someone_else(username, _("You cannot send messages to yourself."))
    session = get_session()
    form = await MessageForm.from_request()
    if request.method == "POST" and await _send(form, viewer, other):
        return redirect(url_for(".conversation", username=other.username, _anchor="new"))
    if await messages.has_unread_from(session, viewer.id, other.id):
        async with write_transaction(session):
            await messages.mark_read(session, viewer.id, other.id)
            marked = await notifications.mark_messages_read(session, viewer.id, other.id)
        # The navbar's count was loaded before these were read.
        current_user.unread_notifications -= marked  # type: ignore[attr-defined]
    # A conversation reads from the bottom: without ?page= it opens on the newest page.
    page = page_arg() if "page" in request.args else -1
    pagination = await messages.conversation(
        session, viewer.id, other.id, page, current_config().comments_per_page
    )
    page_html = await render_template(
        "talk/conversation.html",
        other=other,
        form=form,
        messages=pagination.items,
        pagination=pagination,
    )
    return page_html, 400 if request.method == "POST" else 200


async def _send(form: MessageForm, viewer: Reader, other: User) -> bool:
    """Send the form's message; whether it was sent (if not, the form holds its errors).

    403 for those who may not write, or to someone who blocked them; 429 past the limit.
    """
    if not viewer.confirmed or not viewer.can(Permission.COMMENT):
        abort(403)
    session = get_session()
    if await blocks.is_blocked(session, other.id, viewer.id):
        abort(403, str(blocks.BLOCKED))
    if not await form.validate_async():
        return False
    message = Message(
        sender_id=viewer.id, recipient_id=other.id, body=form.body.data, body_html=form.body_html
    )
    async with write_transaction(session):
        retry_after = await throttle.message_retry_after(session, viewer.id)
        if retry_after is None:
            session.add(message)
            await session.flush()
            notifications.notify(
                session, other.id, viewer.id, NotificationKind.MESSAGE, message_id=message.id
            )
    if retry_after is not None:
        raise TooManyRequests(
            _("You are sending messages too fast; please wait a moment."),
            retry_after=retry_after,
        )
    return True


@talk.route("/notifications")
@login_required
async def notification_list() -> str:
    viewer = signed_in_reader()
    session = get_session()
    pagination = await notifications.notifications_of(
        session, viewer.id, page_arg(), current_config().followers_per_page
    )
    if current_user.unread_notifications:  # type: ignore[attr-defined]
        async with write_transaction(session):
            await notifications.mark_all_read(session, viewer.id)
        current_user.unread_notifications = 0  # type: ignore[attr-defined]
    return await render_template(
        "talk/notifications.html", notifications=pagination.items, pagination=pagination
    )


@talk.route("/block/<username>", methods=["POST"])
@permission_required(Permission.FOLLOW)
async def block(username: str) -> ResponseReturnValue:
    user = await _someone_else(username, _("You cannot block yourself."))
    session = get_session()
    async with write_transaction(session):
        await blocks.block(session, signed_in_reader().id, user.id)
    await flash(_("You have blocked %(username)s.", username=user.username))
    return redirect(url_for("main.user", username=user.username))


@talk.route("/unblock/<username>", methods=["POST"])
@permission_required(Permission.FOLLOW)
async def unblock(username: str) -> ResponseReturnValue:
    user = await _someone_else(username, _("You cannot block yourself."))
    session = get_session()
    async with write_transaction(session):
        unblocked = await blocks.unblock(session, signed_in_reader().id, user.id)
    if unblocked:
        await flash(_("You have unblocked %(username)s.", username=user.username))
    else:
        await flash(_("You have not blocked this user."))
    return redirect(url_for("main.user", username=user.username))
