"""Account pages: register, confirm, log in and out, passwords, e-mail changes."""

from __future__ import annotations

import math
from typing import Any

from quart import Request, abort, flash, redirect, request, session, url_for
from quart.typing import ResponseReturnValue
from quart_auth import login_required, login_user, logout_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import throttle
from ..config import current_config
from ..csrf import new_session_secret
from ..db import get_session, write_transaction
from ..email import absolute_url, send_email, wait_like_a_send
from ..i18n import current_locale, ngettext
from ..i18n import gettext as _
from ..i18n import lazy_gettext as _l
from ..identity import SessionUser, current_reader, signed_in_user
from ..models import User
from ..passwords import verify_password
from ..signed_links import (
    CHANGE_EMAIL,
    CONFIRM,
    RESET_PASSWORD,
    TWO_FACTOR_PENDING,
    make_token,
    use_token,
)
from ..templating import render_template
from . import auth
from .accounts import authenticate, create_account, email_taken, set_password
from .forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    LoginForm,
    PasswordResetForm,
    PasswordResetRequestForm,
    RegistrationForm,
)
from .redirects import safe_next

# Whether this browser's login was "remember me", so that re-issuing its cookie
# after a password change keeps the lifetime the user chose.
REMEMBER_KEY = "remember_me"
CONFIRM_FIRST = _l("Please confirm your account first: follow the link in the email we sent you.")
# The signed proof, between the password and the two-factor code, that the password was right.
PENDING_KEY = "two_factor_pending"
MAIL_FAILED = _l("The email could not be sent. Please try again in a few minutes.")

# Where an unconfirmed user is not sent to /auth/unconfirmed: the account
# pages themselves (export and deletion too: an account registered with a
# mistyped address can still be taken away or deleted) and the API (which
# answers 403 on its own). App-level
# endpoints (static files, the health check) are not pages, nor are avatars.
_OPEN_TO_UNCONFIRMED_BLUEPRINTS = {None, "auth", "api", "account"}
_OPEN_TO_UNCONFIRMED_ENDPOINTS = {"main.avatar"}


def _home() -> ResponseReturnValue:
    return redirect(url_for("main.index"))


def start_session(user: User, remember: bool) -> None:
    """Log `user` in on a fresh session: nothing from before the login is kept (no fixation)."""
    session.clear()
    session[REMEMBER_KEY] = remember
    new_session_secret()
    login_user(SessionUser.of(user), remember=remember)


async def lockout_page(template: str, **context: Any) -> ResponseReturnValue:
    """429: too many failed attempts for this account from this address (`service.throttle`)."""
    window = current_config().login_window
    minutes = math.ceil(window / 60)
    lockout = ngettext(
        "Too many failed login attempts for this account. "
        "Please wait %(num)d minute and try again.",
        "Too many failed login attempts for this account. "
        "Please wait %(num)d minutes and try again.",
        minutes,
    )
    page = await render_template(template, lockout=lockout, **context)
    return page, 429, {"Retry-After": str(window)}


def _end_session() -> None:
    logout_user()
    session.clear()


async def _send_confirmation(user: User) -> bool:
    url = absolute_url("auth.confirm", token=make_token(CONFIRM, user))
    return await send_email(user.email, _l("Confirm Your Account"), "confirm", user=user, url=url)


@auth.before_app_request
async def _send_unconfirmed_users_to_confirm() -> ResponseReturnValue | None:
    current: Request = request._get_current_object()  # type: ignore[attr-defined]
    # The open pages first: the API's requests then never resolve a login cookie here.
    if (
        current.blueprint in _OPEN_TO_UNCONFIRMED_BLUEPRINTS
        or current.endpoint in _OPEN_TO_UNCONFIRMED_ENDPOINTS
    ):
        return None
    user = current_reader()
    if user is None or user.confirmed:
        return None
    # A page sends them to confirm; a change (a post, a follow, a message)
    # is refused outright, as the redirect would drop what they sent.
    if current.method not in ("GET", "HEAD"):
        abort(403, str(CONFIRM_FIRST))
    return redirect(url_for("auth.unconfirmed"))


@auth.route("/login", methods=["GET", "POST"])
async def login() -> ResponseReturnValue:
    if request.method != "POST":
        # Its blank form, from the cache, without making one (service.fragments.render_form).
        return await render_template("auth/login.html", form=LoginForm)
    form = await LoginForm.from_request()
    if await form.validate_on_submit():
        config, db, address = current_config(), get_session(), request.remote_addr
        attempt = await throttle.reserve_attempt(db, config, form.email.data, address)
        if attempt is None:
            # Refused without looking at the password: guessing on has no use.
            return await lockout_page("auth/login.html", form=form)
        user = await authenticate(db, form.email.data, form.password.data)
        if user is None:
            await throttle.attempt_failed(db, config)
            await flash(_("Invalid email or password."), "danger")
        elif user.two_factor_enabled:
            # Not a failure, but the pair's failures stay until the code is right too.
            await throttle.forget_attempt(db, attempt)
            session[PENDING_KEY] = make_token(
                TWO_FACTOR_PENDING,
                user,
                remember="1" if form.remember_me.data else "",
                next=request.args.get("next") or "",
            )
            return redirect(url_for("auth.two_factor_verify"))
        else:
            await throttle.clear_failures(db, form.email.data, address)
            start_session(user, remember=form.remember_me.data)
            return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
    return await render_template("auth/login.html", form=form)


@auth.route("/logout", methods=["POST"])
async def logout() -> ResponseReturnValue:
    _end_session()
    await flash(_("You have been logged out."), "info")
    return _home()


@auth.route("/logout-everywhere", methods=["POST"])
@login_required
async def logout_everywhere() -> ResponseReturnValue:
    user = await signed_in_user()
    async with write_transaction(get_session()):
        user.end_all_sessions()
    _end_session()
    await flash(_("You have been logged out of every browser and device."), "info")
    return _home()


@auth.route("/register", methods=["GET", "POST"])
async def register() -> ResponseReturnValue:
    if current_reader() is not None:
        return _home()
    form = await RegistrationForm.from_request()
    if await form.validate_on_submit():
        db = get_session()
        try:
            user = await create_account(
                db, form.email.data, form.username.data, form.password.data, current_locale()
            )
        except IntegrityError:
            # Someone took the address or name since the form was checked: say which.
            await form.validate_async()
            return await render_template("auth/register.html", form=form)
        if await _send_confirmation(user):
            await flash(_("A confirmation email has been sent to you by email."), "info")
        else:
            await flash(
                _(
                    "Your account has been created, but the confirmation email could not be "
                    "sent. Log in to ask for a new one."
                ),
                "warning",
            )
        return redirect(url_for("auth.login"))
    return await render_template("auth/register.html", form=form)


@auth.route("/confirm/<token>")
async def confirm(token: str) -> ResponseReturnValue:
    db = get_session()
    use = await use_token(db, CONFIRM, token)
    if use is None:
        await flash(_("The confirmation link is invalid or has expired."), "danger")
    elif not use.user.confirmed:
        async with write_transaction(db):
            use.user.confirmed = True
        await flash(_("You have confirmed your account. Thanks!"), "success")
    if current_reader() is None:
        return redirect(url_for("auth.login"))
    return _home()


@auth.route("/confirm", methods=["POST"])
@login_required
async def resend_confirmation() -> ResponseReturnValue:
    user = await signed_in_user()
    if user.confirmed:
        return _home()
    if await _send_confirmation(user):
        await flash(_("A new confirmation email has been sent to you by email."), "info")
    else:
        await flash(str(MAIL_FAILED), "warning")
    return redirect(url_for("auth.unconfirmed"))


@auth.route("/unconfirmed")
async def unconfirmed() -> ResponseReturnValue:
    user = current_reader()
    if user is None or user.confirmed:
        return _home()
    return await render_template("auth/unconfirmed.html")


@auth.route("/change-password", methods=["GET", "POST"])
@login_required
async def change_password() -> ResponseReturnValue:
    user = await signed_in_user()
    form = await ChangePasswordForm.from_request()
    if await form.validate_on_submit():
        if await verify_password(user.password_hash, form.old_password.data):
            await set_password(get_session(), user, form.password.data)
            # Every other session ended with the old generation; this browser stays.
            login_user(SessionUser.of(user), remember=bool(session.get(REMEMBER_KEY)))
            await flash(_("Your password has been updated."), "success")
            return _home()
        await flash(_("Invalid password."), "danger")
    return await render_template("auth/change_password.html", form=form)


@auth.route("/reset", methods=["GET", "POST"])
async def password_reset_request() -> ResponseReturnValue:
    if current_reader() is not None:
        return _home()
    form = await PasswordResetRequestForm.from_request()
    if await form.validate_on_submit():
        user = await get_session().scalar(select(User).where(User.email == form.email.data))
        if user is None:
            # The same answer, in about the same time, as for a real account.
            await wait_like_a_send()
        else:
            url = absolute_url("auth.password_reset", token=make_token(RESET_PASSWORD, user))
            # A failed send is logged; the answer stays the same, or it would tell
            # whoever asks that this address has an account while mail is down.
            await send_email(
                user.email, _l("Reset Your Password"), "reset_password", user=user, url=url
            )
        await flash(
            _("An email with instructions to reset your password has been sent to you."), "info"
        )
        return redirect(url_for("auth.login"))
    return await render_template("auth/reset_password.html", form=form)


@auth.route("/reset/<token>", methods=["GET", "POST"])
async def password_reset(token: str) -> ResponseReturnValue:
    if current_reader() is not None:
        return _home()
    db = get_session()
    use = await use_token(db, RESET_PASSWORD, token)
    if use is None:
        await flash(_("The password reset link is invalid or has expired."), "danger")
        return redirect(url_for("auth.password_reset_request"))
    form = await PasswordResetForm.from_request()
    if await form.validate_on_submit():
        await set_password(db, use.user, form.password.data)
        await flash(_("Your password has been updated."), "success")
        return redirect(url_for("auth.login"))
    return await render_template("auth/reset_password.html", form=form)


@auth.route("/change_email", methods=["GET", "POST"])
@login_required
async def change_email_request() -> ResponseReturnValue:
    user = await signed_in_user()
    form = await ChangeEmailForm.from_request()
    if await form.validate_on_submit():
        if await verify_password(user.password_hash, form.password.data):
            new_email = form.email.data
            token = make_token(CHANGE_EMAIL, user, new_email=new_email)
            url = absolute_url("auth.change_email", token=token)
            if await send_email(
                new_email, _l("Confirm your email address"), "change_email", user=user, url=url
            ):
                await flash(
                    _(
                        "An email with instructions to confirm your new email address has "
                        "been sent to you."
                    ),
                    "info",
                )
                return _home()
            await flash(str(MAIL_FAILED), "warning")
        else:
            await flash(_("Invalid email or password."), "danger")
    return await render_template("auth/change_email.html", form=form)


@auth.route("/change_email/<token>")
@login_required
async def change_email(token: str) -> ResponseReturnValue:
    user = await signed_in_user()
    db = get_session()
    use = await use_token(db, CHANGE_EMAIL, token)
    new_email = use.claims.get("new_email") if use is not None else None
    if use is None or use.user.id != user.id or not isinstance(new_email, str):
        await flash(_("Invalid request."), "danger")
    elif await email_taken(db, new_email):
        await flash(_("Email already registered."), "danger")
    else:
        try:
            async with write_transaction(db):
                user.set_email(new_email)
        except IntegrityError:
            # Taken by a registration since the check above.
            await flash(_("Email already registered."), "danger")
        else:
            await flash(_("Your email address has been updated."), "success")
    return _home()
