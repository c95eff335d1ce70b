"""Configuration of a service process, read from the environment only (no secrets in files)."""

from __future__ import annotations

import math
import os
import re
import sys
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


ENVIRONMENTS = ("development", "production")
#: the fewest different characters a production internal secret may have: a random hex secret
#: of 32 characters has 8 or more with overwhelming odds; 32 blanks or one repeated letter do not
MIN_SECRET_VARIETY = 8
#: the shortest internal secret production accepts: 32 characters (e.g. 24 random bytes in
#: base64); a short one is a password someone typed, not a key
MIN_SECRET_LENGTH = 32
KAFKA_SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
KAFKA_SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
#: an API key as the gateway gives them out (services/gateway/domain/keys.py): sk_<id>_<secret>
_API_KEY = re.compile(r"sk_[0-9a-f]{20}_[A-Za-z0-9_-]{43}", re.ASCII)


@dataclass(frozen=True)
class KafkaSecurity:
    """How the Kafka clients authenticate and encrypt: passed to every client (shared/kafka.py)."""

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> KafkaSecurity:
        """Validated: an unknown protocol or mechanism, or SASL without its user, names the
        setting (a client would otherwise fail later, far from the cause)."""
        protocol = (env.get("KAFKA_SECURITY_PROTOCOL") or "PLAINTEXT").strip().upper()
        if protocol not in KAFKA_SECURITY_PROTOCOLS:
            raise ConfigError(
                f"KAFKA_SECURITY_PROTOCOL must be one of {', '.join(KAFKA_SECURITY_PROTOCOLS)}, "
                f"not {protocol!r}"
            )
        mechanism = (env.get("KAFKA_SASL_MECHANISM") or "").strip().upper() or None
        username = env.get("KAFKA_SASL_USERNAME") or None
        password = env.get("KAFKA_SASL_PASSWORD") or None
        if protocol.startswith("SASL_"):
            mechanism = mechanism or "PLAIN"
            if mechanism not in KAFKA_SASL_MECHANISMS:
                raise ConfigError(
                    f"KAFKA_SASL_MECHANISM must be one of {', '.join(KAFKA_SASL_MECHANISMS)}, "
                    f"not {mechanism!r}"
                )
            if not username:
                raise ConfigError(f"KAFKA_SASL_USERNAME is not set: {protocol} needs it")
            if not password:
                raise ConfigError(f"KAFKA_SASL_PASSWORD is not set: {protocol} needs it")
        elif mechanism or username or password:
            raise ConfigError(
                "KAFKA_SASL_MECHANISM/_USERNAME/_PASSWORD are set, but KAFKA_SECURITY_PROTOCOL "
                f"is {protocol}: set it to SASL_SSL or SASL_PLAINTEXT"
            )
        files = {
            "KAFKA_SSL_CAFILE": env.get("KAFKA_SSL_CAFILE") or None,
            "KAFKA_SSL_CERTFILE": env.get("KAFKA_SSL_CERTFILE") or None,
            "KAFKA_SSL_KEYFILE": env.get("KAFKA_SSL_KEYFILE") or None,
        }
        if not protocol.endswith("SSL") and any(files.values()):
            names = "/".join(name for name, value in files.items() if value)
            raise ConfigError(
                f"{names} set, but KAFKA_SECURITY_PROTOCOL is {protocol}: set it to SSL or SASL_SSL"
            )
        return cls(
            protocol=protocol,
            sasl_mechanism=mechanism,
            sasl_username=username,
            sasl_password=password,
            ssl_cafile=files["KAFKA_SSL_CAFILE"],
            ssl_certfile=files["KAFKA_SSL_CERTFILE"],
            ssl_keyfile=files["KAFKA_SSL_KEYFILE"],
        )


@dataclass(frozen=True)
class Config:
    """What one service process needs to run.

    Environment variables (all services):
      DATABASE_URL               the service's own PostgreSQL database (required)
      KAFKA_BOOTSTRAP_SERVERS    host:port[,host:port] of the Kafka-compatible cluster
      KAFKA_TOPIC_PREFIX         prepended to every topic name (default empty)
      KAFKA_TOPIC_PARTITIONS     partitions of a topic the relay creates (default 6)
      KAFKA_TOPIC_REPLICATION_FACTOR  copies of each of its partitions (default 1)
      KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_*: how the clients reach the cluster
      STYRKORT_ENV               development (default) or production (docs/adr/0021)
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
    # Copies of each partition of a topic the relay creates: 1 on one broker (dev, compose's
    # own Kafka); 3 on a production cluster, or an event lives on one disk only.
    topic_replication_factor: int = 1
    internal_secret: str = field(default="", repr=False)
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
    #: `development` (the default: `make run`, tests) or `production` (compose), which refuses
    #: to start without a strong internal secret and, for the gateway, an admin bootstrap key
    environment: str = "development"
    #: the gateway's first admin key (sk_<id>_<secret>), issued once at start (bootstrap.py)
    admin_bootstrap_key: str = field(default="", repr=False)
    kafka_security: KafkaSecurity = field(default_factory=KafkaSecurity)
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
        environment = _environment(env)
        internal_secret = env.get("STYRKORT_INTERNAL_SECRET", "")
        bootstrap_key = _bootstrap_key(env, service)
        if environment == "production":
            _require_production_secrets(service, internal_secret, bootstrap_key)
        return cls(
            service=service,
            database_url=database_url,
            kafka_bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"),
            topic_prefix=env.get("KAFKA_TOPIC_PREFIX", ""),
            topic_partitions=partitions,
            topic_replication_factor=_positive_int(env, "KAFKA_TOPIC_REPLICATION_FACTOR", 1),
            kafka_max_poll_interval_ms=poll_interval,
            relay_batch_size=_positive_int(env, "RELAY_BATCH_SIZE", 2000),
            max_request_bytes=_positive_int(env, "STYRKORT_MAX_REQUEST_BYTES", 1_048_576),
            kafka_max_message_bytes=_positive_int(env, "KAFKA_MAX_MESSAGE_BYTES", 1_000_000),
            consumer_max_attempts=_positive_int(env, "CONSUMER_MAX_ATTEMPTS", 3),
            idempotency_key_hours=_positive_number(env, "IDEMPOTENCY_KEY_HOURS", 24.0),
            internal_secret=internal_secret,
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
            environment=environment,
            admin_bootstrap_key=bootstrap_key,
            kafka_security=KafkaSecurity.from_env(env),
        )


def _environment(env: Mapping[str, str]) -> str:
    raw = env.get("STYRKORT_ENV") or "development"
    if raw.strip().lower() not in ENVIRONMENTS:
        raise ConfigError(f"STYRKORT_ENV must be development or production, not {raw!r}")
    return raw.strip().lower()


def _bootstrap_key(env: Mapping[str, str], service: str) -> str:
    """The gateway's admin bootstrap key, checked for shape (never echoed: it is a secret)."""
    key = (env.get("STYRKORT_ADMIN_BOOTSTRAP_KEY") or "").strip()
    if service != "gateway" or not key:
        return ""
    if not _API_KEY.fullmatch(key):
        raise ConfigError(
            "STYRKORT_ADMIN_BOOTSTRAP_KEY is not a gateway API key: it must be "
            "sk_<20 hex characters>_<43 URL-safe base64 characters> "
            "(make one with `python -m services.gateway new-bootstrap-key`)"
        )
    return key


def _require_production_secrets(service: str, internal_secret: str, bootstrap_key: str) -> None:
    """Production never runs on a missing or guessable secret, nor a gateway nobody can
    administer (STYRKORT_ENV=production; docs/adr/0021)."""
    if not internal_secret:
        raise ConfigError(
            "STYRKORT_INTERNAL_SECRET is not set; production (STYRKORT_ENV=production) needs it"
        )
    if len(internal_secret) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"STYRKORT_INTERNAL_SECRET is too short ({len(internal_secret)} characters; "
            f"production needs at least {MIN_SECRET_LENGTH}, e.g. `openssl rand -hex 32`)"
        )
    if len(set(internal_secret.strip())) < MIN_SECRET_VARIETY:
        raise ConfigError(
            f"STYRKORT_INTERNAL_SECRET is guessable (fewer than {MIN_SECRET_VARIETY} different "
            "characters, e.g. one letter repeated or blanks); production needs a random one, "
            "e.g. `openssl rand -hex 32`"
        )
    if service == "gateway" and not bootstrap_key:
        raise ConfigError(
            "STYRKORT_ADMIN_BOOTSTRAP_KEY is not set; the gateway in production needs its first "
            "admin key (make one with `python -m services.gateway new-bootstrap-key`)"
        )


#: gunicorn's exit status of a worker whose app failed to load: the master stops (a worker
#: that failed otherwise is started again and again)
APP_LOAD_ERROR = 4


def from_env_or_exit(service: str) -> Config:
    """The config of a web app (the wsgi modules, imported by gunicorn's workers); a missing or
    malformed setting is one line on stderr naming it, and exit status 4 (APP_LOAD_ERROR), so
    the container stops with the reason instead of a traceback per worker."""
    try:
        return Config.from_env(service)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(APP_LOAD_ERROR) from None


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


@dataclass(frozen=True)
class Setting:
    """One environment variable some styrkort process reads: the README's configuration table
    is rendered from these (tests/unit/test_settings.py keeps code, table and compose in step)."""

    name: str
    default: str  # as documented; "" means none
    read_by: str  # all | web | gateway | reports | cli | image | dev stack
    meaning: str


REQUIRED = "required"
#: every environment variable the code reads, in the order of the README's table
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "STYRKORT_ENV",
        "development",
        "all",
        "`production` refuses to start without a strong internal secret (and, for the "
        "gateway, an admin bootstrap key); compose sets it",
    ),
    Setting("DATABASE_URL", REQUIRED, "all", "the service's own PostgreSQL database"),
    Setting(
        "STYRKORT_INTERNAL_SECRET",
        "",
        "all",
        "HMAC secret the gateway signs identities with and the services check; production: "
        f"required, at least {MIN_SECRET_LENGTH} characters and random (at least "
        f"{MIN_SECRET_VARIETY} different ones)",
    ),
    Setting(
        "STYRKORT_ADMIN_BOOTSTRAP_KEY",
        "",
        "gateway",
        "the first admin key, `sk_<id>_<secret>`, issued once (scope `*`) by the gateway's "
        "migrate and web start; production: required (docs/adr/0021)",
    ),
    Setting("LOG_LEVEL", "INFO", "all", "DEBUG, INFO, WARNING, ..."),
    Setting(
        "KAFKA_BOOTSTRAP_SERVERS",
        "127.0.0.1:19092",
        "all",
        "host:port[,host:port] of the Kafka-compatible cluster",
    ),
    Setting(
        "KAFKA_SECURITY_PROTOCOL",
        "PLAINTEXT",
        "all",
        "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, for every Kafka client",
    ),
    Setting(
        "KAFKA_SASL_MECHANISM",
        "",
        "all",
        "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (SASL_*: default PLAIN)",
    ),
    Setting("KAFKA_SASL_USERNAME", "", "all", "SASL user (required with SASL_*)"),
    Setting("KAFKA_SASL_PASSWORD", "", "all", "SASL password (required with SASL_*)"),
    Setting(
        "KAFKA_SSL_CAFILE",
        "",
        "all",
        "CA certificate file (PEM) the brokers' certificates are checked with (SSL, SASL_SSL)",
    ),
    Setting("KAFKA_SSL_CERTFILE", "", "all", "client certificate file (PEM), for mutual TLS"),
    Setting("KAFKA_SSL_KEYFILE", "", "all", "the client certificate's private key file (PEM)"),
    Setting("KAFKA_TOPIC_PREFIX", "", "all", "prepended to every topic name"),
    Setting("KAFKA_TOPIC_PARTITIONS", "6", "all", "partitions of a topic the relay creates"),
    Setting(
        "KAFKA_TOPIC_REPLICATION_FACTOR",
        "1",
        "all",
        "copies of each partition of a topic the relay creates (3 on a production cluster)",
    ),
    Setting("KAFKA_MAX_POLL_INTERVAL_MS", "10000", "all", "the consumer's rebalance timeout"),
    Setting(
        "KAFKA_MAX_MESSAGE_BYTES",
        "1000000",
        "all",
        "largest CloudEvent the store accepts: below the broker's message.max.bytes",
    ),
    Setting("RELAY_BATCH_SIZE", "2000", "all", "events per produce-and-checkpoint round"),
    Setting(
        "CONSUMER_MAX_ATTEMPTS",
        "3",
        "all",
        "tries of a failing event before the consumer records it as rejected",
    ),
    Setting(
        "STYRKORT_MAX_REQUEST_BYTES",
        "1048576",
        "all",
        "largest request body a web app reads; larger: 413",
    ),
    Setting(
        "STYRKORT_MAX_SIGNATURE_AGE",
        "60",
        "all",
        "seconds a signed identity may be off the service's clock (docs/adr/0011)",
    ),
    Setting("IDEMPOTENCY_KEY_HOURS", "24", "all", "how long an Idempotency-Key's answer is kept"),
    Setting("STYRKORT_YEAR_MIN", "1990", "all", "the earliest plausible calendar year"),
    Setting("STYRKORT_YEAR_MAX", "2100", "all", "the latest plausible calendar year"),
    Setting(
        "PORT",
        "8000",
        "image",
        "the port gunicorn listens on, all interfaces (the image sets it; the dev stack "
        "binds 127.0.0.1 instead)",
    ),
    Setting("WEB_CONCURRENCY", "2", "web", "gunicorn worker processes of a web app"),
    Setting("GUNICORN_THREADS", "4", "web", "threads per gunicorn worker"),
    Setting("GOALS_URL", "http://127.0.0.1:8081", "gateway", "where the gateway finds goals"),
    Setting("PLANS_URL", "http://127.0.0.1:8082", "gateway", "where the gateway finds plans"),
    Setting("REPORTS_URL", "http://127.0.0.1:8083", "gateway", "where the gateway finds reports"),
    Setting(
        "GATEWAY_UPSTREAM_TIMEOUT",
        "30",
        "gateway",
        "seconds the gateway waits for a service before its 503",
    ),
    Setting(
        "GATEWAY_RATE_LIMIT",
        "1200/minute",
        "gateway",
        "requests per key and gateway process, then 429",
    ),
    Setting(
        "GATEWAY_AUDIT_LOG", "", "gateway", "a file the audit lines are appended to, besides stdout"
    ),
    Setting(
        "GATEWAY_SESSION_SECRET",
        "",
        "gateway",
        "signs the reviewer pages' session cookie (at least 32 characters; unset: derived "
        "from the internal secret)",
    ),
    Setting(
        "GATEWAY_COOKIE_SECURE",
        "1",
        "gateway",
        "`0` lets the session cookie travel over plain http (the dev stack)",
    ),
    Setting("GATEWAY_SESSION_HOURS", "8", "gateway", "how long a reviewer's session lasts"),
    Setting("KOLADA_BASE_URL", DEFAULT_KOLADA_BASE_URL, "reports", "Kolada API v3's base URL"),
    Setting(
        "KOLADA_MUNICIPALITY",
        DEFAULT_KOLADA_MUNICIPALITY,
        "reports",
        "the municipality's Kolada code (1471: Götene)",
    ),
    Setting(
        "KOLADA_COMPARISONS",
        ",".join(f"{c}:{n}" for c, n in DEFAULT_KOLADA_COMPARISONS),
        "reports",
        "comparison municipalities, code:name pairs, comma-separated",
    ),
    Setting(
        "KOLADA_REQUESTS_PER_SECOND", "5", "reports", "the Kolada import's self-throttle (0: off)"
    ),
    Setting(
        "STYRKORT_ADMIN",
        "cli:<os user>",
        "cli",
        "who an operator's command (rebuild, relay-skip, keys) is recorded as",
    ),
    Setting(
        "STYRKORT_API_KEY",
        "",
        "cli",
        "the key `python -m services.gateway admin` sends (else --key-file, .dev/admin-key)",
    ),
    Setting("STYRKORT_DEV_DIR", ".dev", "dev stack", "the dev stack's data, logs, secret, key"),
    Setting("DEV_PG_PORT", "55432", "dev stack", "the embedded PostgreSQL's port"),
    Setting("DEV_KAFKA_PORT", "19092", "dev stack", "the embedded broker's port"),
    Setting("GATEWAY_PORT", "8080", "dev stack", "the gateway's port"),
    Setting("GOALS_PORT", "8081", "dev stack", "goals' port"),
    Setting("PLANS_PORT", "8082", "dev stack", "plans' port"),
    Setting("REPORTS_PORT", "8083", "dev stack", "reports' port"),
    Setting("DEV_START_TIMEOUT", "60", "dev stack", "seconds to wait for the stack to answer"),
    Setting(
        "DEV_SERVER_MAX_CRASHES",
        "5",
        "dev stack",
        "crashes of PostgreSQL or the broker within a minute after which the stack stops "
        "instead of restarting it",
    ),
    Setting("NO_COLOR", "", "dev stack", "set: no colours in the dev stack's output"),
)


def settings_table() -> str:
    """The README's configuration table (Markdown), one row per setting."""
    rows = ["| Setting | Default | Read by | Meaning |", "|---|---|---|---|"]
    for setting in SETTINGS:
        default = (
            f"`{setting.default}`"
            if setting.default not in ("", REQUIRED)
            else (setting.default or "—")
        )
        rows.append(f"| `{setting.name}` | {default} | {setting.read_by} | {setting.meaning} |")
    return "\n".join(rows) + "\n"
