"""`python -m services.reports <command>`: migrate, relay, consumer, rebuild, verify, seed."""

import sys

from services.reports.app import DEFINITION
from shared.cli import main

sys.exit(main(DEFINITION))
