"""The framework ceiling: the smallest Quart app, served by hypercorn exactly as Flasky is.

Whatever Flasky's pages cost beyond this is ours: templates, queries, sessions.
Its workers share new connections as Flasky's do (service.accepting): without
that, wrk's connections could all land on one of its workers, and the ceiling
measured one core against Flasky's two.
"""

from quart import Quart

from service import accepting

app = Quart(__name__)
accepting.init_app(app)


@app.route("/")
async def hello() -> str:
    return "Hello, World!"


@app.route("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
