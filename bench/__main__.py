"""`python -m bench [name] [options]`: run one benchmark, or all of them."""

import sys

from bench import (
    access,
    annual,
    foundation,
    gateway,
    gateway_feed,
    goals,
    kolada,
    plans,
    rebuild,
    reports,
    rules,
    warehouse,
    web,
    wheel,
)

BENCHMARKS = {
    "foundation": foundation.main,
    "goals": goals.main,
    "plans": plans.main,
    "access": access.main,
    "rules": rules.main,
    "rebuild": rebuild.main,
    "reports": reports.main,
    "kolada": kolada.main,
    "wheel": wheel.main,
    "annual": annual.main,
    "gateway": gateway.main,
    "gateway_feed": gateway_feed.main,
    "warehouse": warehouse.main,
    "web": web.main,
}

if __name__ == "__main__":
    names = sys.argv[1:2] or list(BENCHMARKS)
    if names[0] not in BENCHMARKS:
        sys.exit(f"unknown benchmark {names[0]!r}; one of {', '.join(BENCHMARKS)}")
    for name in names:
        print(f"== {name}")
        BENCHMARKS[name](sys.argv[2:])
