"""Gunicorn entry point: `gunicorn services.goals.wsgi:app`."""

from services.goals.app import create_app
from shared.config import from_env_or_exit
from shared.logs import configure_logging

_config = from_env_or_exit("goals")
configure_logging("goals", "web", _config.log_level)
app = create_app(_config)
