"""CSRF protection for every state-changing request outside the API.

One check guards every form by construction: a `before_request` hook refuses
any POST/PUT/PATCH/DELETE whose `csrf_token` field (or `X-CSRFToken` header,
for the preview script) does not carry a valid token for this browser
session. Forms render the token with `{{ csrf_field() }}`.

The API is exempt: it authenticates with an Authorization header, which a
browser never sends on its own, so a forged cross-site request has no
credentials.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, SignatureExpired
from markupsafe import Markup, escape
from quart import Quart, abort, g, request, session

from .config import current_config
from .i18n import gettext as _
from .signing import UncompressedSerializer, serializer

SESSION_KEY = "csrf"
FIELD_NAME = "csrf_token"
HEADER_NAME = "X-CSRFToken"
# Long enough to write a long post; the token also dies with the browser session.
MAX_AGE = 12 * 60 * 60
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _serializer() -> UncompressedSerializer:
    # SHA-1, itsdangerous's default, named as hashlib's own function: the
    # default is a Python function wrapping it, for which `hmac` falls back
    # to its implementation in Python. Same signatures.
    return serializer((current_config().secret_key,), "csrf-token", digest_method=hashlib.sha1)


def new_session_secret() -> None:
    """Give this browser session a new random secret for its tokens (at login, say).

    A login clears the session; giving it its secret then, in the response
    that sets the signed-in session cookie, spares the next page a second
    session cookie.
    """
    session[SESSION_KEY] = secrets.token_hex(32)


def generate_csrf_token() -> str:
    """A signed, timestamped token bound to this browser session's random secret.

    Signed once per request and secret: a page with a form per post (delete
    buttons) would otherwise sign one for each.
    """
    if SESSION_KEY not in session:
        new_session_secret()
    secret = session[SESSION_KEY]
    signed = g.get("csrf_signed")
    if signed is None or signed[0] != secret:
        signed = g.csrf_signed = (secret, _serializer().dumps(secret))
    return str(signed[1])


def csrf_field() -> Markup:
    """The hidden form field every form template includes."""
    return hidden_field(generate_csrf_token())


def hidden_field(token: str) -> Markup:
    """The hidden form field carrying `token`."""
    # Escaped into an f-string: `Markup.format` goes through `string.Formatter`,
    # about four times the CPU, and a page has a few of these.
    return Markup(f'<input type="hidden" name="{FIELD_NAME}" value="{escape(token)}">')  # noqa: S704


async def validate_csrf() -> None:
    """Abort with 400 unless the request carries a valid CSRF token."""
    token = request.headers.get(HEADER_NAME)
    if not token:
        form = await request.form
        token = form.get(FIELD_NAME)
    if not token:
        abort(400, _("CSRF token missing."))
    try:
        secret = _serializer().loads(token, max_age=MAX_AGE)
    except SignatureExpired:
        abort(400, _("CSRF token expired."))
    except BadSignature:
        abort(400, _("CSRF failed."))
    expected = session.get(SESSION_KEY)
    if not isinstance(secret, str) or expected is None or not hmac.compare_digest(secret, expected):
        abort(400, _("CSRF failed."))


def init_app(app: Quart) -> None:
    @app.before_request
    async def _protect() -> None:
        # Unrouted requests fall through to their 404/405; the API is exempt.
        if (
            request.method in UNSAFE_METHODS
            and request.routing_exception is None
            and request.blueprint != "api"
        ):
            await validate_csrf()

    app.jinja_env.globals.update(csrf_token=generate_csrf_token, csrf_field=csrf_field)
