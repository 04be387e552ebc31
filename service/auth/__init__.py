"""The `auth` blueprint: accounts, logins and the mails that go with them."""

import logging

from quart import Blueprint
from quart.blueprints import BlueprintSetupState

auth = Blueprint("auth", __name__)


@auth.record_once
def _warn_without_base_url(state: BlueprintSetupState) -> None:
    # Without FLASKY_BASE_URL, mailed links take the request's host, which a
    # client controls; production should name its own address.
    config = state.app.extensions["flasky_config"]
    if config.name == "production" and not config.base_url:
        logging.getLogger("flasky.auth").warning(
            "FLASKY_BASE_URL is not set: links in e-mails use the host each request names. "
            "Set it to this site's address, e.g. https://flasky.example.com"
        )


from . import two_factor_views, views  # noqa: E402, F401  (registers the routes)
