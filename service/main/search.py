"""The search page: posts containing every word of the query, and users whose name contains it."""

from __future__ import annotations

from quart import abort, request

from .. import queries
from ..config import current_config
from ..db import get_session
from ..i18n import gettext as _
from ..pagination import page_arg
from ..search import MAX_LENGTH, MAX_WORDS, Query, QueryRefused, highlight
from ..templating import render_template
from . import main


def query_arg() -> Query:
    """The `q` of the request as a search query, or 400 past its limits."""
    try:
        return Query.parse(request.args.get("q", ""))
    except QueryRefused as refused:
        if refused.too_long:
            abort(400, _("A search can have at most %(num)d characters.", num=MAX_LENGTH))
        abort(400, _("A search can have at most %(num)d words.", num=MAX_WORDS))


@main.route("/search")
async def search() -> str:
    """Empty `q`: the page with the box and no results, and no query run."""
    query = query_arg()
    posts = users = pagination = None
    comment_counts: dict[int, int] = {}
    if query:
        session = get_session()
        found = await queries.search_posts(
            session, query, page_arg(), current_config().posts_per_page
        )
        pagination = found.pagination
        comment_counts = found.comment_counts
        # The list template reads `body_html`: the results show it highlighted.
        posts = [
            post._replace(body_html=highlight(post.body_html, query.words))
            for post in pagination.items
        ]
        users = await queries.search_users(session, query)
    return await render_template(
        "main/search.html",
        search_query=query.text,
        posts=posts,
        comment_counts=comment_counts,
        pagination=pagination,
        users=users,
    )
