"""The Jinja environment's own settings, rendering, and the helpers no other module owns.

Registers `Permission` (for `current_user.can(Permission.WRITE)` in
templates), the `isoformat` filter (also used by the API's JSON) and
`cached_url_for` as templates' `url_for`, and trims block whitespace. Other
helpers are registered by the module they belong to:
`csrf_field` by `service.csrf`, `avatar_url`/`avatar_img` by `service.avatars`,
`current_user` by `service.identity`.

Views render with `render_template` from here, not Quart's: see its docstring
and docs/performance.md.
"""

from __future__ import annotations

import functools
import inspect
from collections import ChainMap
from collections.abc import MutableMapping
from datetime import datetime
from types import FunctionType, MethodType
from typing import Any

from jinja2 import Environment, pass_environment, pass_eval_context
from jinja2.runtime import Context
from quart import Quart, current_app, has_request_context, request, url_for

from .models import Permission

# Jinja's default number of compiled templates kept.
_CACHE_SIZE = 400


def isoformat(value: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, as the `<time>` elements and the API carry it."""
    return value.isoformat().replace("+00:00", "Z")


def cached_url_for(endpoint: str, **values: Any) -> str:
    """`url_for` remembering the paths it built: a list page builds ~120, mostly the same.

    A path depends only on the endpoint, its values, the app's root path and,
    for a relative endpoint, the blueprint (the app registers no URL defaults
    or value preprocessors). External URLs depend on the request's host and
    are built each time, as are calls with values that cannot be a cache key.
    """
    if not has_request_context() or not _PER_REQUEST.isdisjoint(values):
        return url_for(endpoint, **values)
    anchor = values.pop("_anchor", None)
    key = tuple(sorted(values.items()))
    try:
        hash(key)
    except TypeError:
        return url_for(endpoint, _anchor=anchor, **values)
    # The request itself, not its proxy: each attribute read through the
    # proxy costs about as much as the cache lookup (an API page makes 60).
    current = request._get_current_object()  # type: ignore[attr-defined]
    blueprint = current.blueprint if endpoint.startswith(".") else None
    return _url_path(current.root_path, blueprint, endpoint, anchor, key)


# The values that make a URL depend on more than its endpoint and values.
_PER_REQUEST = frozenset({"_external", "_scheme", "_method"})


@functools.lru_cache(maxsize=8192)
def _url_path(
    root: str, blueprint: str | None, endpoint: str, anchor: str | None, values: tuple[Any, ...]
) -> str:
    return url_for(endpoint, _anchor=anchor, **dict(values))


def synchronous_environment(app: Quart) -> Environment:
    """The app's Jinja environment compiled without async mode (made at the first render).

    An overlay shares the loader, globals, filters, policies and extensions
    installed by every `init_app`; it gets an empty cache of its own, since
    templates compiled for async mode cannot render synchronously.
    """
    environment = app.extensions.get("flasky_sync_jinja")
    if environment is None:
        environment = app.jinja_env.overlay(enable_async=False, cache_size=_CACHE_SIZE)
        environment.make_globals = functools.partial(_template_globals, environment)  # type: ignore[method-assign]
        environment.context_class = _Context
        app.extensions["flasky_sync_jinja"] = environment
    return environment


def _template_globals(environment: Environment, own: MutableMapping[str, Any] | None) -> Any:
    """A template's globals: the environment's dict itself when it has none of its own.

    Jinja gives each template a ChainMap over the environment's globals, and
    every context made for it (a render, an include) copies that map key by
    key in Python, twice: ~0.1 million instructions each, 3% of a page. Our
    templates are loaded without globals of their own and nothing writes to
    a template's globals, so they read the environment's dict, copied in C.
    """
    if own:
        return ChainMap(own, environment.globals)
    return environment.globals


# The markers `pass_eval_context` and `pass_environment` put on a function.
_EVAL_CONTEXT = vars(pass_eval_context(lambda: None))["jinja_pass_arg"]
_ENVIRONMENT = vars(pass_environment(lambda: None))["jinja_pass_arg"]


class _Context(Context):
    """Jinja's context, with its `call` shorter for functions and methods.

    Jinja compiles every call in a template to `Context.call`, which looks for
    `jinja_pass_arg` on the callable and on its `__call__` (a method-wrapper
    made for the look-up) before calling it: ~5,000 instructions each, 30 to
    50 calls a page. A plain function or a bound method (`current_user.can`)
    is called as Jinja would, with the same arguments — the evaluation context
    or the environment first if it asks for one (`_()` asks for the first) —
    and the same answer to a StopIteration. A function that asks for the
    context, and any other callable, goes through Jinja's.
    """

    def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        function = __obj.__func__ if type(__obj) is MethodType else __obj
        if type(function) is not FunctionType:
            return super().call(__obj, *args, **kwargs)
        pass_arg = function.__dict__.get("jinja_pass_arg")
        if pass_arg is _EVAL_CONTEXT:
            args = (__self.eval_ctx, *args)
        elif pass_arg is _ENVIRONMENT:
            args = (__self.environment, *args)
        elif pass_arg is not None:  # the context: Jinja derives it for the block's variables
            return super().call(__obj, *args, **kwargs)
        kwargs.pop("_block_vars", None)
        kwargs.pop("_loop_vars", None)
        try:
            return __obj(*args, **kwargs)
        except StopIteration:
            return __self.environment.undefined(
                "value was undefined because a callable raised a StopIteration exception"
            )


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


async def render_template(template_name: str, **context: Any) -> str:
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
    template = synchronous_environment(app).get_template(template_name)
    return template.render(context)


def init_app(app: Quart) -> None:
    """Set up the Jinja environment; called once by `create_app()`."""
    app.jinja_env.globals.update(Permission=Permission, url_for=cached_url_for)
    app.jinja_env.filters["isoformat"] = isoformat
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
