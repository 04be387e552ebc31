"""API tokens: trade a password for a token once, then use the cheap token.

A token is `secrets.token_urlsafe(32)`, shown to the client once; the database
keeps only its SHA-256 and expiry. A token cannot mint another token, so a
stolen one dies within the hour and cannot extend itself; revoking it (or
changing the password, which deletes all of them) ends it at once.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from quart import Response, abort
from sqlalchemy import delete

from ..db import get_session, write_transaction
from ..models import ApiToken, hash_token, utcnow
from . import api
from .authentication import OTP_HEADER, current_caller, invalid_credentials
from .operations import operation
from .representations import JSON, Schema, no_content, string

TOKEN_LIFETIME = 3600  # seconds


@api.route("/tokens/", methods=["POST"])
@operation(
    "Trade e-mail and password (and, with two-factor on, a code) for a token "
    "(a token cannot mint one)",
    headers=(OTP_HEADER,),
    returns=Schema(
        "Token",
        "A new token",
        {
            "type": "object",
            "required": ["token", "expiration"],
            "properties": {
                "token": string("Use as the Basic-auth user name, with an empty password"),
                "expiration": {
                    "type": "integer",
                    "const": TOKEN_LIFETIME,
                    "description": "Seconds",
                },
            },
            "additionalProperties": False,
        },
    ),
)
async def get_token() -> tuple[JSON, int, dict[str, str]]:
    caller = current_caller()
    if caller.token_id is not None:
        invalid_credentials()
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session = get_session()
    async with write_transaction(session):
        # Expired rows are useless; pruning them here keeps the table small without a cron job.
        await session.execute(delete(ApiToken).where(ApiToken.expires_at <= now))
        session.add(
            ApiToken(
                token_hash=hash_token(token),
                user_id=caller.user.id,
                expires_at=now + timedelta(seconds=TOKEN_LIFETIME),
            )
        )
    return {"token": token, "expiration": TOKEN_LIFETIME}, 200, {"Cache-Control": "no-store"}


@api.route("/tokens/", methods=["DELETE"])
@operation("Revoke the token this request authenticates with", status=204)
async def revoke_token() -> Response:
    """Revoke the token this request authenticated with."""
    token_id = current_caller().token_id
    if token_id is None:
        abort(
            400,
            "Only a token can be revoked: authenticate with the token as the user name "
            "and an empty password",
        )
    session = get_session()
    async with write_transaction(session):
        await session.execute(delete(ApiToken).where(ApiToken.id == token_id))
    return no_content()
