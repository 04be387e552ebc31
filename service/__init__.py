"""Flasky, async: the social blogging app of *Flask Web Development*, on Quart.

`create_app()` builds the ASGI app from the environment (see `service.config`).
"""

from __future__ import annotations

import logging
from typing import Any

from quart import Quart

from . import (
    accepting,
    avatars,
    csrf,
    db,
    fragments,
    headers,
    health,
    i18n,
    identity,
    request_checks,
    signing,
    templating,
)
from .config import Config, load_config
from .errors import register_error_handlers
from .paths import STATIC_DIR, TEMPLATES_DIR


def create_app(config: Config | None = None, **overrides: Any) -> Quart:
    """Build the app: configuration, database, login sessions, CSRF, blueprints, errors."""
    config = config or load_config(**overrides)
    app = Quart(
        __name__,
        template_folder=str(TEMPLATES_DIR),
        static_folder=str(STATIC_DIR),
    )
    app.config.update(config.quart_settings())
    app.extensions["flasky_config"] = config
    _log_to_stderr()

    engine = db.make_engine(
        config.database_url,
        config.slow_db_query_time,
        pool_size=config.database_pool_size,
        max_overflow=config.database_max_overflow,
    )
    db.init_app(app, engine)
    accepting.init_app(app)
    health.init_app(app)
    request_checks.init_app(app)
    identity.init_app(app)
    csrf.init_app(app)
    signing.init_app(app)
    headers.init_app(app, gravatar=config.avatars == "gravatar")
    templating.init_app(app)
    i18n.init_app(app)
    avatars.init_app(app)
    fragments.init_app(app)
    register_error_handlers(app)

    from .account import account
    from .api import api
    from .auth import auth
    from .main import main
    from .talk import talk

    app.register_blueprint(main)
    app.register_blueprint(talk)
    app.register_blueprint(auth, url_prefix="/auth")
    app.register_blueprint(account, url_prefix="/account")
    app.register_blueprint(api, url_prefix="/api/v1")

    if config.trusted_proxies:
        from hypercorn.middleware import ProxyFixMiddleware

        app.asgi_app = ProxyFixMiddleware(  # type: ignore[method-assign]
            app.asgi_app, mode="legacy", trusted_hops=config.trusted_proxies
        )
    return app


def _log_to_stderr() -> None:
    """Send the app's own messages (loggers `flasky.*`) to stderr, beside hypercorn's.

    Only the `flasky` logger gets a handler: one on the root logger would
    print every hypercorn line twice. Where the root logger already has
    handlers (a test runner, an embedding application), they decide.
    """
    logger = logging.getLogger("flasky")
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
