"""HTTP conventions shared by every service (DESIGN.md §6).

- errors are `application/problem+json` (RFC 9457), mapped from exception classes in one place;
- every request but health, metrics and the OpenAPI document carries a signed identity, signed
  for this service and accepted once (shared/identity.py, shared/replays.py);
- `ETag` is the stream version, `If-Match` makes an edit conditional (412 when stale);
- a POST with `Idempotency-Key` is applied once: a retry gets the first final answer back
  (install_idempotency: what is kept, for how long, and to whom it is replayed).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import flask_smorest
import psycopg
from flask import Flask, Response, g, has_request_context, request
from flask_smorest import Api
from marshmallow import RAISE, Schema
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from shared import identity as identity_mod
from shared.config import Config
from shared.errors import (
    EventTooLarge,
    Forbidden,
    InvalidInput,
    NotFound,
    RuleViolation,
    StyrkortError,
    Unauthenticated,
)
from shared.events import InvalidEventData, Metadata
from shared.logs import correlation_id
from shared.replays import ReplayGuard
from shared.runtime import Runtime
from shared.store import ConcurrencyError
from shared.uow import BEFORE_COMMIT

log = logging.getLogger(__name__)
#: marshmallow's message for a field the schema does not have
UNKNOWN_FIELD = Schema._default_error_messages["unknown"]

PROBLEM_JSON = "application/problem+json"
API_PREFIX = "/api/v1"
OPEN_PATHS = ("/healthz", "/readyz", "/metrics", f"{API_PREFIX}/openapi.json")
#: Each kind of problem has its own `type` URI (docs/problems.md), so a client tells a rule
#: violation (do not retry) from a version conflict (read again, retry) without the title.
PROBLEM_BASE = "https://styrkort.example/problems/"
#: The type of a problem by its status; a status with two kinds (409) is told apart by the
#: error (`problem_type`). A status not here is "about:blank" (RFC 9457: the status says all).
PROBLEM_TYPES: dict[int, str] = {
    400: "malformed-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "rule-violation",
    412: "version-conflict",
    413: "too-large",
    414: "too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    500: "internal-error",
}
VERSION_CONFLICT = "version-conflict"
UNKNOWN_QUERY_PARAMETER = "unknown-query-parameter"
_STATUS: dict[type[StyrkortError], int] = {
    NotFound: 404,
    RuleViolation: 409,
    InvalidInput: 422,
    Forbidden: 403,
    Unauthenticated: 401,
    EventTooLarge: 413,
}
#: The longest path and query string a service reads (gunicorn passes request lines up to
#: 8190 bytes, infra/gunicorn_conf.py; longer ones it refuses itself, as a 400 in plain text).
MAX_URL_LENGTH = 4096
#: An Idempotency-Key whose first request has not finished after this long may be retried.
IDEMPOTENCY_LEASE_SECONDS = 60


def problem_type_uri(status: int, problem_type: str | None = None) -> str:
    """The `type` of a problem: its own kind, else the kind of its status, else about:blank."""
    kind = problem_type or PROBLEM_TYPES.get(status)
    return PROBLEM_BASE + kind if kind else "about:blank"


def problem(
    status: int,
    title: str,
    detail: str,
    fields: Mapping[str, Sequence[str]] | None = None,
    *,
    problem_type: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": problem_type_uri(status, problem_type),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
    }
    if fields:
        body["errors"] = {name: list(messages) for name, messages in fields.items()}
    body.update(extra)
    response = Response(json.dumps(body, ensure_ascii=False), status=status, headers=headers)
    response.content_type = PROBLEM_JSON
    return response


def _flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs' {"json": {"goal": {"title": ["..."]}}} -> {"goal.title": ["..."]}."""
    fields: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if not prefix and key in ("json", "query", "headers", "form", "view_args"):
                name = ""  # the location is clear from the request; name the field alone
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, Mapping):
                fields.update(_flatten_messages(value, name))
            else:
                items = value if isinstance(value, list) else [value]
                fields[name or "body"] = [str(v) for v in items]
    return fields


def _unknown_query_parameters(messages: Any) -> list[str]:
    """The query parameters webargs refused as unknown (StrictParser), in order."""
    query = messages.get("query") if isinstance(messages, Mapping) else None
    if not isinstance(query, Mapping):
        return []
    return [str(name) for name, msgs in query.items() if msgs == [UNKNOWN_FIELD]]


class StrictParser(FlaskParser):
    """webargs' parser, refusing unknown query parameters (a typo must not return the
    unfiltered list); the error handler turns them into a 400 naming them."""

    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": RAISE,
        "querystring": RAISE,
    }


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]
    """flask-smorest's Blueprint with the strict parser: every service's routes use this."""

    ARGUMENTS_PARSER = StrictParser()


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(StyrkortError)
    def _domain_error(exc: StyrkortError) -> Response:
        extensions: dict[str, Any] = dict(exc.extensions)
        status: int = getattr(exc, "status", None) or next(
            code for cls, code in _STATUS.items() if isinstance(exc, cls)
        )
        return problem(
            status,
            exc.title,
            exc.detail,
            exc.fields,
            problem_type=getattr(exc, "problem_type", None),
            **extensions,
        )

    @app.errorhandler(ConcurrencyError)
    def _conflict(exc: ConcurrencyError) -> Response:
        if request.headers.get("If-Match"):
            return problem(
                412,
                "Precondition failed",
                f"the entity changed: it is at version {exc.actual}, If-Match named "
                f"{exc.expected}; read it again and retry",
                problem_type=VERSION_CONFLICT,
                current_version=exc.actual,
            )
        return problem(
            409,
            "Concurrent change",
            f"the entity changed while the command ran (now version {exc.actual}); retry",
            problem_type=VERSION_CONFLICT,
            current_version=exc.actual,
        )

    @app.errorhandler(InvalidEventData)
    def _bad_data(exc: InvalidEventData) -> Response:
        return problem(422, "Invalid input", str(exc))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        data = getattr(exc, "data", None) or {}
        fields = _flatten_messages(data.get("messages", {}))
        status = exc.code or 500
        unknown = _unknown_query_parameters(data.get("messages", {})) if status == 422 else []
        if unknown:
            names = ", ".join(unknown)
            return problem(
                400,
                "Unknown query parameter",
                f"this route takes no query parameter {names}; check the spelling",
                {name: ["unknown query parameter"] for name in unknown},
                problem_type=UNKNOWN_QUERY_PARAMETER,
            )
        if status == 422:
            detail = "the request does not match its schema: " + "; ".join(
                f"{name}: {' '.join(msgs)}" for name, msgs in fields.items()
            )
            return problem(422, "Invalid input", detail, fields)
        # e.g. 405 keeps its Allow header; the framework's body is replaced by the problem
        kept = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        return problem(status, exc.name, exc.description or exc.name, fields, headers=kept)

    @app.errorhandler(psycopg.OperationalError)
    @app.errorhandler(psycopg.InterfaceError)
    @app.errorhandler(PoolTimeout)
    def _database_unavailable(exc: Exception) -> Response:
        """The database is down or restarting (its connections broke): an outage, not a bug.
        The command did not commit, or, if it did, its Idempotency-Key says so to a retry."""
        log.warning("database unavailable: %s: %s", type(exc).__name__, exc)
        return problem(
            503,
            "Service unavailable",
            "the service's database does not answer right now; retry in a moment (with the "
            "same Idempotency-Key)",
            headers={"Retry-After": "1"},
        )

    @app.errorhandler(Exception)
    def _bug(exc: Exception) -> Response:
        log.exception("unhandled error")
        return problem(
            500,
            "Internal error",
            "this is a bug in styrkort; it was logged with the correlation id",
            correlation_id=correlation_id.get(),
        )


# -- identity and request context --------------------------------------------------------------


def signed_target() -> str:
    """What the identity signature covers of the URL: the decoded path, and the query string
    as sent, after a "?" only if there is one (shared/identity.py)."""
    query = request.query_string.decode("latin-1")
    return f"{request.path}?{query}" if query else request.path


def _unstorable(text: str) -> str | None:
    """Why PostgreSQL could not take this text, or None."""
    if "\x00" in text:
        return "contains the NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (a lone surrogate)"
    return None


def _unstorable_in(value: Any, path: str) -> tuple[str, str] | None:
    """The first (field path, reason) of a JSON value that PostgreSQL could not store."""
    if isinstance(value, str):
        reason = _unstorable(value)
        return (path or "body", reason) if reason else None
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        name = f"{path}.{key}" if path else str(key)
        found = _unstorable(key) if isinstance(key, str) else None
        if found:
            return name, f"a key {found}"
        found_in = _unstorable_in(item, name)
        if found_in:
            return found_in
    return None


def refuse_unstorable_text() -> None:
    """Text PostgreSQL cannot hold (NUL, lone surrogates), anywhere in a request, is a 400/422
    naming where it is, never a 500 from the database; so is a body json cannot read."""
    try:
        arguments = list(request.args.items(multi=True))
    except UnicodeDecodeError:
        raise BadJsonBody("the query string is not UTF-8") from None
    for name, value in [
        ("path", request.path),
        *arguments,
        *(
            (h, v)
            for h, v in request.headers.items()
            if h in ("If-Match", "Idempotency-Key", "X-Correlation-Id", "X-Causation-Id")
        ),
    ]:
        reason = _unstorable(name) or _unstorable(value)
        if reason:
            raise InvalidInput(f"{name} {reason}", {name: [reason]})
    if not request.get_data(cache=True):
        return
    if not request.is_json:
        if request.method != "POST":
            return  # a body a GET does not read
        raise UnsupportedMediaType(
            f"a body must be application/json, not {request.mimetype or 'without a type'}",
            {"Content-Type": ["must be application/json"]},
        )
    try:
        body = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError) as exc:
        # ValueError covers malformed JSON and integers over Python's 4300-digit limit
        raise BadJsonBody(f"the body is not JSON this API can read: {str(exc)[:200]}") from None
    found = _unstorable_in(body, "")
    if found:
        raise InvalidInput(f"{found[0]} {found[1]}", {found[0]: [found[1]]})


class BadJsonBody(StyrkortError):
    """The body is not JSON, or the query string not UTF-8 (HTTP 400)."""

    title = "Malformed JSON"
    status = 400


class UnsupportedMediaType(StyrkortError):
    """A body that is not application/json (HTTP 415)."""

    title = "Unsupported media type"
    status = 415


class PreconditionFailed(StyrkortError):
    """If-Match names no version this API gave out as a strong ETag (HTTP 412)."""

    title = "Precondition failed"
    status = 412
    problem_type = VERSION_CONFLICT


def install_request_context(app: Flask, config: Config) -> None:
    runtime = app.extensions.get("styrkort.runtime")
    guard = ReplayGuard(runtime.pool, config.max_signature_age_seconds) if runtime else None

    @app.before_request
    def _context() -> Response | None:
        g.request_id = str(uuid.uuid4())
        g.correlation_id = request.headers.get("X-Correlation-Id") or g.request_id
        g.causation_id = request.headers.get("X-Causation-Id")
        correlation_id.set(g.correlation_id)
        g.started = time.perf_counter()
        target = request.environ.get("RAW_URI") or request.full_path
        if len(target) > MAX_URL_LENGTH:
            return problem(
                414,
                "URI too long",
                f"the path and query string are {len(target)} characters; at most "
                f"{MAX_URL_LENGTH} are read",
            )
        if request.path in OPEN_PATHS:
            g.identity = None
            return None
        if not config.internal_secret:
            raise Unauthenticated("STYRKORT_INTERNAL_SECRET is not configured on this service")
        g.identity = identity_mod.verify(
            config.internal_secret,
            request.headers,
            request.method,
            signed_target(),
            request.get_data(cache=True),
            config.max_signature_age_seconds,
            audience=config.service,
        )
        if guard is None:
            raise Unauthenticated("this service has no database to refuse replayed requests")
        guard.accept_once(
            request.headers[identity_mod.SIGNATURE_HEADER],
            int(request.headers[identity_mod.TIME_HEADER]),
        )
        refuse_unstorable_text()
        return None

    @app.after_request
    def _echo_ids(response: Response) -> Response:
        if "correlation_id" in g:
            response.headers["X-Correlation-Id"] = g.correlation_id
        return response


def current_identity() -> identity_mod.Identity:
    ident = g.get("identity")
    if ident is None:
        raise Unauthenticated("no identity on this request")
    return ident  # type: ignore[no-any-return]


def command_metadata() -> Metadata:
    """Who and which conversation: recorded in the metadata of every event of the command."""
    return Metadata(
        actor=current_identity().actor,
        correlation_id=g.correlation_id,
        causation_id=g.causation_id,
        request_id=g.request_id,
    )


def require_role(*roles: str) -> identity_mod.Identity:
    ident = current_identity()
    if ident.role not in roles and ident.role != "admin":
        raise Forbidden(f"role {ident.role!r} may not do this; it needs {' or '.join(roles)}")
    return ident


# -- ETag / If-Match ------------------------------------------------------------------------


def etag_of(version: int) -> str:
    return f'"{version}"'


def if_match_version() -> int | None:
    """The stream version named by If-Match, None without the header; 422 if malformed.

    If-Match compares strongly (RFC 9110 §13.1.1): a weak ETag such as W/"2" never matches,
    so it is a 412, as a stale version is; send the ETag as this API gave it out, "2"."""
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    value = raw.strip()
    if value.startswith("W/"):
        raise PreconditionFailed(
            f"If-Match compares strongly and a weak ETag never matches: send the ETag as it "
            f"was given out ({value[2:]!r}), not {raw!r}",
            {"If-Match": ["a weak ETag never matches"]},
        )
    value = value.strip('"')
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise InvalidInput(
            f'If-Match must be an ETag this API gave out, such as "3", not {raw!r}',
            {"If-Match": ["not a version ETag"]},
        )
    return int(value)


def with_etag(body: Any, version: int, status: int = 200) -> tuple[Any, int, dict[str, str]]:
    return body, status, {"ETag": etag_of(version)}


# -- Idempotency-Key ------------------------------------------------------------------------

#: The answers an Idempotency-Key keeps: success, and a request that is wrong in itself
#: (malformed, too large, not JSON, invalid), which the same request would get again. Any
#: other answer depends on a state that may change (401/403 the caller's key, 404 an entity
#: not there yet, 409 a rule or a concurrent change, 412 a stale If-Match, 5xx a failure):
#: the key is released, so a retry with it runs anew.
KEPT_ERRORS = frozenset({400, 413, 415, 422})
#: Expired keys deleted, at most, by one claim (the rest by later claims).
IDEMPOTENCY_CLEANUP_BATCH = 100


def note_command_access(entity_type: str, entity_id: str | None, body: Mapping[str, Any]) -> None:
    """Record the access check the caller's command passes (shared/resources.py, guarded), so
    that a replay of its answer under an Idempotency-Key re-runs the same check."""
    g.idempotency_access = (entity_type, entity_id, dict(body))


def idempotency_hash() -> str:
    """What makes a request with an Idempotency-Key the same request: path, query string,
    If-Match, Content-Type and body (a different If-Match is a different command)."""
    head = json.dumps(
        [
            request.path,
            request.query_string.decode("latin-1"),
            request.headers.get("If-Match"),
            request.headers.get("Content-Type"),
        ]
    ).encode("utf-8")
    return hashlib.sha256(head + b"\n" + request.get_data(cache=True)).hexdigest()


#: The answer to a retry whose first request applied its command but recorded no answer.
APPLIED_WITHOUT_ANSWER = (
    "the command of this Idempotency-Key was applied once, but its answer was not recorded "
    "(the service stopped right after): it is not run again; read the entity instead"
)


def mark_key_applied(conn: psycopg.Connection[Any]) -> None:
    """In the transaction of a command's append: its request's Idempotency-Key was applied.
    The mark commits with the events or not at all, so a key whose command committed is never
    released to run it again, whatever happens before its answer is stored."""
    if not has_request_context():
        return
    claim = g.get("idempotency")
    if claim is not None:
        key, actor = claim
        conn.execute(
            "UPDATE idempotency_keys SET applied_at = now() "
            "WHERE actor = %s AND key = %s AND status = 0",
            [actor, key],
        )


BEFORE_COMMIT.append(mark_key_applied)


def _json_default(value: Any) -> str:
    return str(value)  # dates and decimals of a loaded body: access checks read only ids


def install_idempotency(app: Flask, pool: ConnectionPool[Any]) -> None:
    """Remember the final answer to each POST with an Idempotency-Key, per actor, and replay it.

    - Only final answers are kept (`KEPT_ERRORS` and 2xx); for any other the key is released.
    - The request hash covers If-Match and Content-Type: the same key with another is a 422.
    - A key expires `Config.idempotency_key_hours` after its first request: a later request
      with it runs anew (the claim takes the expired row over). Each claim also deletes a
      bounded batch of the oldest expired keys; no background work is needed.
    - A replay is served only to a caller that may still run the command. Keys belong to
      one actor, so only the same actor ever sees the answer. Its current signed role must
      still write (readers and auditors: 403). The command recorded its access check
      (`note_command_access`: entity type, entity id of a change, the checked body); a replay
      to an editor with a unit scope runs that check again now, on the current organisation
      and entity, and refuses with its 403 (or 404). An answer no access check was recorded
      for (a validation error before the check, an admin route guarded by role) is replayed
      only to the role and scope that got it first, or to an admin.
    """

    def settings() -> tuple[Runtime, float]:
        runtime: Runtime = app.extensions["styrkort.runtime"]
        return runtime, runtime.config.idempotency_key_hours * 3600.0

    def claim_key(key: str, actor: str, request_hash: str, expiry: float) -> tuple[Any, ...] | None:
        """Claim the key (None), or the row of its answer or of its running first request."""
        who = g.identity
        with pool.connection() as conn:
            conn.execute(
                """DELETE FROM idempotency_keys WHERE (actor, key) IN (
                     SELECT actor, key FROM idempotency_keys
                     WHERE created_at < now() - make_interval(secs => %(expiry)s)
                       AND (status <> 0
                            OR created_at < now() - make_interval(secs => %(lease)s))
                     ORDER BY created_at LIMIT %(batch)s
                     FOR UPDATE SKIP LOCKED)""",
                {
                    "expiry": expiry,
                    "lease": IDEMPOTENCY_LEASE_SECONDS,
                    "batch": IDEMPOTENCY_CLEANUP_BATCH,
                },
            )
            # a new key; an expired one (unless its first request still runs); or the same
            # request whose first run died without releasing the key (its lease passed)
            claimed = conn.execute(
                """INSERT INTO idempotency_keys (key, actor, request_hash, status, role, scope)
                   VALUES (%(key)s, %(actor)s, %(hash)s, 0, %(role)s, %(scope)s)
                   ON CONFLICT (actor, key) DO UPDATE SET
                     request_hash = excluded.request_hash, status = 0, body = NULL,
                     headers = '{}', created_at = now(), applied_at = NULL, role = excluded.role,
                     scope = excluded.scope, entity_type = NULL, entity_id = NULL,
                     access_body = NULL
                     WHERE (idempotency_keys.created_at
                              < now() - make_interval(secs => %(expiry)s)
                            AND (idempotency_keys.status <> 0
                                 OR idempotency_keys.created_at
                                      < now() - make_interval(secs => %(lease)s)))
                        OR (idempotency_keys.status = 0
                            AND idempotency_keys.applied_at IS NULL
                            AND idempotency_keys.request_hash = excluded.request_hash
                            AND idempotency_keys.created_at
                                  < now() - make_interval(secs => %(lease)s))
                   RETURNING key""",
                {
                    "key": key,
                    "actor": actor,
                    "hash": request_hash,
                    "role": who.role,
                    "scope": who.scope,
                    "expiry": expiry,
                    "lease": IDEMPOTENCY_LEASE_SECONDS,
                },
            ).fetchone()
            if claimed:
                return None
            row = conn.execute(
                "SELECT request_hash, status, body, headers, role, scope, entity_type, "
                "entity_id, access_body, applied_at FROM idempotency_keys "
                "WHERE actor = %s AND key = %s",
                [actor, key],
            ).fetchone()
        if row is None:  # released by its first request between the two statements
            raise RuleViolation("the first request with this Idempotency-Key just ended; retry")
        return tuple(row)

    def may_replay(runtime: Runtime, row: tuple[Any, ...]) -> None:
        """Forbidden unless the caller may still run the command whose answer this is."""
        who: identity_mod.Identity = g.identity
        role, scope, entity_type, entity_id, access_body = row[4:9]
        writes_all = runtime.access.writes_anywhere(who)  # readers, auditors: Forbidden
        if who.role == "admin":
            return
        if entity_type is None:
            if (who.role, who.scope) != (role, scope):
                raise Forbidden(
                    f"this Idempotency-Key's answer was given to {role} with scope {scope}; "
                    f"{who.role} with scope {who.scope} may not have it replayed",
                    rule="a replay needs the authority the first request had",
                )
            return
        if writes_all:
            return
        with pool.connection() as conn:
            if entity_id is None:
                runtime.access.authorise_new(conn, who, entity_type, access_body or {})
            else:
                runtime.access.authorise_change(
                    conn, who, entity_type, entity_id, access_body or {}
                )

    @app.before_request
    def _replay_or_claim() -> Response | None:
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key or g.get("identity") is None:
            return None
        if len(key) > 200:
            raise InvalidInput("Idempotency-Key is longer than 200 characters")
        runtime, expiry = settings()
        actor = g.identity.actor
        request_hash = idempotency_hash()
        row = claim_key(key, actor, request_hash, expiry)
        if row is None:
            g.idempotency = (key, actor)
            return None
        first_hash, status, body, headers = row[:4]
        if first_hash != request_hash:
            raise InvalidInput(
                "this Idempotency-Key was used for a different request; use a new key",
                {"Idempotency-Key": ["reused for a different request"]},
            )
        if status == 0 and row[9] is not None:
            raise RuleViolation(APPLIED_WITHOUT_ANSWER)
        if status == 0:
            raise RuleViolation("the first request with this Idempotency-Key is still running")
        may_replay(runtime, row)
        return Response(
            json.dumps(body, ensure_ascii=False) if body is not None else "",
            status=status,
            headers={**headers, "Idempotent-Replayed": "true"},
        )

    @app.after_request
    def _remember(response: Response) -> Response:
        claim = g.pop("idempotency", None)
        access = g.pop("idempotency_access", None)
        if claim is None:
            return response
        key, actor = claim
        status = response.status_code
        with pool.connection() as conn:
            if not (200 <= status < 300 or status in KEPT_ERRORS):
                conn.execute(  # a command that was applied keeps its key (never run twice)
                    "DELETE FROM idempotency_keys WHERE actor = %s AND key = %s "
                    "AND applied_at IS NULL",
                    [actor, key],
                )
                return response
            entity_type, entity_id, access_body = access or (None, None, None)
            kept = {
                name: response.headers[name]
                for name in ("Content-Type", "ETag", "Location")
                if name in response.headers
            }
            conn.execute(
                "UPDATE idempotency_keys SET status = %s, body = %s, headers = %s, "
                "entity_type = %s, entity_id = %s, access_body = %s "
                "WHERE actor = %s AND key = %s AND status = 0",
                [
                    status,
                    Jsonb(response.get_json(silent=True)),
                    Jsonb(kept),
                    entity_type,
                    entity_id,
                    None if access_body is None else Jsonb(access_body, dumps=_dumps),
                    actor,
                    key,
                ],
            )
        return response

    @app.teardown_request
    def _release(exc: BaseException | None) -> None:
        claim = g.pop("idempotency", None)
        if claim is not None:  # the request died before an answer: let a retry run it
            with pool.connection() as conn:
                conn.execute(
                    "DELETE FROM idempotency_keys WHERE actor = %s AND key = %s AND status = 0 "
                    "AND applied_at IS NULL",
                    list(reversed(claim)),
                )


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False)


# -- the app ---------------------------------------------------------------------------------


def create_service_app(runtime: Runtime, *, title: str, description: str) -> tuple[Flask, Api]:
    """A Flask app with the shared conventions; the service registers its blueprints on `api`."""
    from shared.metrics import install_metrics
    from shared.openapi import SECURITY, ConventionsPlugin

    config = runtime.config
    app = Flask(f"styrkort.{config.service}")
    app.config.update(
        API_TITLE=title,
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={"info": {"description": description}, "security": SECURITY},
        MAX_CONTENT_LENGTH=config.max_request_bytes,  # larger bodies: 413, never parsed
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["styrkort.runtime"] = runtime
    api = Api(app, spec_kwargs={"extra_plugins": [ConventionsPlugin()]})
    # flask-smorest's {code, status, message}: no answer of ours has it (all are "Problem")
    api.spec.components.schemas.pop("Error", None)
    register_error_handlers(app)
    install_request_context(app, config)
    install_idempotency(app, runtime.pool)
    render_metrics = install_metrics(app, runtime)

    @app.get("/healthz")
    def healthz() -> tuple[dict[str, str], int]:
        """Alive: the process answers."""
        return {"status": "ok", "service": config.service}, 200

    @app.get("/readyz")
    def readyz() -> tuple[dict[str, Any], int]:
        """Ready: the database answers."""
        try:
            with runtime.pool.connection(timeout=2) as conn:
                last = runtime.store.last_position(conn)
        except Exception as exc:
            log.warning("not ready: %s", exc)
            return {"status": "not ready", "reason": type(exc).__name__}, 503
        return {"status": "ready", "service": config.service, "last_position": last}, 200

    @app.get("/metrics")
    def metrics_endpoint() -> Response:
        return Response(render_metrics(), mimetype="text/plain; version=0.0.4")

    return app, api
