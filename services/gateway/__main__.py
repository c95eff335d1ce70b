"""`python -m services.gateway <command>`: migrate, relay, rebuild, verify, ..., and `keys`."""

import sys

from services.gateway.app import DEFINITION
from services.gateway.cli import COMMANDS
from shared.cli import main

sys.exit(main(DEFINITION, commands=COMMANDS))
