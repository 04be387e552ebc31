"""The Jinja environment's own settings, rendering, and the helpers no other module owns.

Registers `Permission` (for `current_user.can(Permission.WRITE)` in
templates) and the `isoformat` filter (also used by the API's JSON), and trims
block whitespace. Other helpers are registered by the module they belong to:
`csrf_field` by `service.csrf`, `avatar_url`/`avatar_img` by `service.avatars`,
`current_user` by `service.identity`.

Views render with `render_template` from here, not Quart's: see its docstring
and docs/performance.md.
"""

from __future__ import annotations

import inspect
from datetime import datetime
from typing import Any

from jinja2 import Environment
from quart import Quart, current_app, has_request_context, request

from .models import Permission

# Jinja's default number of compiled templates kept.
_CACHE_SIZE = 400


def isoformat(value: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, as the `<time>` elements and the API carry it."""
    return value.isoformat().replace("+00:00", "Z")


def _synchronous_environment(app: Quart) -> Environment:
    """The app's Jinja environment compiled without async mode (made at the first render).

    An overlay shares the loader, globals, filters, policies and extensions
    installed by every `init_app`; it gets an empty cache of its own, since
    templates compiled for async mode cannot render synchronously.
    """
    environment = app.extensions.get("flasky_sync_jinja")
    if environment is None:
        environment = app.jinja_env.overlay(enable_async=False, cache_size=_CACHE_SIZE)
        app.extensions["flasky_sync_jinja"] = environment
    return environment


async def _template_context(app: Quart, context: dict[str, Any]) -> None:
    """Add the context processors' values, as Quart does, without its thread pool.

    Quart runs a synchronous processor (quart-auth's) through `run_sync` on
    every render; ours only read the request, so they are called in place.
    """
    extra: dict[str, Any] = {}
    blueprints = reversed(request.blueprints) if has_request_context() else ()
    for name in [None, *blueprints]:
        for processor in app.template_context_processors[name]:
            values = processor()
            extra.update(await values if inspect.isawaitable(values) else values)
    context.update({**extra, **context})


async def render_template(template_name_or_list: str | list[str], **context: Any) -> str:
    """Quart's `render_template`, rendered by a synchronous Jinja environment.

    Quart compiles templates in async mode, where every output expression and
    call goes through `auto_await` and every loop through an async iterator:
    about half of a page's CPU time. No template of ours awaits anything (the
    signed-in user is loaded by a context processor before rendering), so the
    same templates compiled synchronously give the same HTML for less. Quart's
    `before_render_template`/`template_rendered` signals are not sent; nothing
    listens to them.
    """
    app: Quart = current_app._get_current_object()  # type: ignore[attr-defined]
    await _template_context(app, context)
    template = _synchronous_environment(app).get_or_select_template(template_name_or_list)
    return template.render(context)


def init_app(app: Quart) -> None:
    """Set up the Jinja environment; called once by `create_app()`."""
    app.jinja_env.globals.update(Permission=Permission)
    app.jinja_env.filters["isoformat"] = isoformat
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
