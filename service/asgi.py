"""The uvicorn entry point: `service.asgi:app` is a factory, so settings are read when the server starts."""

from litestar import Litestar

from service.app import create_app
from service.settings import Settings


def app() -> Litestar:
    return create_app(Settings.from_env())
