"""Sending mail: rendered from templates/email/ in the recipient's language, sent over SMTP.

`send_email()` is awaited inline, with a time limit, so the request that
triggers a mail knows whether it left; a failure is logged and reported to the
caller, never raised, so a broken mail server cannot turn a registration into
a 500 or lose what the request already saved.

A mail speaks its recipient's language (their saved `users.locale`), not the
language of the page that happened to trigger it: the subject is given marked
with `lazy_gettext`, and it and both parts are rendered inside
`i18n.force_locale`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import aiosmtplib
from babel.support import LazyProxy
from quart import url_for

from .config import Config, current_config
from .i18n import force_locale
from .templating import render_template

log = logging.getLogger("flasky.email")

# How long a request waits for the SMTP server before telling the user to retry.
SEND_TIMEOUT = 10.0

# A moving estimate of how long a real send takes, so that a request which
# deliberately sends nothing (a password reset for an unknown address) can
# take as long as one that does.
_typical_send_seconds = 0.05


async def send_email(
    to: str, subject: str | LazyProxy, template: str, *, locale: str | None = None, **context: Any
) -> bool:
    """Render templates/email/<template>.txt and .html and send them to `to`.

    The language is `locale`, else the saved language of the `user` in
    `context`, else the page's. `subject` is translated into it when it is a
    `lazy_gettext` string. Returns whether the message was handed to the SMTP
    server (or, without `MAIL_SERVER`, written to the log).
    """
    config = current_config()
    message = EmailMessage()
    message["From"] = config.mail_sender
    message["To"] = to
    message["Message-ID"] = make_msgid(domain=_sender_domain(config))
    with force_locale(locale or getattr(context.get("user"), "locale", None)):
        subject = str(subject)
        message["Subject"] = f"{config.mail_subject_prefix} {subject}".strip()
        message.set_content(await render_template(f"email/{template}.txt", **context))
        message.add_alternative(
            await render_template(f"email/{template}.html", **context), subtype="html"
        )
    if config.mail_server is None:
        return _log_instead_of_sending(config, message)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(SEND_TIMEOUT):
            await aiosmtplib.send(
                message,
                hostname=config.mail_server,
                port=config.mail_port,
                username=config.mail_username,
                password=config.mail_password,
                use_tls=config.mail_use_ssl,
                start_tls=config.mail_use_tls,
                timeout=SEND_TIMEOUT,
            )
    except (aiosmtplib.SMTPException, OSError, TimeoutError, ValueError) as error:
        # ValueError is aiosmtplib's answer to contradictory settings (TLS and SSL both on).
        log.error("Could not send %r to %s: %s", subject, to, error)
        return False
    _remember_send_time(time.perf_counter() - started)
    return True


async def wait_like_a_send() -> None:
    """Take about as long as `send_email` does, without sending anything."""
    await asyncio.sleep(_typical_send_seconds)


def _remember_send_time(seconds: float) -> None:
    global _typical_send_seconds
    _typical_send_seconds = 0.8 * _typical_send_seconds + 0.2 * min(seconds, SEND_TIMEOUT)


def _log_instead_of_sending(config: Config, message: EmailMessage) -> bool:
    if config.name == "production":
        # Mails carry login links: they never go to a production log.
        log.warning(
            "MAIL_SERVER is not set: %r to %s was not sent", message["Subject"], message["To"]
        )
        return False
    text = message.get_body(preferencelist=("plain",))
    body = text.get_content() if text is not None else ""
    log.info(
        "MAIL_SERVER is not set; this mail was not sent:\nTo: %s\nSubject: %s\n\n%s",
        message["To"],
        message["Subject"],
        body,
    )
    return True


def _sender_domain(config: Config) -> str:
    address = config.mail_sender.rsplit("<", 1)[-1].rstrip(">")
    return address.rpartition("@")[2] or "localhost"


def absolute_url(endpoint: str, **values: Any) -> str:
    """An absolute link for a mail.

    With `FLASKY_BASE_URL` set, the link is built on it and the request's Host
    header is ignored: a forged Host must not turn a reset mail into a link to
    the attacker's site. Without it (development), the request's host is used.
    """
    base_url = current_config().base_url
    if base_url:
        return base_url + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)
