"""itsdangerous's URL-safe signing without the zlib attempt, for what is signed on every request.

`URLSafeTimedSerializer.dumps` zlib-compresses every payload and keeps the
result only when it is shorter. A page signs up to two: its CSRF token (a
random hex secret) and, for a visitor without a session yet, the session
cookie holding that secret. The attempt cost ~60 µs a call here (zlib sets
up its window each time), a tenth of a bare request, to save about 25
bytes of a hex secret. Without it a token is 88 characters instead of ~60;
`loads` is unchanged, so a compressed value signed earlier still reads.

Its signer is made once per salt and derives each key once (`KeyedSigner`):
itsdangerous makes a signer for every `dumps` and `loads`, and the signer
derives its key (an HMAC of the salt) for every signature; a signed-in page
checks two signatures (the session and the login cookie) and an anonymous
visitor's first page makes two.
"""

from __future__ import annotations

import functools
from typing import Any

from itsdangerous import Signer, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.url_safe import URLSafeSerializerMixin
from quart import Quart
from quart.sessions import SecureCookieSessionInterface


class KeyedSigner(TimestampSigner):
    """itsdangerous's timestamp signer, deriving each of its keys once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._derived: dict[Any, bytes] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        derived = self._derived.get(secret_key)
        if derived is None:
            derived = self._derived[secret_key] = super().derive_key(secret_key)
        return derived


class UncompressedSerializer(URLSafeTimedSerializer):
    """A `URLSafeTimedSerializer` whose `dumps` base64-encodes the JSON as it is.

    Its signers are `KeyedSigner`s, one per salt.
    """

    default_signer = KeyedSigner

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._signers: dict[Any, Signer] = {}

    def dump_payload(self, obj: Any) -> bytes:
        # The JSON of the serializer beneath the URL-safe mixin, which is the one compressing.
        return base64_encode(super(URLSafeSerializerMixin, self).dump_payload(obj))

    def make_signer(self, salt: str | bytes | None = None) -> Signer:
        signer = self._signers.get(salt)
        if signer is None:
            signer = self._signers[salt] = super().make_signer(salt)
        return signer


# A serializer holds only its settings, so one serves every request: making
# one tries its JSON serializer on `{}` (to learn whether it gives text), and
# a page made up to three (the session read and written, the CSRF token).
@functools.lru_cache(maxsize=16)
def serializer(
    keys: tuple[Any, ...],
    salt: str,
    payload_serializer: Any = None,
    key_derivation: str | None = None,
    digest_method: Any = None,
) -> UncompressedSerializer:
    """The `UncompressedSerializer` of these settings (made once)."""
    signer_kwargs = {"key_derivation": key_derivation, "digest_method": digest_method}
    return UncompressedSerializer(
        keys,
        salt=salt,
        serializer=payload_serializer,
        signer_kwargs={name: value for name, value in signer_kwargs.items() if value is not None},
    )


class SessionInterface(SecureCookieSessionInterface):
    """Quart's signed-cookie session, signed by `UncompressedSerializer` (same keys and salt)."""

    def get_signing_serializer(self, app: Quart) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        # itsdangerous takes the current key last, after the fallbacks.
        keys = (*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key)
        return serializer(keys, self.salt, self.serializer, self.key_derivation, self.digest_method)


def init_app(app: Quart) -> None:
    app.session_interface = SessionInterface()
