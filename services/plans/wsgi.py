"""Gunicorn entry point: `gunicorn services.plans.wsgi:app`."""

from services.plans.app import create_app
from shared.config import Config
from shared.logs import configure_logging

_config = Config.from_env("plans")
configure_logging("plans", "web", _config.log_level)
app = create_app(_config)
