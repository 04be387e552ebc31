"""Account pages: download your data, delete your account (SPEC 8.5)."""

from __future__ import annotations

import math

from quart import Response, current_app, flash, redirect, request, session, url_for
from quart.typing import ResponseReturnValue
from quart_auth import login_required, logout_user

from .. import queries
from ..auth.accounts import holder_confirmed
from ..config import current_config
from ..db import get_session
from ..email import absolute_url, send_email
from ..i18n import gettext as _
from ..i18n import lazy_gettext as _l
from ..identity import signed_in_user
from ..models import User
from ..templating import render_template
from . import account
from .deletion import LastAdministrator, delete_account, is_last_administrator
from .export import export_document, profile_of
from .forms import DeleteAccountForm, DeleteAccountWithCodeForm

# How long one download of the export may take before the server ends it;
# Quart's default (60 s) would cut a large export off on a slow line.
EXPORT_TIMEOUT = 10 * 60


@account.route("/export")
@login_required
async def export() -> ResponseReturnValue:
    """`flasky-<username>.json`, streamed (see export.py for the paging and the format)."""
    user = await signed_in_user()
    engine = current_app.extensions["db_engine"]
    response = Response(
        export_document(engine, user.id, profile_of(user)), mimetype="application/json"
    )
    # Usernames are letters, digits, dots and underscores: safe inside the quotes.
    response.headers["Content-Disposition"] = f'attachment; filename="flasky-{user.username}.json"'
    response.headers["Cache-Control"] = "no-store"
    response.timeout = EXPORT_TIMEOUT
    return response


async def _delete_page(
    user: User, form: DeleteAccountForm, *, last_administrator: bool = False, **context: str
) -> str:
    profile = await queries.profile(get_session(), user.username, None)
    return await render_template(
        "account/delete.html",
        form=form,
        profile=profile,
        last_administrator=last_administrator,
        **context,
    )


@account.route("/delete", methods=["GET", "POST"])
@login_required
async def delete() -> ResponseReturnValue:
    """What deleting the account takes with it, and the form that does it."""
    user = await signed_in_user()
    db = get_session()
    form_class = DeleteAccountWithCodeForm if user.two_factor_enabled else DeleteAccountForm
    form = await form_class.from_request()
    refused = 400 if request.method == "POST" else 200
    if await is_last_administrator(db, user):
        return await _delete_page(user, form, last_administrator=True), refused
    if not await form.validate_on_submit():
        return await _delete_page(user, form)
    code = form.code.data if isinstance(form, DeleteAccountWithCodeForm) else ""
    confirmed = await holder_confirmed(db, user, form.password.data, code, request.remote_addr)
    if confirmed is None:
        window = current_config().login_window
        lockout = _(
            "Too many failed attempts. Please wait %(minutes)d minutes and try again.",
            minutes=math.ceil(window / 60),
        )
        page = await _delete_page(user, form, lockout=lockout)
        return page, 429, {"Retry-After": str(window)}
    if not confirmed:
        if user.two_factor_enabled:
            form.password.errors = [_("Invalid password or code.")]
        else:
            form.password.errors = [_("Invalid password.")]
        return await _delete_page(user, form)
    try:
        await delete_account(db, user)
    except LastAdministrator:
        return await _delete_page(user, form, last_administrator=True), 400
    # After the commit, so the mail never announces a deletion that was rolled
    # back; a failed send is logged by send_email and changes nothing here.
    await send_email(
        user.email,
        _l("Your account has been deleted"),
        "account_deleted",
        user=user,
        url=absolute_url("auth.register"),
    )
    logout_user()
    session.clear()
    await flash(_("Your account has been deleted."), "info")
    return redirect(url_for("main.index"))
