"""Configuration of a service process, read from the environment only (no secrets in files)."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

SERVICES = ("goals", "plans", "reports", "gateway")
DEFAULT_PORTS = {"gateway": 8080, "goals": 8081, "plans": 8082, "reports": 8083}


DEFAULT_KOLADA_BASE_URL = "https://api.kolada.se"
DEFAULT_KOLADA_MUNICIPALITY = "1471"  # Götene
DEFAULT_KOLADA_COMPARISONS: tuple[tuple[str, str], ...] = (
    ("1494", "Lidköping"),
    ("1495", "Skara"),
    ("1493", "Mariestad"),
    ("1470", "Vara"),
)
_MUNICIPALITY_CODE = re.compile(r"[0-9]{4}", re.ASCII)


class ConfigError(RuntimeError):
    """A required setting is missing or malformed."""


@dataclass(frozen=True)
class Config:
    """What one service process needs to run.

    Environment variables (all services):
      DATABASE_URL               the service's own PostgreSQL database (required)
      KAFKA_BOOTSTRAP_SERVERS    host:port[,host:port] of the Kafka-compatible cluster
      KAFKA_TOPIC_PREFIX         prepended to every topic name (default empty)
      KAFKA_TOPIC_PARTITIONS     partitions of a topic the relay creates (default 6)
      STYRKORT_INTERNAL_SECRET   HMAC secret of gateway and services (required for web)
      KAFKA_MAX_POLL_INTERVAL_MS consumer rebalance timeout (default 10000)
      RELAY_BATCH_SIZE           events per produce-and-checkpoint round (default 2000)
      STYRKORT_MAX_REQUEST_BYTES largest request body a web app reads (default 1048576); 413
      KAFKA_MAX_MESSAGE_BYTES    largest CloudEvent the store accepts (default 1000000): below
                                 the broker's message.max.bytes and the producer's request size
      STYRKORT_MAX_SIGNATURE_AGE seconds a signed identity may be off the service's clock
                                 (default 60; docs/adr/0011)
      CONSUMER_MAX_ATTEMPTS      tries of a failing event before it is rejected (default 3)
      IDEMPOTENCY_KEY_HOURS      how long an Idempotency-Key's answer is kept (default 24)
      LOG_LEVEL                  DEBUG, INFO (default), WARNING, ...
      STYRKORT_YEAR_MIN/_MAX     the plausible calendar years (default 1990 and 2100)

    Reports only (the Kolada import, services/reports/kolada_import.py):
      KOLADA_BASE_URL            Kolada API v3's base URL (default https://api.kolada.se; a
                                 trailing /v3 is dropped: the client adds it); never a request's
      KOLADA_MUNICIPALITY        the municipality's Kolada code (default 1471, Götene)
      KOLADA_COMPARISONS         comparison municipalities as code:name pairs, comma-separated
                                 (default 1494:Lidköping,1495:Skara,1493:Mariestad,1470:Vara)
      KOLADA_REQUESTS_PER_SECOND the import's self-throttle (default 5; 0 turns it off)
    """

    service: str
    database_url: str
    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    topic_prefix: str = ""
    topic_partitions: int = 6
    internal_secret: str = ""
    log_level: str = "INFO"
    # How far the time of a signed identity may be from the service's clock, either way, before
    # the service refuses the request; signatures are remembered this long (docs/adr/0011).
    max_signature_age_seconds: int = 60
    # Tansu forms a consumer group only after this long (DESIGN.md §8): seconds, not minutes.
    kafka_max_poll_interval_ms: int = 10_000
    relay_batch_size: int = 2000
    # Request bodies over this many bytes are refused with 413 before they are parsed.
    max_request_bytes: int = 1_048_576
    # An event whose envelope would be larger is refused at append (shared/store.py, 413):
    # the broker would refuse it, and it would stop the relay.
    kafka_max_message_bytes: int = 1_000_000
    # How often the consumer tries an event that fails for a reason other than its shape
    # before it records the event as rejected and moves on (shared/consumer.py).
    consumer_max_attempts: int = 3
    # An Idempotency-Key's answer is replayed for this many hours, then the key runs anew
    # (shared/http.py); a fraction is allowed (tests use a second).
    idempotency_key_hours: float = 24.0
    # Years outside this range are refused as implausible (shared/values.py).
    year_min: int = 1990
    year_max: int = 2100
    # The Kolada import (reports): where from, for whom, compared with whom, how gently.
    kolada_base_url: str = DEFAULT_KOLADA_BASE_URL
    kolada_municipality: str = DEFAULT_KOLADA_MUNICIPALITY
    kolada_comparisons: tuple[tuple[str, str], ...] = DEFAULT_KOLADA_COMPARISONS
    kolada_requests_per_second: float = 5.0
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def source(self) -> str:
        """The CloudEvents `source` of this service's events."""
        return f"/styrkort/{self.service}"

    def topic(self, service: str | None = None) -> str:
        """The topic of a service's events: `goals.events`, with the configured prefix."""
        return f"{self.topic_prefix}{service or self.service}.events"

    @classmethod
    def from_env(cls, service: str, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        if service not in SERVICES:
            raise ConfigError(f"unknown service {service!r}; expected one of {', '.join(SERVICES)}")
        database_url = env.get("DATABASE_URL", "")
        if not database_url:
            raise ConfigError("DATABASE_URL is not set: the service's own PostgreSQL database")
        partitions = _positive_int(env, "KAFKA_TOPIC_PARTITIONS", 6)
        poll_interval = _positive_int(env, "KAFKA_MAX_POLL_INTERVAL_MS", 10_000)
        return cls(
            service=service,
            database_url=database_url,
            kafka_bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"),
            topic_prefix=env.get("KAFKA_TOPIC_PREFIX", ""),
            topic_partitions=partitions,
            kafka_max_poll_interval_ms=poll_interval,
            relay_batch_size=_positive_int(env, "RELAY_BATCH_SIZE", 2000),
            max_request_bytes=_positive_int(env, "STYRKORT_MAX_REQUEST_BYTES", 1_048_576),
            kafka_max_message_bytes=_positive_int(env, "KAFKA_MAX_MESSAGE_BYTES", 1_000_000),
            consumer_max_attempts=_positive_int(env, "CONSUMER_MAX_ATTEMPTS", 3),
            idempotency_key_hours=_positive_number(env, "IDEMPOTENCY_KEY_HOURS", 24.0),
            internal_secret=env.get("STYRKORT_INTERNAL_SECRET", ""),
            max_signature_age_seconds=_positive_int(env, "STYRKORT_MAX_SIGNATURE_AGE", 60),
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            year_min=_positive_int(env, "STYRKORT_YEAR_MIN", 1990),
            year_max=_positive_int(env, "STYRKORT_YEAR_MAX", 2100),
            kolada_base_url=kolada_base_url(env.get("KOLADA_BASE_URL", DEFAULT_KOLADA_BASE_URL)),
            kolada_municipality=_municipality_code(
                env.get("KOLADA_MUNICIPALITY", DEFAULT_KOLADA_MUNICIPALITY), "KOLADA_MUNICIPALITY"
            ),
            kolada_comparisons=kolada_comparisons(env.get("KOLADA_COMPARISONS")),
            kolada_requests_per_second=_rate(env, "KOLADA_REQUESTS_PER_SECOND", 5.0),
        )


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, str(default))
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name} must be a positive integer, not {raw!r}")
    return int(raw)


def _positive_number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise ConfigError(f"{name} must be a positive number, not {raw!r}")
    return value


def kolada_base_url(raw: str) -> str:
    """An http(s) base URL without a trailing slash or /v3 (the client's paths begin /v3/)."""
    url = raw.strip().rstrip("/")
    if url.endswith("/v3"):
        url = url[: -len("/v3")]
    if not re.fullmatch(r"https?://[^\s/?#@]+(/[^\s?#]*)?", url, re.ASCII):
        raise ConfigError(f"KOLADA_BASE_URL must be an http(s) URL, not {raw!r}")
    return url


def _municipality_code(raw: str, name: str) -> str:
    code = raw.strip()
    if not _MUNICIPALITY_CODE.fullmatch(code):
        raise ConfigError(f"{name} must be a municipality code of four digits, not {raw!r}")
    return code


def kolada_comparisons(raw: str | None) -> tuple[tuple[str, str], ...]:
    """`code:name,code:name` (e.g. 1494:Lidköping) -> ((code, name), ...); empty: none."""
    if raw is None:
        return DEFAULT_KOLADA_COMPARISONS
    pairs: dict[str, str] = {}
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        code, _, name = item.partition(":")
        code = _municipality_code(code, "KOLADA_COMPARISONS")
        if not name.strip():
            raise ConfigError(f"KOLADA_COMPARISONS: {item!r} has no name (code:name)")
        pairs[code] = name.strip()
    return tuple(pairs.items())


def _rate(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not (value >= 0 and math.isfinite(value)):
        raise ConfigError(f"{name} must be 0 (off) or a positive number, not {raw!r}")
    return value
