"""Usage events (SPEC section 7): their shapes and validation.

Every billable fact arrives as an event object. :func:`parse_events` validates a batch and
returns the events, or raises :class:`~ratecard.errors.EventError` listing every invalid event
with its position, field and reason. Quantities are decimal strings or integers: a JSON float
(``1.5``) is refused, so no binary floating point ever reaches a money path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from ratecard.accounts import ACCOUNT_SID
from ratecard.errors import EventError, Problem
from ratecard.money import non_negative

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")

#: The largest quantity one event may carry: beyond it an event is surely a unit mistake, and
#: the bound keeps integer micro-unit kernels far from int64 overflow.
MAX_QUANTITY = Decimal(10) ** 12
_MAX_COUNT = int(MAX_QUANTITY)


def _decimal(value: object) -> Decimal:
    return non_negative(value, maximum=MAX_QUANTITY)


def _integer(value: object) -> int:
    if type(value) is int and 0 <= value <= _MAX_COUNT:  # the common case, checked as below
        return value
    if isinstance(value, bool | float):
        raise ValueError(f"must be a whole number, not {value!r}")
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        value = int(value)
    if not isinstance(value, int):
        raise ValueError(f"must be a whole number, got {value!r}")
    if value < 0:
        raise ValueError("must not be negative")
    if value > MAX_QUANTITY:
        raise ValueError(f"must be at most {MAX_QUANTITY:,}")
    return value


def _moment(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError(
            "must be an ISO 8601 time string with an offset, e.g. 2026-07-01T09:30:00Z"
        )
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"time {value!r} has no UTC offset (add Z or +HH:MM)")
    return moment.astimezone(UTC)


Quantity = Annotated[Decimal, BeforeValidator(_decimal)]
Count = Annotated[int, BeforeValidator(_integer)]
Moment = Annotated[datetime, BeforeValidator(_moment)]
Name = Annotated[str, Field(min_length=1, max_length=256)]
Direction = Literal["inbound", "outbound"]
NumberType = Literal["local", "tollfree", "mobile"]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: Annotated[str, Field(min_length=1, max_length=128)]
    account: str
    time: Moment

    @field_validator("account")
    @classmethod
    def _account_sid(cls, value: str) -> str:
        if not ACCOUNT_SID.match(value):
            raise ValueError("must be an account sid: AC followed by 32 lowercase hex digits")
        return value


class _Located(_Event):
    country: str

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        if not COUNTRY.match(value):
            raise ValueError("must be an ISO 3166 alpha-2 country code in capitals, e.g. US")
        return value


class CallEvent(_Located):
    type: Literal["call"]
    call_id: Name
    direction: Direction
    number_type: NumberType
    duration_seconds: Count


class MessageEvent(_Located):
    type: Literal["message"]
    direction: Direction
    channel: Literal["longcode", "tollfree", "shortcode"]
    segments: Count


class _NumberEvent(_Located):
    number: str
    number_type: NumberType

    @field_validator("number")
    @classmethod
    def _e164(cls, value: str) -> str:
        if not E164.match(value):
            raise ValueError("must be an E.164 phone number, e.g. +14155550100")
        return value


class NumberPurchased(_NumberEvent):
    type: Literal["number_purchased"]


class NumberReleased(_NumberEvent):
    type: Literal["number_released"]


class FlexUserProvisioned(_Event):
    type: Literal["flex_user_provisioned"]
    user: Name
    role: Name


class FlexUserDeprovisioned(_Event):
    type: Literal["flex_user_deprovisioned"]
    user: Name
    role: Name


class FlexLogin(_Event):
    type: Literal["flex_login"]
    user: Name
    role: Name


class FlexActivity(_Event):
    type: Literal["flex_activity"]
    user: Name
    activity: Name
    start: Moment
    end: Moment

    @model_validator(mode="after")
    def _ordered(self) -> FlexActivity:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        return self


class WorkerCreated(_Event):
    type: Literal["worker_created"]
    worker: Name


class WorkerDeleted(_Event):
    type: Literal["worker_deleted"]
    worker: Name


class TaskRouterTask(_Event):
    type: Literal["taskrouter_task"]
    task: Name


class StudioEngagement(_Event):
    type: Literal["studio_engagement"]
    flow: Name
    engagement: Name


class UsageRecord(_Event):
    """Usage of any catalog category, already metered by the sender."""

    type: Literal["usage"]
    category: Name
    quantity: Quantity
    amount: Quantity | None = None  # a money amount carried by the event (percentage prices)
    country: str | None = None

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is not None and not COUNTRY.match(value):
            raise ValueError("must be an ISO 3166 alpha-2 country code in capitals, e.g. US")
        return value


Event = Annotated[
    CallEvent
    | MessageEvent
    | NumberPurchased
    | NumberReleased
    | FlexUserProvisioned
    | FlexUserDeprovisioned
    | FlexLogin
    | FlexActivity
    | WorkerCreated
    | WorkerDeleted
    | TaskRouterTask
    | StudioEngagement
    | UsageRecord,
    Field(discriminator="type"),
]

EVENT_TYPES: tuple[str, ...] = (
    "call",
    "message",
    "number_purchased",
    "number_released",
    "flex_user_provisioned",
    "flex_user_deprovisioned",
    "flex_login",
    "flex_activity",
    "worker_created",
    "worker_deleted",
    "taskrouter_task",
    "studio_engagement",
    "usage",
)

_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
_BATCH_ADAPTER: TypeAdapter[list[Event]] = TypeAdapter(list[Event])


def _problems(error: ValidationError, where: str) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        location = [str(part) for part in item["loc"]]
        # drop the discriminator tag pydantic puts first ("call", "usage", ...)
        if location and location[0] in EVENT_TYPES:
            location = location[1:]
        field = ".".join(location) or None
        reason = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "union_tag_invalid":
            field = "type"
            reason = f"unknown event type; expected one of: {', '.join(EVENT_TYPES)}"
        elif item["type"] == "union_tag_not_found":
            field = "type"
            reason = "is required"
        elif item["type"] == "extra_forbidden":
            reason = "is not a field of this event type"
        elif item["type"] == "missing":
            reason = "is required"
        problems.append(Problem(where=where, field=field, reason=reason))
    return problems


def parse_event(data: Any, where: str = "event") -> Event:
    """Validate one event object; raise EventError naming every bad field."""
    if not isinstance(data, dict):
        raise EventError([Problem(where, "an event must be a JSON object")])
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise EventError(_problems(exc, where)) from None


def parse_events(items: Iterable[tuple[str, Any]]) -> list[Event]:
    """Validate ``(where, object)`` pairs: all events, or one EventError with every problem."""
    events, problems = parse_batch(list(items))
    if problems:
        raise EventError(problems)
    return [event for _, event in events]


def parse_batch(
    items: Sequence[tuple[str, Any]],
) -> tuple[list[tuple[str, Event]], list[Problem]]:
    """Validate ``(where, object)`` pairs: the valid events and the problems of the others.

    Exactly what :func:`parse_event` says of each item, but a batch of valid objects is
    validated in ONE pydantic-core call; only a batch with a problem goes item by item (so
    every problem keeps its location and message).
    """
    if all(type(data) is dict for _, data in items):
        try:
            parsed = _BATCH_ADAPTER.validate_python([data for _, data in items])
        except ValidationError:
            pass
        else:
            return [(where, event) for (where, _), event in zip(items, parsed, strict=True)], []
    events: list[tuple[str, Event]] = []
    problems: list[Problem] = []
    for where, data in items:
        try:
            events.append((where, parse_event(data, where)))
        except EventError as exc:
            problems.extend(exc.problems)
    return events, problems


def event_fingerprint(event: Event) -> str:
    """Canonical JSON of an event's content: equal for an exact resend, different otherwise."""
    return event.model_dump_json()


class NewEvent(NamedTuple):
    """A valid event ready to store: its canonical JSON ``body`` (:func:`event_fingerprint`)
    and the columns it is looked up by (``time`` in UTC; ``stamp``, when known, is that
    instant as ISO 8601 text, saving a conversion when the row is written as text)."""

    account: str
    event_id: str
    type: str
    time: datetime
    body: str
    stamp: str = ""


def new_event(event: Event) -> NewEvent:
    """The stored form of a validated event."""
    return NewEvent(event.account, event.id, event.type, event.time, event_fingerprint(event))


def dedupe(events: Sequence[tuple[str, Event]]) -> list[Event]:
    """Keep the first copy of each (account, id); an exact resend is dropped.

    A second copy with the same (account, id) but different content is refused: raise
    EventError naming both places.
    """
    seen: dict[tuple[str, str], tuple[str, Event]] = {}
    kept: list[Event] = []
    problems: list[Problem] = []
    for where, event in events:
        key = (event.account, event.id)
        first = seen.get(key)
        if first is None:
            seen[key] = (where, event)
            kept.append(event)
        elif event_fingerprint(first[1]) != event_fingerprint(event):
            problems.append(
                Problem(
                    where,
                    f"event id {event.id!r} was already used at {first[0]} with different "
                    "content (a resend must be identical)",
                    field="id",
                )
            )
    if problems:
        raise EventError(problems)
    return kept
