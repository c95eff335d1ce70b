"""Gunicorn entry point: `gunicorn services.gateway.wsgi:app`."""

from services.gateway.app import create_app
from shared.config import Config
from shared.logs import configure_logging

_config = Config.from_env("gateway")
configure_logging("gateway", "web", _config.log_level)
app = create_app(_config)
