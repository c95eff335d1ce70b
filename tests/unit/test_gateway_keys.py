"""API keys' pure parts: the key's shape, its hash, the rules of issue, rotate and revoke, and
the listing folded from key events (as of a date)."""

from __future__ import annotations

import datetime as dt

import pytest

from services.gateway.domain import keys
from services.gateway.domain.keys import ApiKey
from services.gateway.projections import fold_listing
from shared.errors import InvalidInput, RuleViolation


def test_a_key_carries_its_id_and_256_random_bits_and_parses_back() -> None:
    key_id, secret = keys.new_key_id(), keys.new_secret()
    key = keys.format_key(key_id, secret)
    assert key.startswith(f"sk_{key_id}_")
    assert keys.parse_key(key) == (key_id, secret)
    assert len(secret) == 43  # 32 bytes in URL-safe base64
    assert keys.new_secret() != secret


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "sk_",
        "sk_abc_def",
        "pk_0123456789abcdef0123_" + "a" * 43,
        "sk_0123456789ABCDEF0123_" + "a" * 43,  # key ids are lower-case hex
        "sk_0123456789abcdef0123_" + "a" * 42,
        "sk_0123456789abcdef0123_" + "a" * 42 + "!",
        "sk_0123456789abcdef0123_" + "a" * 44,
    ],
)
def test_a_malformed_key_is_none_not_an_error(bad: str) -> None:
    assert keys.parse_key(bad) is None


def test_only_the_hash_is_kept_and_it_matches_only_its_secret() -> None:
    secret = keys.new_secret()
    stored = keys.secret_hash(secret)
    assert secret not in stored and len(stored) == 64
    assert keys.secret_matches(secret, stored)
    assert not keys.secret_matches(keys.new_secret(), stored)


def test_issue_checks_role_scope_and_name_naming_the_field() -> None:
    hashed = keys.secret_hash(keys.new_secret())
    with pytest.raises(InvalidInput) as role:
        ApiKey.issue("0" * 20, "x", "owner", "*", hashed)
    assert "role" in role.value.fields
    with pytest.raises(InvalidInput) as scope:
        ApiKey.issue("0" * 20, "x", "reader", "../goals", hashed)
    assert "scope" in scope.value.fields
    with pytest.raises(InvalidInput) as name:
        ApiKey.issue("0" * 20, "a\x00b", "reader", "*", hashed)
    assert "name" in name.value.fields
    [issued] = ApiKey.issue("0" * 20, "  Intranätet  ", "editor", "org-unit-abc", hashed)
    assert issued == ApiKey.Issued("0" * 20, "Intranätet", "editor", "org-unit-abc", hashed)


def test_a_revoked_key_is_neither_rotated_nor_revoked_again() -> None:
    events = ApiKey.issue("1" * 20, "", "reader", "*", "h" * 64)
    key = keys.KIND.fold_new(events)
    [rotated] = key.rotate("n" * 64)
    key = key.when(rotated)
    assert key.secret_hash == "n" * 64 and key.version == 2
    key = key.when(key.revoke()[0])
    assert key.status == "revoked"
    with pytest.raises(RuleViolation):
        key.rotate("m" * 64)
    with pytest.raises(RuleViolation):
        key.revoke()


def test_the_listing_as_of_a_date_shows_who_issued_rotated_and_revoked_never_a_hash() -> None:
    day = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    rows = [
        (
            "ApiKeyIssued.v1",
            {"key_id": "a", "name": "n", "role": "editor", "scope": "*", "secret_hash": "h"},
            {"actor": "cli:ops"},
            day,
        ),
        ("ApiKeyRotated.v1", {"key_id": "a", "secret_hash": "i"}, {"actor": "key:b"}, day),
        ("ApiKeyRevoked.v1", {"key_id": "a"}, {"actor": "key:c"}, day),
    ]
    [listed] = fold_listing(rows)
    assert listed["issued_by"] == "cli:ops" and listed["rotated_by"] == "key:b"
    assert listed["status"] == "revoked" and listed["revoked_by"] == "key:c"
    assert listed["issued_at"] == day.isoformat()
    assert "secret_hash" not in listed and "h" not in listed.values()
    [before] = fold_listing(rows[:1])
    assert before["status"] == "active" and before["revoked_at"] is None


def test_a_key_id_from_a_person_is_checked() -> None:
    with pytest.raises(InvalidInput) as bad:
        keys.check_key_id("key-0123")
    assert "key_id" in bad.value.fields
    assert keys.check_key_id("a" * 20) == "a" * 20
