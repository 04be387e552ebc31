"""Security headers on every response."""

from __future__ import annotations

from quart import Quart, Response


def content_security_policy(gravatar: bool) -> str:
    # Scripts and styles come only from our own static files: no inline
    # script can run even if one slipped through the Markdown sanitizer.
    images = "'self' data:" + (" https://secure.gravatar.com" if gravatar else "")
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {images}",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def init_app(app: Quart, *, gravatar: bool) -> None:
    headers = {
        "Content-Security-Policy": content_security_policy(gravatar),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
    }

    wanted = [(name.lower(), name, value) for name, value in headers.items()]

    @app.after_request
    async def _set_security_headers(response: Response) -> Response:
        # Those a view set stay. One pass over the response's headers:
        # werkzeug's `setdefault` raises and catches a KeyError (an HTTP
        # exception, BadRequestKeyError) for each header it adds, which was
        # 2-5% of a page's instructions.
        present = {name.lower() for name, _value in response.headers}
        for key, name, value in wanted:
            if key not in present:
                response.headers.add(name, value)
        return response
