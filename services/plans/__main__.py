"""`python -m services.plans <command>`: migrate, relay, consumer, rebuild, republish, verify."""

import sys

from services.plans.app import DEFINITION
from shared.cli import main

sys.exit(main(DEFINITION))
