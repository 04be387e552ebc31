"""One error-response builder for every error, HTML for browsers and JSON for API clients."""

from __future__ import annotations

import logging

from quart import Quart, Response, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import HTTP_STATUS_CODES

from .templating import render_template

log = logging.getLogger("flasky.errors")

# Codes with a page of their own in templates/errors/; others use the generic page.
PAGES = {400, 401, 403, 404, 405, 413, 429, 500}


def wants_json() -> bool:
    """API paths always get JSON; elsewhere a client that prefers JSON to HTML does."""
    if request.path.startswith("/api/"):
        return True
    accept = request.accept_mimetypes
    return accept.best_match(["application/json", "text/html"]) == "application/json" and (
        accept["application/json"] > accept["text/html"]
    )


async def error_response(code: int, message: str | None = None) -> Response:
    """Build the response for error `code`, in the format the client asked for."""
    name = HTTP_STATUS_CODES.get(code, "Error")
    if wants_json():
        body: dict[str, str] = {"error": name.lower()}
        if message:
            body["message"] = message
        response = jsonify(body)
    else:
        template = f"errors/{code}.html" if code in PAGES else "errors/error.html"
        response = Response(await render_template(template, code=code, name=name, message=message))
    response.status_code = code
    return response


def register_error_handlers(app: Quart) -> None:
    @app.errorhandler(HTTPException)
    async def _http_error(error: HTTPException) -> Response:
        code = error.code or 500
        message = error.description if _has_own_description(error) else None
        response = await error_response(code, message)
        for header, value in error.get_headers():
            if header.lower() not in {"content-type", "content-length"}:
                response.headers[header] = value
        return response

    @app.errorhandler(Exception)
    async def _unexpected_error(error: Exception) -> Response:
        log.exception("Unhandled error on %s %s", request.method, request.path, exc_info=error)
        return await error_response(500)


def _has_own_description(error: HTTPException) -> bool:
    """A description set by our code (abort(400, "...")) rather than werkzeug's default."""
    return error.description != type(error).description and not isinstance(
        error, InternalServerError
    )
