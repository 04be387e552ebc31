"""Account pages: register, confirm, log in and out, passwords, e-mail changes."""

from quart import abort, render_template

from . import auth


@auth.route("/login")
async def login() -> str:
    return await render_template("auth/login.html")


# Placeholders so the navbar can link to them; replaced by the real pages.
@auth.route("/logout", methods=["POST"])
async def logout() -> str:
    abort(501)


@auth.route("/logout-everywhere", methods=["POST"])
async def logout_everywhere() -> str:
    abort(501)


@auth.route("/change-password")
async def change_password() -> str:
    abort(501)


@auth.route("/change_email")
async def change_email_request() -> str:
    abort(501)
