"""Atom feeds: the site's newest posts, and one user's (`service.feeds` builds the XML)."""

from __future__ import annotations

from quart import Response, abort

from .. import feeds, queries
from ..db import get_session
from ..email import absolute_url
from ..i18n import gettext as _
from . import main


@main.route("/feed.atom")
async def feed() -> Response:
    """The newest posts of everyone. One statement."""
    posts = await queries.newest_posts(get_session(), feeds.LENGTH)
    url = absolute_url("main.feed")
    site = feeds.Feed(url, _("Flasky"), url, absolute_url("main.index"), posts)
    return feeds.response(feeds.atom_xml(site, _("A post")), site.updated)


@main.route("/user/<username>/feed.atom")
async def user_feed(username: str) -> Response:
    """One user's newest posts; 404 for a user who does not exist. Two statements."""
    session = get_session()
    user = await queries.user_by_username(session, username)
    if user is None:
        abort(404)
    posts = await queries.newest_posts(session, feeds.LENGTH, user.id)
    url = absolute_url("main.user_feed", username=user.username)
    page = absolute_url("main.user", username=user.username)
    title = _("Posts by %(username)s", username=user.username)
    theirs = feeds.Feed(url, title, url, page, posts, updated_without_posts=user.member_since)
    return feeds.response(feeds.atom_xml(theirs, _("A post")), theirs.updated)
