"""`python -m services.gateway <command>`: migrate, relay, rebuild, verify, ..., `keys`, and
`admin` (verify, lag, rebuild, republish across the services through the gateway's HTTP API
with a key: services/gateway/admin_cli.py; it needs no DATABASE_URL), and `new-bootstrap-key`
(prints a fresh key for STYRKORT_ADMIN_BOOTSTRAP_KEY; it needs no setting at all)."""

import sys

from services.gateway import admin_cli
from services.gateway.app import DEFINITION
from services.gateway.cli import COMMANDS
from services.gateway.domain import keys
from shared.cli import main

if sys.argv[1:2] == ["admin"]:
    sys.exit(admin_cli.main(sys.argv[2:]))
if sys.argv[1:] == ["new-bootstrap-key"]:
    print(keys.format_key(keys.new_key_id(), keys.new_secret()))
    sys.exit(0)
sys.exit(main(DEFINITION, commands=COMMANDS))
