"""Account pages: register, confirm, log in and out, passwords, e-mail changes."""

from quart import render_template

from . import auth


@auth.route("/login")
async def login() -> str:
    return await render_template("auth/login.html")
