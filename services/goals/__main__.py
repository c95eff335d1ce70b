"""`python -m services.goals <command>`: migrate, relay, rebuild, republish, verify, seed."""

import sys

from services.goals.app import DEFINITION
from shared.cli import main

sys.exit(main(DEFINITION))
