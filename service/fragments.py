"""Parts of pages rendered once and reused: list items, page links, the navigation bar.

A list page shows 20 posts or 30 comments, and most of its Jinja work is in
them. What a reader with no buttons on an item sees of it depends only on:
the item's row (a `PostRow` or `CommentRow` tuple, whose fields are every
column shown, its author's included), a post's comment count, the page's
language and the app's root path. Exactly those make the cache key, so an
edited post, a renamed author or a new comment makes a new key: nothing
shown is ever stale, and the old entries leave the LRU. The page links under
a list are keyed the same way, on everything they show (`pagination_widget`),
and so is the navigation bar (`navbar`), whose forms get the reader's CSRF
token in place of a stand-in each time it is served.

Items with buttons carry the reader's CSRF token and are rendered each time:
a post's edit and delete buttons (its author, an administrator) and the
Enable/Disable forms of the moderation page. No whole page is cached.

A form (`render_form`, `post_form`) is cached while it is blank (nothing
typed in or loaded, no errors: `Form.is_blank`), keyed on its class, what
the template is given and the language; the navigation bar's stand-in takes
the token's place, as there. A form with anything in it is rendered each time.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from markupsafe import Markup
from quart import Quart, current_app, request

from .csrf import generate_csrf_token, hidden_field
from .forms import Form
from .i18n import current_locale
from .i18n import gettext as _
from .identity import TemplateUser, current_reader, session_user
from .models import Permission
from .pagination import Pagination
from .queries import CommentRow, PostRow, Profile
from .templating import synchronous_environment

POST_ITEM = "main/_post.html"
FORM = "_form.html"
POST_FORM = "main/_post_form.html"
COMMENT_ITEM = "main/_comment.html"
PAGE_LINKS = "_pagination.html"
NAVBAR = "_navbar.html"
PROFILE_HEAD = "main/_profile_head.html"
# Entries per worker: a few pages of every list in each language (~2 KB each).
_CACHED_ITEMS = 4096


def _app() -> Quart:
    return current_app._get_current_object()  # type: ignore[attr-defined]


def _render(template: str, **context: Any) -> Markup:
    # The output of an autoescaped template (`.html`): already safe HTML.
    html = synchronous_environment(_app()).get_template(template).render(context)
    return Markup(html)  # noqa: S704


def _reader_post(post: PostRow, comments: int, language: str, root: str) -> Markup:
    # `language` and `root` are only keys: the render reads them from the request.
    return _render(POST_ITEM, post=post, comments=comments, buttons=False, own=False)


def _reader_comment(comment: CommentRow, moderate: bool, language: str, root: str) -> Markup:
    return _render(COMMENT_ITEM, comment=comment, moderate=moderate, page=None)


def _page_links(
    page: int,
    per_page: int,
    total: int,
    exact: bool,
    endpoint: str,
    fragment: str,
    arguments: tuple[tuple[str, Any], ...],
    language: str,
    root: str,
) -> Markup:
    pagination: Pagination[Any] = Pagination((), page, per_page, total, exact)
    return _render(
        PAGE_LINKS,
        pagination=pagination,
        endpoint=endpoint,
        fragment=fragment,
        arguments=dict(arguments),
    )


# Stands in for the reader's CSRF token in a cached navigation bar, and is
# replaced by it on the way out: random per process, so that no text a reader
# can type (a search, a name) is ever taken for it.
_TOKEN_STAND_IN = secrets.token_urlsafe(24)


def _stand_in_field() -> Markup:
    """`csrf_field()` of a cached fragment: the stand-in, replaced when it is served."""
    return hidden_field(_TOKEN_STAND_IN)


def _with_token(html: Markup) -> Markup:
    return html.replace(_TOKEN_STAND_IN, generate_csrf_token())


def _navigation(
    reader: tuple[Any, ...] | None, path: str, search_query: str, language: str, root: str
) -> Markup:
    # All but `search_query` are only keys: the render reads them from the request.
    return _render(
        NAVBAR,
        current_user=TemplateUser(session_user()),
        request=request,
        search_query=search_query,
        csrf_field=_stand_in_field,
    )


def _profile_head(
    profile: Profile, viewer: tuple[bool, ...] | None, language: str, root: str
) -> Markup:
    # `viewer`, `language` and `root` are only keys: the render reads them from the request.
    return _render(
        PROFILE_HEAD,
        profile=profile,
        user=profile.user,
        blocked_by_viewer=profile.blocked_by_viewer,
        current_user=TemplateUser(session_user()),
        csrf_field=_stand_in_field,
    )


def _fragment(
    template: str, values: tuple[tuple[str, str], ...], language: str, root: str
) -> Markup:
    # `language` and `root` are only keys: the render reads them from the request.
    return _render(template, **dict(values))


def _blank_form(
    form_class: Callable[[], Form],
    template: str,
    context: tuple[tuple[str, Any], ...],
    language: str,
    root: str,
) -> Markup:
    # `language` and `root` are only keys; a new form of the class is as blank as the reader's.
    return _render(template, form=form_class(), csrf_field=_stand_in_field, **dict(context))


class _Cache:
    """One app's cached items: apps of one process (tests) may differ in settings (avatars)."""

    def __init__(self) -> None:
        self.post = functools.lru_cache(maxsize=_CACHED_ITEMS)(_reader_post)
        self.comment = functools.lru_cache(maxsize=_CACHED_ITEMS)(_reader_comment)
        self.page_links = functools.lru_cache(maxsize=_CACHED_ITEMS)(_page_links)
        self.navigation = functools.lru_cache(maxsize=_CACHED_ITEMS)(_navigation)
        self.profile_head = functools.lru_cache(maxsize=_CACHED_ITEMS)(_profile_head)
        self.blank_form = functools.lru_cache(maxsize=_CACHED_ITEMS)(_blank_form)
        self.fragment = functools.lru_cache(maxsize=_CACHED_ITEMS)(_fragment)


def _cache() -> _Cache:
    cache: _Cache = _app().extensions["flasky_fragments"]
    return cache


def post_items(posts: Sequence[PostRow], comment_counts: Mapping[int, int]) -> list[Markup]:
    """The `<li>` of each post of a list, for its reader (the signed-in user, if any).

    The reader, the language and the root path are looked up once for the
    list rather than once per post.
    """
    reader = current_reader()
    cached, language, root = _cache().post, current_locale(), request.root_path
    # `Rights.can_change` (its author or an administrator), with the reader's
    # rights asked once for the list: asking per post cost the signed-in
    # index 0.12 million instructions (1.6%).
    administrator = reader is not None and reader.is_administrator()
    reader_id = reader.id if reader is not None else None
    items = []
    for post in posts:
        comments = comment_counts[post.id]
        own = post.author_id == reader_id
        if own or administrator:
            items.append(_render(POST_ITEM, post=post, comments=comments, buttons=True, own=own))
        else:
            items.append(cached(post, comments, language, root))
    return items


def comment_items(comments: Sequence[CommentRow], moderate: bool, page: int | None) -> list[Markup]:
    """The `<li>` of each comment; a moderator sees disabled bodies, with forms on `page`."""
    if page is not None:
        return [
            _render(COMMENT_ITEM, comment=comment, moderate=moderate, page=page)
            for comment in comments
        ]
    cached, language, root = _cache().comment, current_locale(), request.root_path
    return [cached(comment, moderate, language, root) for comment in comments]


def pagination_widget(
    pagination: Pagination[Any], endpoint: str, fragment: str = "", **arguments: Any
) -> Markup:
    """The page links under a list of more than one page: the same for every reader of it.

    `endpoint` and `arguments` make each link's URL, `fragment` its anchor.
    The links depend on the page, the count, those, the language and the
    root path; the links of a long list were about 5% of its page's CPU. A
    function rather than a template macro: importing a macro costs each
    render that imports it a pass over every template global.
    """
    if pagination.pages <= 1:
        return Markup()
    return _cache().page_links(
        pagination.page,
        pagination.per_page,
        pagination.total,
        pagination.exact,
        endpoint,
        fragment,
        tuple(sorted(arguments.items())),
        current_locale(),
        request.root_path,
    )


def navbar(search_query: str) -> Markup:
    """The navigation bar of the page, for its reader, with their CSRF token in its forms.

    It depends on the reader (what it shows of them: name, avatar, whether
    they moderate, their unread notifications), the page's address (the
    language switcher returns there), the search shown in its box, the
    language and the root path; the key holds exactly those, so a new
    notification or a renamed user shows at once. It was about a fifth of
    the index's CPU.
    """
    user = session_user()
    signed_in, reader = user.reader, None
    if signed_in is not None:
        shown = (signed_in.id, signed_in.username, signed_in.email, signed_in.avatar_hash)
        reader = (*shown, signed_in.can(Permission.MODERATE), user.unread_notifications)
    html = _cache().navigation(
        reader, request.full_path, search_query, current_locale(), request.root_path
    )
    return _with_token(html)


def profile_head(profile: Profile) -> Markup:
    """The head of a profile page — the user, their counts, the viewer's buttons — for its viewer.

    It depends on the profile (every column and count it shows, and what the
    user and the viewer are to each other: `Profile` holds them all), on what
    its buttons ask of the viewer (signed in, on their own profile, allowed to
    follow, to write, to administer), the language and the root path; the key
    holds exactly those, so a new follower or an edited profile shows at once,
    and the viewer's CSRF token goes into its forms each time. It was about
    a tenth of a profile's instructions (docs/performance.md).
    """
    reader = current_reader()
    viewer = None
    if reader is not None:
        viewer = (
            reader.id == profile.user.id,
            reader.can(Permission.FOLLOW),
            reader.can(Permission.COMMENT),
            reader.is_administrator(),
        )
    html = _cache().profile_head(profile, viewer, current_locale(), request.root_path)
    return _with_token(html)


def _form(form: Form | type[Form], template: str, **context: Any) -> Markup:
    """`form`, or the blank form of a form class."""
    if isinstance(form, type):
        return _blank(form, template, **context)
    # WTForms' base class is untyped, so mypy cannot tell a form class from a form.
    made = cast(Form, form)
    if made.is_blank():
        return _blank(type(made), template, **context)
    return _render(template, form=made, **context)


def _blank(form_class: Callable[[], Form], template: str, **context: Any) -> Markup:
    key = tuple(sorted(context.items()))
    blank = _cache().blank_form(form_class, template, key, current_locale(), request.root_path)
    return _with_token(blank)


def fragment(template: str, **values: str) -> Markup:
    """An included template whose HTML depends only on `values`, the language and the root path.

    Rendered once per those (a feed's link and icon: an include of each cost
    a page ~0.13 million instructions, for the same few lines every time).
    """
    key = tuple(sorted(values.items()))
    return _cache().fragment(template, key, current_locale(), request.root_path)


def render_form(
    form: Form | type[Form], action: str = "", button: str | None = None, id: str | None = None
) -> Markup:
    """A whole form: its fields in order, then `button` (Submit by default).

    A function rather than a template macro, so that a blank form (a login
    page's, say: a third of its CPU) is rendered once per language. Given a
    form class rather than a form, it shows that class's blank form, and a
    view that has nothing to put in one (a GET of the login page) need not
    make one: WTForms' binding of its fields cost the login page 9% of its
    instructions (2.83 → 2.58 million).
    """
    button = _("Submit") if button is None else button
    return _form(form, FORM, action=action, button=button, id=id)


def post_form(form: Form | type[Form], action: str) -> Markup:
    """The Markdown post form with its preview (the index, editing a post), posted to `action`.

    A form class shows its blank form, as for `render_form`.
    """
    return _form(form, POST_FORM, action=action)


def init_app(app: Quart) -> None:
    app.extensions["flasky_fragments"] = _Cache()
    app.jinja_env.globals.update(
        post_items=post_items,
        comment_items=comment_items,
        pagination_widget=pagination_widget,
        navbar=navbar,
        profile_head=profile_head,
        render_form=render_form,
        fragment=fragment,
        post_form=post_form,
    )
