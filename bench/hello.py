"""The framework ceiling: the smallest Quart app, served by hypercorn exactly as Flasky is.

Whatever Flasky's pages cost beyond this is ours: templates, queries, sessions.
"""

from quart import Quart

app = Quart(__name__)


@app.route("/")
async def hello() -> str:
    return "Hello, World!"


@app.route("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
