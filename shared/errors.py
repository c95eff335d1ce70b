"""Error classes every layer may raise; shared.http maps each to one Problem+JSON answer.

Pure Python: domain code raises these without knowing about HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class StyrkortError(Exception):
    """Base of the errors that are the caller's to fix (never a 500)."""

    title = "Request refused"

    def __init__(
        self,
        detail: str,
        fields: Mapping[str, Sequence[str]] | None = None,
        **extensions: object,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = dict(fields or {})
        #: extra members of the Problem answer, e.g. the unit and scope of a refusal
        self.extensions = extensions


class NotFound(StyrkortError):
    """No such entity (HTTP 404)."""

    title = "Not found"


class RuleViolation(StyrkortError):
    """The command breaks a business rule or a state transition (HTTP 409)."""

    title = "Business rule violated"


class InvalidInput(StyrkortError):
    """Well-formed input whose values are not acceptable, e.g. a date out of period (HTTP 422)."""

    title = "Invalid input"


class Forbidden(StyrkortError):
    """The caller's role or unit scope does not allow this (HTTP 403)."""

    title = "Forbidden"


class Unauthenticated(StyrkortError):
    """No valid signed identity (HTTP 401)."""

    title = "Not authenticated"


class EventTooLarge(StyrkortError):
    """An event whose CloudEvent would exceed the broker's message size (HTTP 413): the store
    refuses it, so that no event can stop the relay."""

    title = "Event too large"

    def __init__(self, event_type: str, size: int, limit: int) -> None:
        super().__init__(
            f"the {event_type} event would be about {size} bytes on the wire, over the limit of "
            f"{limit} bytes (KAFKA_MAX_MESSAGE_BYTES); send less text or fewer items",
            event_type=event_type,
            size=size,
            limit=limit,
        )
        self.event_type = event_type
        self.size = size
        self.limit = limit
