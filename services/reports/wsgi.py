"""Gunicorn entry point: `gunicorn services.reports.wsgi:app`."""

from services.reports.app import create_app
from shared.config import from_env_or_exit
from shared.logs import configure_logging

_config = from_env_or_exit("reports")
configure_logging("reports", "web", _config.log_level)
app = create_app(_config)
