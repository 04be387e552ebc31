"""The ASGI entry point: `hypercorn service.asgi:app`."""

from . import create_app

app = create_app()
