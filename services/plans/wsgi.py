"""Gunicorn entry point: `gunicorn services.plans.wsgi:app`."""

from services.plans.app import create_app
from shared.config import from_env_or_exit
from shared.logs import configure_logging

_config = from_env_or_exit("plans")
configure_logging("plans", "web", _config.log_level)
app = create_app(_config)
