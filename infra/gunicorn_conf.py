"""Gunicorn settings of every styrkort web app, read from the environment.

Used as `gunicorn -c infra/gunicorn_conf.py services.<name>.wsgi:app`. The address comes from
`--bind` (the dev stack) or from `PORT` (the container image, all interfaces).
"""

import os

if os.environ.get("PORT"):
    bind = [f"0.0.0.0:{os.environ['PORT']}"]

# Threaded workers: requests mostly wait on PostgreSQL, so threads are cheap concurrency.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"

timeout = 30
graceful_timeout = 10  # the dev stack and `docker stop` wait about this long before SIGKILL
keepalive = 5

# The longest request line gunicorn reads (its maximum): a longer path or query than the app
# takes (shared/http.py MAX_URL_LENGTH) then gets the app's 414 Problem+JSON, not gunicorn's 400.
limit_request_line = 8190

accesslog = "-"  # stdout: the dev stack prefixes it, containers ship it
# No client address, query string, referrer or user agent: they can be personal data, and the
# gateway's audit log (services/gateway/observe.py) says who called what, by key id.
access_log_format = '%(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss'
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# Gunicorn 25+ opens a control socket at $HOME/.gunicorn/gunicorn.ctl: one path for every app on
# the host (the dev stack runs four) and a write into a home a container may not have. Not used.
control_socket_disable = True
