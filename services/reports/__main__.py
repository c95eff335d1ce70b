"""`python -m services.reports <command>`: migrate, relay, consumer, rebuild, verify, seed, and
import-kolada (services/reports/kolada_cli.py)."""

import sys

from services.reports.app import DEFINITION
from services.reports.kolada_cli import COMMANDS
from shared.cli import main

sys.exit(main(DEFINITION, commands=COMMANDS))
