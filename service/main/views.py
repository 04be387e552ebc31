"""Pages of the blog: index, profiles, posts, comments, followers, moderation.

Each view reads its input, calls a query from `service.queries` (or changes a
row), and renders. State changes are POSTs; the CSRF hook has checked their
token before the view runs.
"""

from __future__ import annotations

from quart import Response, abort, flash, jsonify, redirect, request, url_for
from quart.typing import ResponseReturnValue
from quart_auth import login_required
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms import Field

from .. import blocks, notifications, queries
from ..avatars import identicon_svg
from ..config import current_config
from ..db import get_session, write_transaction
from ..decorators import admin_required, can, permission_required
from ..i18n import gettext as _
from ..identity import current_reader, signed_in_reader, signed_in_user
from ..limits import POST_BODY_MAX
from ..markdown import TooComplex
from ..models import Comment, Follow, NotificationKind, Permission, Post, User
from ..pagination import page_arg
from ..render_pool import post_html
from ..templating import render_template
from . import main
from .forms import TOO_COMPLEX, CommentForm, EditProfileAdminForm, EditProfileForm, PostForm

SHOW_FOLLOWED_MAX_AGE = 30 * 24 * 60 * 60


def _viewer_id() -> int | None:
    user = current_reader()
    return user.id if user else None


def _text(field: Field) -> str | None:
    """A free-text field's value, with an empty answer stored as no answer."""
    return (field.data or "").strip() or None


@main.route("/", methods=["GET", "POST"])
async def index() -> ResponseReturnValue:
    if request.method == "POST" and not can(Permission.WRITE):
        abort(403)
    # A form is made for a post only: a GET shows the blank form from the
    # cache (service.fragments.post_form), without making one (0.11 million
    # instructions, 1.8% of a writer's page).
    form = await PostForm.from_request() if request.method == "POST" else None
    if form is not None and await form.validate_async():
        session = get_session()
        body = form.body.data
        post = Post(body=body, body_html=form.body_html, author_id=signed_in_reader().id)
        async with write_transaction(session):
            session.add(post)
        return redirect(url_for(".index"))
    viewer = current_reader()
    show_followed = viewer is not None and bool(request.cookies.get("show_followed"))
    config = current_config()
    if viewer is not None and show_followed:
        posts = await queries.followed_posts(
            get_session(), viewer.id, page_arg(), config.posts_per_page
        )
    else:
        posts = await queries.all_posts(get_session(), page_arg(), config.posts_per_page)
    page = await render_template(
        "main/index.html",
        form=form or PostForm,
        posts=posts.pagination.items,
        comment_counts=posts.comment_counts,
        pagination=posts.pagination,
        show_followed=show_followed,
    )
    return page, 400 if form is not None and form.refused else 200


def _show_followed(value: str) -> WerkzeugResponse:
    response = redirect(url_for(".index"))
    response.set_cookie(
        "show_followed",
        value,
        max_age=SHOW_FOLLOWED_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=current_config().cookie_secure,
    )
    return response


@main.route("/all")
@login_required
async def show_all() -> ResponseReturnValue:
    return _show_followed("")


@main.route("/followed")
@login_required
async def show_followed() -> ResponseReturnValue:
    return _show_followed("1")


@main.route("/user/<username>")
async def user(username: str) -> str:
    session = get_session()
    profile = await queries.profile(session, username, _viewer_id())
    if profile is None:
        abort(404)
    posts = await queries.posts_by(
        session,
        profile.user.id,
        page_arg(),
        current_config().posts_per_page,
        total=profile.post_count,
    )
    return await render_template(
        "main/user.html",
        profile=profile,
        blocked_by_viewer=profile.blocked_by_viewer,
        user=profile.user,
        posts=posts.pagination.items,
        comment_counts=posts.comment_counts,
        pagination=posts.pagination,
    )


@main.route("/edit-profile", methods=["GET", "POST"])
@login_required
async def edit_profile() -> ResponseReturnValue:
    user = await signed_in_user()
    form = await EditProfileForm.from_request(obj=user)
    if await form.validate_on_submit():
        async with write_transaction(get_session()):
            user.name = _text(form.name)
            user.location = _text(form.location)
            user.about_me = _text(form.about_me)
        await flash(_("Your profile has been updated."))
        return redirect(url_for(".user", username=user.username))
    return await render_template("main/edit_profile.html", form=form, user=user)


@main.route("/edit-profile/<int:id>", methods=["GET", "POST"])
@admin_required
async def edit_profile_admin(id: int) -> ResponseReturnValue:
    session = get_session()
    user = await session.get(User, id)
    if user is None:
        abort(404)
    form = await EditProfileAdminForm.from_request(
        user=user,
        roles=await queries.roles(session),
        data={
            "email": user.email,
            "username": user.username,
            "confirmed": user.confirmed,
            "role": user.role_id,
            "name": user.name,
            "location": user.location,
            "about_me": user.about_me,
        },
    )
    if await form.validate_on_submit():
        async with write_transaction(session):
            user.set_email(form.email.data.strip())
            user.username = form.username.data
            user.confirmed = form.confirmed.data
            user.role_id = form.role.data
            user.name = _text(form.name)
            user.location = _text(form.location)
            user.about_me = _text(form.about_me)
        await flash(_("The profile has been updated."))
        return redirect(url_for(".user", username=user.username))
    return await render_template("main/edit_profile.html", form=form, user=user)


@main.route("/post/<int:id>", methods=["GET", "POST"])
async def post(id: int) -> ResponseReturnValue:
    session = get_session()
    found = await queries.post_with_author(session, id)
    if found is None:
        abort(404)
    post, comment_count = found
    form = await CommentForm.from_request()
    if request.method == "POST":
        if not can(Permission.COMMENT):
            abort(403)
        if await blocks.is_blocked(session, post.author_id, signed_in_reader().id):
            abort(403, str(blocks.BLOCKED))
        if await form.validate_async():
            body = form.body.data
            comment = Comment(
                body=body,
                body_html=form.body_html,
                post_id=post.id,
                author_id=signed_in_reader().id,
            )
            async with write_transaction(session):
                await notifications.add_comment(session, comment, post)
            await flash(_("Your comment has been published."))
            return redirect(url_for(".post", id=post.id, page=-1, _anchor="comments"))
    comments = await queries.comments_of(
        session, post.id, page_arg(), current_config().comments_per_page, total=comment_count
    )
    page = await render_template(
        "main/post.html",
        post=post,
        posts=[post],
        comment_counts={post.id: comments.total},
        form=form,
        comments=comments.items,
        pagination=comments,
        moderate=can(Permission.MODERATE),
    )
    return page, 400 if form.refused else 200


async def _editable_post(id: int) -> Post:
    """The post `id`, if the current user may change it: its author or an administrator."""
    post = await get_session().get(Post, id)
    if post is None:
        abort(404)
    if not signed_in_reader().can_change(post):
        abort(403)
    return post


@main.route("/edit/<int:id>", methods=["GET", "POST"])
@login_required
async def edit(id: int) -> ResponseReturnValue:
    post = await _editable_post(id)
    form = await PostForm.from_request(obj=post)
    if await form.validate_on_submit():
        body, body_html = form.body.data, form.body_html
        async with write_transaction(get_session()):
            post.body, post.body_html = body, body_html
        await flash(_("The post has been updated."))
        return redirect(url_for(".post", id=post.id))
    page = await render_template("main/edit_post.html", form=form, post=post)
    return page, 400 if form.refused else 200


@main.route("/post/<int:id>/delete", methods=["POST"])
@login_required
async def delete_post(id: int) -> ResponseReturnValue:
    post = await _editable_post(id)
    session = get_session()
    async with write_transaction(session):
        await queries.delete_post(session, post.id)
    await flash(_("The post has been deleted."))
    return redirect(url_for(".index"))


@main.route("/preview", methods=["POST"])
@permission_required(Permission.WRITE)
async def preview() -> Response:
    """The live preview of the post form: the very renderer that stores posts, and its limits."""
    body = (await request.form).get("body", "")
    if len(body) > POST_BODY_MAX:
        abort(400, _("A post can have at most %(max)d characters.", max=POST_BODY_MAX))
    try:
        return jsonify({"html": await post_html(body)})
    except TooComplex:
        abort(400, str(TOO_COMPLEX))


@main.route("/follow/<username>", methods=["POST"])
@permission_required(Permission.FOLLOW)
async def follow(username: str) -> ResponseReturnValue:
    session = get_session()
    viewer = signed_in_reader()
    user = await queries.user_by_username(session, username)
    if user is None:
        await flash(_("Invalid user."))
        return redirect(url_for(".index"))
    back = redirect(url_for(".user", username=user.username))
    if user.id == viewer.id:
        await flash(_("You cannot follow yourself."))
        return back
    if await blocks.is_blocked(session, user.id, viewer.id):
        abort(403, str(blocks.BLOCKED))
    if await queries.is_following(session, viewer.id, user.id):
        await flash(_("You are already following this user."))
        return back
    try:
        async with write_transaction(session):
            session.add(Follow(follower_id=viewer.id, followed_id=user.id))
            notifications.notify(session, user.id, viewer.id, NotificationKind.FOLLOW)
    except IntegrityError:
        # A second click raced the first one to the insert.
        await flash(_("You are already following this user."))
        return back
    await flash(_("You are now following %(username)s.", username=user.username))
    return back


@main.route("/unfollow/<username>", methods=["POST"])
@permission_required(Permission.FOLLOW)
async def unfollow(username: str) -> ResponseReturnValue:
    session = get_session()
    user = await queries.user_by_username(session, username)
    if user is None:
        await flash(_("Invalid user."))
        return redirect(url_for(".index"))
    async with write_transaction(session):
        unfollowed = await queries.unfollow(session, signed_in_reader().id, user.id)
    if unfollowed:
        await flash(_("You are not following %(username)s anymore.", username=user.username))
    else:
        await flash(_("You are not following this user."))
    return redirect(url_for(".user", username=user.username))


async def _follow_page(username: str, *, followers: bool) -> ResponseReturnValue:
    session = get_session()
    user = await queries.user_by_username(session, username)
    if user is None:
        await flash(_("Invalid user."))
        return redirect(url_for(".index"))
    pagination = await queries.follow_list(
        session,
        user.id,
        followers=followers,
        page=page_arg(),
        per_page=current_config().followers_per_page,
    )
    return await render_template(
        "main/followers.html",
        user=user,
        followers=followers,
        endpoint=".followers" if followers else ".followed_by",
        follows=pagination.items,
        pagination=pagination,
    )


@main.route("/followers/<username>")
async def followers(username: str) -> ResponseReturnValue:
    return await _follow_page(username, followers=True)


@main.route("/followed_by/<username>")
async def followed_by(username: str) -> ResponseReturnValue:
    return await _follow_page(username, followers=False)


@main.route("/moderate")
@permission_required(Permission.MODERATE)
async def moderate() -> str:
    page = page_arg()
    comments = await queries.all_comments(get_session(), page, current_config().comments_per_page)
    return await render_template(
        "main/moderate.html",
        comments=comments.items,
        pagination=comments,
        page=comments.page,
        moderate=True,
    )


async def _moderate(id: int, *, disabled: bool) -> ResponseReturnValue:
    async with write_transaction(get_session()) as session:
        found = await queries.set_comment_disabled(session, id, disabled)
    if not found:
        abort(404)
    return redirect(url_for(".moderate", page=page_arg()))


@main.route("/moderate/enable/<int:id>", methods=["POST"])
@permission_required(Permission.MODERATE)
async def moderate_enable(id: int) -> ResponseReturnValue:
    return await _moderate(id, disabled=False)


@main.route("/moderate/disable/<int:id>", methods=["POST"])
@permission_required(Permission.MODERATE)
async def moderate_disable(id: int) -> ResponseReturnValue:
    return await _moderate(id, disabled=True)


@main.route("/avatar/<int:user_id>.svg")
async def avatar(user_id: int) -> Response:
    response = Response(identicon_svg(user_id), mimetype="image/svg+xml")
    response.cache_control.public = True
    response.cache_control.max_age = 7 * 24 * 3600
    response.cache_control.immutable = True
    return response
