"""Signed identity headers between the gateway and the services (no I/O)."""

from __future__ import annotations

import pytest

from shared.errors import Unauthenticated
from shared.identity import SIGNATURE_HEADER, Identity, sign, signing_target, verify

SECRET = "s3cret"
WHO = Identity("key:abc", "editor", "org-unit-1")


def test_a_signed_request_verifies_to_its_identity() -> None:
    headers = sign(SECRET, WHO, "POST", "/api/v1/goals?x=1", b'{"a":1}', timestamp=1000)
    assert verify(SECRET, headers, "post", "/api/v1/goals?x=1", b'{"a":1}', 300, now=1100) == WHO


@pytest.mark.parametrize(
    ("method", "path", "body", "secret"),
    [
        ("GET", "/api/v1/goals?x=1", b'{"a":1}', SECRET),
        ("POST", "/api/v1/goals?x=2", b'{"a":1}', SECRET),
        ("POST", "/api/v1/goals?x=1", b'{"a":2}', SECRET),
        ("POST", "/api/v1/goals?x=1", b'{"a":1}', "other secret"),
    ],
)
def test_any_change_in_transit_breaks_the_signature(
    method: str, path: str, body: bytes, secret: str
) -> None:
    headers = sign(SECRET, WHO, "POST", "/api/v1/goals?x=1", b'{"a":1}', timestamp=1000)
    with pytest.raises(Unauthenticated, match="does not match"):
        verify(secret, headers, method, path, body, 300, now=1000)


def test_a_raised_role_breaks_the_signature() -> None:
    headers = sign(SECRET, WHO, "GET", "/p", timestamp=1000) | {"X-Styrkort-Role": "admin"}
    with pytest.raises(Unauthenticated, match="does not match"):
        verify(SECRET, headers, "GET", "/p", b"", 300, now=1000)


def test_stale_missing_and_unknown_are_refused_with_the_reason() -> None:
    headers = sign(SECRET, WHO, "GET", "/p", timestamp=1000)
    with pytest.raises(Unauthenticated, match="stale"):
        verify(SECRET, headers, "GET", "/p", b"", 300, now=1301)
    with pytest.raises(Unauthenticated, match=SIGNATURE_HEADER):
        verify(
            SECRET,
            {k: v for k, v in headers.items() if k != SIGNATURE_HEADER},
            "GET",
            "/p",
            b"",
            300,
            now=1000,
        )
    with pytest.raises(Unauthenticated, match="unknown role"):
        verify(SECRET, headers | {"X-Styrkort-Role": "mayor"}, "GET", "/p", b"", 300, now=1000)


def test_clients_sign_the_decoded_path_and_the_query_as_sent() -> None:
    assert signing_target("/api/v1/org-units/%C3%A5?kind=unit&x=%20") == (
        "/api/v1/org-units/å?kind=unit&x=%20"
    )
    assert signing_target("/api/v1/goals?") == "/api/v1/goals"
    assert signing_target("/api/v1/goals?q=a?") == "/api/v1/goals?q=a?"
