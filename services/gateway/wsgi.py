"""Gunicorn entry point: `gunicorn services.gateway.wsgi:app`."""

from services.gateway.app import create_app
from shared.config import from_env_or_exit
from shared.logs import configure_logging

_config = from_env_or_exit("gateway")
configure_logging("gateway", "web", _config.log_level)
app = create_app(_config)
