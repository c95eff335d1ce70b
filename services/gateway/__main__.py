"""`python -m services.gateway <command>`: migrate, relay, rebuild, verify, ..., `keys`, and
`admin` (verify, lag, rebuild, republish across the services through the gateway's HTTP API
with a key: services/gateway/admin_cli.py; it needs no DATABASE_URL)."""

import sys

from services.gateway import admin_cli
from services.gateway.app import DEFINITION
from services.gateway.cli import COMMANDS
from shared.cli import main

if sys.argv[1:2] == ["admin"]:
    sys.exit(admin_cli.main(sys.argv[2:]))
sys.exit(main(DEFINITION, commands=COMMANDS))
