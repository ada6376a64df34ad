"""A fast path for the common shape of an ingestion request: ``{"events": [...]}`` where every
event is a well-formed ``call`` (or every event a well-formed ``message``).

:func:`decode_batch` decodes and checks such a body straight from its bytes (msgspec, in C)
and gives the events in their stored form (:class:`~ratecard.usage.events.NewEvent`: the
indexed columns and the canonical JSON), without building a pydantic model per event. It
answers ``None`` for ANY body it is not sure about (another event type, a mixed batch, a
time with an offset, surrounding whitespace, a missing or extra field, a float, invalid
JSON, ...): the caller then takes the general path (``json.loads`` and the pydantic models),
which accepts or refuses the body and words every problem exactly as before. So the fast
path never refuses anything and never decides an error message: it only accepts bodies the
general path accepts, with the same result (tested against it, field by field and byte by
byte of the canonical JSON).

What it checks beyond the decoder's types, and why it matches the models: strings must have
no surrounding whitespace (the models strip it; such a body falls back); account sids and
countries are checked once per distinct value with the models' patterns; a time must be UTC
in the canonical form the models write (``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``), so the JSON
encoder, which writes the fields in the models' order, writes the models' canonical JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from ratecard.accounts import ACCOUNT_SID
from ratecard.usage.events import COUNTRY, MAX_QUANTITY, NewEvent

_COUNT = Annotated[int, msgspec.Meta(ge=0, le=int(MAX_QUANTITY))]
_ID = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
_NAME = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
_DIRECTION = Literal["inbound", "outbound"]


class _Call(msgspec.Struct, forbid_unknown_fields=True):
    """:class:`~ratecard.usage.events.CallEvent`, fields in the model's order."""

    id: _ID
    account: str
    time: str
    country: str
    type: Literal["call"]
    call_id: _NAME
    direction: _DIRECTION
    number_type: Literal["local", "tollfree", "mobile"]
    duration_seconds: _COUNT


class _Message(msgspec.Struct, forbid_unknown_fields=True):
    """:class:`~ratecard.usage.events.MessageEvent`, fields in the model's order."""

    id: _ID
    account: str
    time: str
    country: str
    type: Literal["message"]
    direction: _DIRECTION
    channel: Literal["longcode", "tollfree", "shortcode"]
    segments: _COUNT


class _Calls(msgspec.Struct, forbid_unknown_fields=True):
    events: list[_Call]


class _Messages(msgspec.Struct, forbid_unknown_fields=True):
    events: list[_Message]


_DECODERS = (msgspec.json.Decoder(_Calls), msgspec.json.Decoder(_Messages))
_ENCODER = msgspec.json.Encoder()


def decode_batch(raw: bytes) -> list[NewEvent] | None:
    """The events of a request body of the common shape, in their stored form; ``None``
    when the body is anything else (the caller must then take the general path)."""
    for decoder in _DECODERS:
        try:
            batch = decoder.decode(raw)
        except (msgspec.ValidationError, msgspec.DecodeError):
            continue
        return _stored(batch.events)
    return None


def _stored(events: list[_Call] | list[_Message]) -> list[NewEvent] | None:
    if not events:
        return None
    encode = _ENCODER.encode
    rows: list[NewEvent] = []
    append = rows.append
    for event in events:
        ident = event.id
        if ident.strip() != ident:
            return None
        if type(event) is _Call and event.call_id.strip() != event.call_id:
            return None
        moment = _utc(event.time)
        if moment is None:
            return None
        try:
            body = encode(event).decode()
        except UnicodeEncodeError:  # a lone surrogate: the models refuse it
            return None
        append(NewEvent(event.account, ident, event.type, moment, body, event.time))
    if not all(ACCOUNT_SID.fullmatch(sid) for sid in {row.account for row in rows}):
        return None
    if not all(COUNTRY.fullmatch(code) for code in {event.country for event in events}):
        return None
    return rows


def _utc(text: str) -> datetime | None:
    """The UTC time of ``text`` if it is in the canonical form the models write, else None."""
    if text[-1:] != "Z":
        return None
    iso = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return moment if moment.isoformat() == iso else None
