"""Signed identity headers between the gateway and the services (no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.errors import Unauthenticated
from shared.identity import (
    ACTOR_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    Identity,
    decode_actor,
    encode_actor,
    sign,
    signing_target,
    verify,
)

SECRET = "s3cret"
WHO = Identity("key:abc", "editor", "org-unit-1")
SENT = {"Content-Type": "application/json", "If-Match": '"3"', "Idempotency-Key": "k-1"}


def signed(**overrides: Any) -> dict[str, str]:
    args: dict[str, Any] = {
        "secret": SECRET,
        "identity": WHO,
        "method": "POST",
        "path": "/api/v1/goals?x=1",
        "body": b'{"a":1}',
        "timestamp": 1000,
        "audience": "goals",
        "headers": SENT,
    } | overrides
    return sign(**args) | dict(args["headers"])


def check(headers: dict[str, str], **overrides: Any) -> Identity:
    args: dict[str, Any] = {
        "secret": SECRET,
        "headers": headers,
        "method": "post",
        "path": "/api/v1/goals?x=1",
        "body": b'{"a":1}',
        "max_age_seconds": 60,
        "now": 1000,
        "audience": "goals",
    } | overrides
    return verify(**args)


def test_a_signed_request_verifies_to_its_identity() -> None:
    assert check(signed()) == WHO
    assert check(signed(headers={}), method="POST") == WHO  # absent headers sign as empty


@pytest.mark.parametrize(
    "change",
    [
        {"method": "GET"},
        {"path": "/api/v1/goals?x=2"},
        {"body": b'{"a":2}'},
        {"secret": "other secret"},
        {"audience": "plans"},
    ],
)
def test_any_change_in_transit_breaks_the_signature(change: dict[str, Any]) -> None:
    with pytest.raises(Unauthenticated, match="does not match"):
        check(signed(), **change)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("If-Match", '"4"'),
        ("If-Match", None),
        ("Idempotency-Key", "k-2"),
        ("Idempotency-Key", None),
        ("Content-Type", "text/plain"),
        ("Content-Type", None),
        (NONCE_HEADER, "another-nonce"),
    ],
)
def test_a_signed_request_header_changed_or_dropped_breaks_the_signature(
    name: str, value: str | None
) -> None:
    headers = signed()
    if value is None:
        del headers[name]
    else:
        headers[name] = value
    with pytest.raises(Unauthenticated, match="does not match"):
        check(headers)


def test_a_header_added_after_signing_breaks_the_signature() -> None:
    headers = signed(headers={"Content-Type": "application/json"}) | {"If-Match": '"1"'}
    with pytest.raises(Unauthenticated, match="does not match"):
        check(headers)


def test_a_request_signed_for_one_service_is_refused_by_another() -> None:
    headers = signed(method="GET", path="/api/v1/history/X", body=b"", headers={})
    args = {"method": "GET", "path": "/api/v1/history/X", "body": b""}
    assert check(headers, **args) == WHO
    with pytest.raises(Unauthenticated, match="does not match"):
        check(headers, **args, audience="plans")


def test_every_signing_is_unique() -> None:
    first, second = signed(), signed()
    assert first[NONCE_HEADER] != second[NONCE_HEADER]
    assert first[SIGNATURE_HEADER] != second[SIGNATURE_HEADER]
    assert check(first) == check(second) == WHO


def test_a_raised_role_breaks_the_signature() -> None:
    headers = signed() | {"X-Styrkort-Role": "admin"}
    with pytest.raises(Unauthenticated, match="does not match"):
        check(headers)


@pytest.mark.parametrize(
    ("now", "accepted"), [(1060, True), (940, True), (1061, False), (939, False)]
)
def test_the_clock_window_is_60_seconds_either_way(now: int, accepted: bool) -> None:
    if accepted:
        assert check(signed(), now=now) == WHO
    else:
        with pytest.raises(Unauthenticated, match="stale" if now > 1000 else "future"):
            check(signed(), now=now)


def test_missing_and_unknown_are_refused_with_the_reason() -> None:
    headers = signed()
    for name in (SIGNATURE_HEADER, NONCE_HEADER):
        with pytest.raises(Unauthenticated, match=name):
            check({k: v for k, v in headers.items() if k != name})
    with pytest.raises(Unauthenticated, match="unknown role"):
        check(headers | {"X-Styrkort-Role": "mayor"})
    with pytest.raises(Unauthenticated, match=NONCE_HEADER):
        check(headers | {NONCE_HEADER: "x" * 65})


def test_a_non_ascii_actor_travels_percent_encoded() -> None:
    who = Identity("key:åsa-öberg", "editor")
    headers = signed(identity=who)
    assert headers[ACTOR_HEADER] == "key:%C3%A5sa-%C3%B6berg"
    assert headers[ACTOR_HEADER].encode("latin-1")  # an HTTP header can carry it
    assert check(headers) == who
    assert encode_actor("key:abc") == "key:abc"  # ASCII actors are sent as they are
    assert decode_actor(encode_actor("key:100%")) == "key:100%"


@pytest.mark.parametrize(
    "value",
    ["key:åsa", "key:%c3%a5sa", "key:%C3", "key:%00", "key:%0A", "key:100%", "key:%41", "a b"],
)
def test_an_actor_not_encoded_canonically_is_refused(value: str) -> None:
    with pytest.raises(Unauthenticated, match=ACTOR_HEADER):
        decode_actor(value)


def test_clients_sign_the_decoded_path_and_the_query_as_sent() -> None:
    assert signing_target("/api/v1/org-units/%C3%A5?kind=unit&x=%20") == (
        "/api/v1/org-units/å?kind=unit&x=%20"
    )
    assert signing_target("/api/v1/goals?") == "/api/v1/goals"
    assert signing_target("/api/v1/goals?q=a?") == "/api/v1/goals?q=a?"
