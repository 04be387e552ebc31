"""Two-factor sign-in pages: set up, verify at login, turn off (SPEC 8.5).

Between the password and the code nobody is signed in: the login form, once
the password is right, only puts a signed token (`TWO_FACTOR_PENDING`, five
minutes) in the browser session, naming the user, the remember-me choice and
where to go next. Only a right code here turns it into a login cookie.
"""

from __future__ import annotations

from quart import flash, redirect, request, session, url_for
from quart.typing import ResponseReturnValue
from quart_auth import login_required

from .. import throttle
from .. import two_factor as totp
from ..config import current_config
from ..db import get_session
from ..i18n import gettext as _
from ..identity import signed_in_user
from ..signed_links import TWO_FACTOR_PENDING, use_token
from ..templating import render_template
from . import auth
from .accounts import holder_confirmed
from .forms import TwoFactorDisableForm, TwoFactorSetupForm, TwoFactorVerifyForm
from .redirects import safe_next
from .views import PENDING_KEY, lockout_page, start_session

# How long after the password the code may come.
PENDING_MAX_AGE = 5 * 60
# The secret being set up, sealed (`two_factor.new_setup`), until a code confirms it.
SETUP_KEY = "two_factor_setup"
# What pages showing a secret or recovery codes tell caches.
NO_STORE = {"Cache-Control": "no-store"}


async def _status_page(form: TwoFactorDisableForm, status: int = 200) -> ResponseReturnValue:
    page = await render_template("auth/two_factor_status.html", form=form)
    return page, status, NO_STORE


@auth.route("/two-factor", methods=["GET", "POST"])
@login_required
async def two_factor() -> ResponseReturnValue:
    """The QR code and secret to scan, and the code that confirms them and turns two-factor on."""
    user = await signed_in_user()
    if user.two_factor_enabled:
        return await _status_page(TwoFactorDisableForm())
    form = await TwoFactorSetupForm.from_request()
    secret = totp.setup_secret(session.get(SETUP_KEY))
    if secret is None:
        secret, session[SETUP_KEY] = totp.new_setup()
        if request.method == "POST":
            await flash(_("The setup had expired: scan the new code below."), "warning")
    elif await form.validate_on_submit():
        step = totp.matching_step(secret, form.code.data)
        if step is not None:
            codes = await totp.enable(get_session(), user, secret, step)
            session.pop(SETUP_KEY, None)
            page = await render_template("auth/two_factor_codes.html", codes=codes)
            return page, 200, NO_STORE
        form.code.errors = [_("Invalid code.")]
    page = await render_template(
        "auth/two_factor.html",
        form=form,
        secret=secret,
        qr_code=totp.provisioning_qr(secret, user),
    )
    return page, 200, NO_STORE


@auth.route("/two-factor/disable", methods=["POST"])
@login_required
async def two_factor_disable() -> ResponseReturnValue:
    """Turn two-factor off: the password and a code (throttled like a login)."""
    user = await signed_in_user()
    if not user.two_factor_enabled:
        return redirect(url_for("auth.two_factor"))
    form = await TwoFactorDisableForm.from_request()
    if not await form.validate_on_submit():
        return await _status_page(form, 400)
    db = get_session()
    confirmed = await holder_confirmed(
        db, user, form.password.data, form.code.data, request.remote_addr
    )
    if confirmed is None:
        return await lockout_page("auth/two_factor_status.html", form=form)
    if not confirmed:
        form.code.errors = [_("Invalid password or code.")]
        return await _status_page(form, 400)
    await totp.disable(db, user)
    await flash(_("Two-factor sign-in is off."), "info")
    return redirect(url_for("auth.two_factor"))


@auth.route("/two-factor/verify", methods=["GET", "POST"])
async def two_factor_verify() -> ResponseReturnValue:
    """The second step of a login: a current code from the app, or an unused recovery code."""
    db = get_session()
    token = session.get(PENDING_KEY)
    use = None
    if isinstance(token, str):
        use = await use_token(db, TWO_FACTOR_PENDING, token, max_age=PENDING_MAX_AGE)
    if use is None or not use.user.two_factor_enabled:
        session.pop(PENDING_KEY, None)
        await flash(_("Your login has expired. Please log in again."), "warning")
        return redirect(url_for("auth.login"))
    user = use.user
    form = await TwoFactorVerifyForm.from_request()
    if await form.validate_on_submit():
        verified = await throttle.guarded(
            db,
            current_config(),
            user.email,
            request.remote_addr,
            lambda: totp.check_code(db, user, form.code.data),
        )
        if verified is None:
            return await lockout_page("auth/two_factor_verify.html", form=form)
        if verified:
            start_session(user, remember=use.claims.get("remember") == "1")
            return redirect(safe_next(use.claims.get("next")) or url_for("main.index"))
        form.code.errors = [_("Invalid code.")]
    return await render_template("auth/two_factor_verify.html", form=form)
