"""Usage events (SPEC section 7): their shapes and validation.

Every billable fact arrives as an event object. :func:`parse_events` validates a batch and
returns the events, or raises :class:`~ratecard.errors.EventError` listing every invalid event
with its position, field and reason. Quantities are decimal strings or integers: a JSON float
(``1.5``) is refused, so no binary floating point ever reaches a money path.

Times are accepted in a window, :class:`TimeWindow`: from :data:`EARLIEST_TIME` (2000-01-01
UTC) to "now" plus an allowed clock skew. The caller (the service layer) gives the window, so
this module never reads a clock. Ids and names must not contain control characters
(PostgreSQL cannot store NUL in text, and none of them belongs in an id).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
from ratecard.usage.metering import NOT_METERED, Metering, metering

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")

#: The largest quantity one event may carry: beyond it an event is surely a unit mistake, and
#: the bound keeps integer micro-unit kernels far from int64 overflow.
MAX_QUANTITY = Decimal(10) ** 12
_MAX_COUNT = int(MAX_QUANTITY)


#: The earliest event time accepted: nothing older is billed (and times far outside any
#: plausible month, as 0001 or 9999, overflow when moved to UTC or break month arithmetic).
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
#: Longest quotation of a refused value in an error (the rest is cut, "...").
EXCERPT = 40
#: No control character (C0, DEL, C1): an id or name with one is refused.
NO_CONTROL = r"^[^\x00-\x1F\x7F-\x9F]*$"
#: One control character (C0, DEL, C1), as :data:`NO_CONTROL` refuses them.
CONTROL_CHARACTER = r"[\x00-\x1F\x7F-\x9F]"
_NO_CONTROL_REASON = "must not contain control characters (NUL, tab, line breaks, ...)"


def excerpt(value: object, limit: int = EXCERPT) -> str:
    """``repr(value)``, cut to about ``limit`` characters: errors quote input, never all of it."""
    text = repr(value) if len(str(value)) <= limit * 4 else repr(str(value)[: limit * 2])
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class TimeWindow:
    """The accepted event times, bounds included: ``start`` to ``end`` (UTC). ``why_start``
    says why the start is later than :data:`EARLIEST_TIME`, when it is."""

    start: datetime
    end: datetime
    why_start: str = ""

    @classmethod
    def until(
        cls, now: datetime, skew: timedelta, start: datetime = EARLIEST_TIME, why_start: str = ""
    ) -> TimeWindow:
        """From ``start`` (at the earliest :data:`EARLIEST_TIME`) to ``now`` plus ``skew``
        (clocks of senders differ)."""
        if start <= EARLIEST_TIME:
            return cls(EARLIEST_TIME, now + skew)
        return cls(start, now + skew, why_start)

    def refusal(self, moment: datetime) -> str | None:
        """Why ``moment`` is refused (None: it is inside the window)."""
        if self.start <= moment <= self.end:
            return None
        side = "before" if moment < self.start else "after"
        why = f"; {self.why_start}" if side == "before" and self.why_start else ""
        return (
            f"is {side} the accepted window of event times, {_stamp(self.start)} to "
            f"{_stamp(self.end)} (now plus the allowed clock skew){why}"
        )


def _decimal(value: object) -> Decimal:
    return non_negative(value, maximum=MAX_QUANTITY)


def _integer(value: object) -> int:
    if type(value) is int and 0 <= value <= _MAX_COUNT:  # the common case, checked as below
        return value
    if isinstance(value, bool | float):
        raise ValueError(f"must be a whole number, not {excerpt(value)}")
    if isinstance(value, str) and len(value) <= 40 and re.fullmatch(r"\s*\d+\s*", value):
        value = int(value)
    if not isinstance(value, int):
        raise ValueError(f"must be a whole number, got {excerpt(value)}")
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
        raise ValueError(f"not an ISO 8601 time: {excerpt(value)}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"time {excerpt(value)} has no UTC offset (add Z or +HH:MM)")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-01:00 is in year 10000 in UTC
        raise ValueError(
            f"time {excerpt(value)} is out of range (events are accepted from "
            f"{_stamp(EARLIEST_TIME)} to now)"
        ) from None


Quantity = Annotated[Decimal, BeforeValidator(_decimal)]
Count = Annotated[int, BeforeValidator(_integer)]
Moment = Annotated[datetime, BeforeValidator(_moment)]
Name = Annotated[str, Field(min_length=1, max_length=256, pattern=NO_CONTROL)]
Direction = Literal["inbound", "outbound"]
NumberType = Literal["local", "tollfree", "mobile"]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: Annotated[str, Field(min_length=1, max_length=128, pattern=NO_CONTROL)]
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
    """A message. ``segments`` is what is billed: SMS segments, or for ``channel = "mms"``
    the MMS messages (1 per MMS: the vendor bills an MMS per message, not per segment)."""

    type: Literal["message"]
    direction: Direction
    channel: Literal["longcode", "tollfree", "shortcode", "mms"]
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
        elif item["type"] == "string_pattern_mismatch" and item["ctx"]["pattern"] == NO_CONTROL:
            reason = _NO_CONTROL_REASON
        if len(reason) > 4 * EXCERPT:  # pydantic may quote the input: never all of it
            reason = reason[: 4 * EXCERPT - 3] + "..."
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
    items: Sequence[tuple[str, Any]], window: TimeWindow | None = None
) -> tuple[list[tuple[str, Event]], list[Problem]]:
    """Validate ``(where, object)`` pairs: the valid events and the problems of the others.

    Exactly what :func:`parse_event` says of each item, but a batch of valid objects is
    validated in ONE pydantic-core call; only a batch with a problem goes item by item (so
    every problem keeps its location and message). With a ``window``, an event with a time
    outside it is refused too, naming the field (``time``, or a session's ``start``/``end``).
    """
    events: list[tuple[str, Event]]
    if all(type(data) is dict for _, data in items):
        try:
            parsed = _BATCH_ADAPTER.validate_python([data for _, data in items])
        except ValidationError:
            pass
        else:
            events = [(where, event) for (where, _), event in zip(items, parsed, strict=True)]
            return _windowed(items, events, [], window)
    events = []
    problems: list[Problem] = []
    for where, data in items:
        try:
            events.append((where, parse_event(data, where)))
        except EventError as exc:
            problems.extend(exc.problems)
    return _windowed(items, events, problems, window)


def _windowed(
    items: Sequence[tuple[str, Any]],
    events: list[tuple[str, Event]],
    problems: list[Problem],
    window: TimeWindow | None,
) -> tuple[list[tuple[str, Event]], list[Problem]]:
    """:func:`parse_batch`'s answer: the events in ``window`` (all without one), and every
    problem in input order."""
    if window is None:
        return events, problems
    start, end = window.start, window.end
    if all(start <= e.time <= end and type(e) is not FlexActivity for _, e in events):
        return events, problems  # the usual batch, checked at the cost of a comparison

    def outside(event: Event) -> Iterator[tuple[str, str]]:
        for name, moment in _times(event):
            reason = window.refusal(moment)
            if reason is not None:
                yield name, reason

    kept, refused = screened(events, outside)
    if not refused:
        return kept, problems
    return kept, in_input_order(items, [*problems, *refused])


def in_input_order(items: Sequence[tuple[str, Any]], problems: list[Problem]) -> list[Problem]:
    """``problems`` ordered by the place of their item in ``items`` (stable: an item's own
    problems keep their order)."""
    position = {where: n for n, (where, _) in enumerate(items)}
    return sorted(problems, key=lambda p: position.get(p.where, -1))


def _times(event: Event) -> Iterator[tuple[str, datetime]]:
    yield "time", event.time
    if isinstance(event, FlexActivity):
        yield "start", event.start
        yield "end", event.end


def screened(
    events: Sequence[tuple[str, Event]],
    refusals: Callable[[Event], Iterable[tuple[str, str]]],
) -> tuple[list[tuple[str, Event]], list[Problem]]:
    """The events ``refusals`` has nothing against, and a problem per ``(field, reason)``
    it gives for each other event."""
    kept: list[tuple[str, Event]] = []
    refused: list[Problem] = []
    for where, event in events:
        found = [Problem(where, reason, name) for name, reason in refusals(event)]
        if found:
            refused.extend(found)
        else:
            kept.append((where, event))
    return kept, refused


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
    #: the rating columns stored beside the body (:func:`ratecard.usage.metering.metering`)
    metering: Metering = NOT_METERED


def new_event(event: Event) -> NewEvent:
    """The stored form of a validated event."""
    body = event_fingerprint(event)
    return NewEvent(event.account, event.id, event.type, event.time, body, "", metering(event))


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
