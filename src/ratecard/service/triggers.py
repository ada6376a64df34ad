"""Usage triggers (the vendor's ``/Usage/Triggers``): a callback when usage crosses a value.

A trigger watches one usage category of one account (a parent's usage includes its
subaccounts, as its Usage Records do) by ``count``, ``usage`` or ``price``, and fires **once
per period** when the value reaches ``trigger_value``: once per UTC day, month or year for a
``daily`` / ``monthly`` / ``yearly`` trigger, once ever for ``alltime`` or no ``recurring``
(both watch all-time usage). The value is the very Usage Record of that category for the
period (:func:`~ratecard.service.usage_records.usage_records`), so a trigger agrees exactly
with the records: ``Decimal`` throughout, and the same strings.

Evaluation runs after ingestion commits (:func:`after_ingest`, one call from
:mod:`ratecard.service.ingest`): only accounts that had events in the batch are looked at, and
only their triggers (one indexed query when there are none). Firing inserts the firing (unique
per trigger and period: concurrent evaluations fire once) and its webhook's outbox row in one
transaction, so a crash after the commit loses no webhook: the delivery worker
(:mod:`ratecard.service.webhooks`) sends what the outbox holds.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from email.utils import format_datetime
from functools import lru_cache
from urllib.parse import urlencode, urlsplit

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ratecard.catalog import Catalog, load_catalog
from ratecard.errors import NotFoundError, RatecardError
from ratecard.money import D
from ratecard.periods import Month
from ratecard.service.ports import Store
from ratecard.service.settings import Settings
from ratecard.service.usage_records import (
    SUMMARY_CATEGORIES,
    Query,
    Record,
    money_text,
    usage_records,
)
from ratecard.store.database import Database
from ratecard.store.tables import (
    AccountRow,
    TriggerFiringRow,
    UsageTriggerRow,
    WebhookAttemptRow,
    WebhookKeyRow,
    WebhookOutboxRow,
)

log = logging.getLogger("ratecard.triggers")

API_VERSION = "2010-04-01"
RECURRING = ("daily", "monthly", "yearly", "alltime")
TRIGGER_BY = ("count", "usage", "price")
METHODS = ("GET", "POST")
_VALUE = re.compile(r"^(\+?)(\d{1,15}(?:\.\d{1,10})?)$")
_SID = re.compile(r"^UT[0-9a-f]{32}$")


class TriggerParamError(RatecardError):
    """A trigger parameter the vendor's API would refuse (``field`` names it)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Period:
    """The period a trigger is judged on at some moment: its key and its inclusive dates."""

    key: str
    start: date
    end: date


@dataclass(frozen=True)
class Trigger:
    sid: str
    account: str
    friendly_name: str
    callback_url: str
    callback_method: str
    usage_category: str
    trigger_by: str
    trigger_value: Decimal
    recurring: str
    date_created: datetime
    date_updated: datetime
    date_fired: datetime | None


def _trigger(row: UsageTriggerRow) -> Trigger:
    return Trigger(
        row.sid,
        row.account_sid,
        row.friendly_name,
        row.callback_url,
        row.callback_method,
        row.usage_category,
        row.trigger_by,
        row.trigger_value,
        row.recurring,
        row.date_created,
        row.date_updated,
        row.date_fired,
    )


# ---------------------------------------------------------------- parameters


def check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise TriggerParamError(f"CallbackUrl must be an http(s) URL, got {url!r}", "CallbackUrl")
    return url.strip()


def check_method(method: str | None) -> str:
    value = (method or "POST").strip().upper()
    if value not in METHODS:
        raise TriggerParamError(
            f"CallbackMethod must be GET or POST, got {method!r}", "CallbackMethod"
        )
    return value


def check_choice(value: str | None, choices: tuple[str, ...], field: str, default: str) -> str:
    text = (value if value is not None else default).strip().lower()
    if text and text not in choices:
        raise TriggerParamError(
            f"{field} must be one of {', '.join(choices)}, got {value!r}", field
        )
    return text


def check_category(catalog: Catalog, category: str | None) -> str:
    if not category:
        raise TriggerParamError("UsageCategory is required", "UsageCategory")
    if category not in catalog.categories and category not in SUMMARY_CATEGORIES:
        raise TriggerParamError(f"unknown usage category {category!r}", "UsageCategory")
    return category


def parse_value(text: str | None) -> tuple[bool, Decimal]:
    """``TriggerValue``: (relative?, the decimal). ``+N`` is relative to the current value."""
    if text is None or not text.strip():
        raise TriggerParamError("TriggerValue is required", "TriggerValue")
    match = _VALUE.match(text.strip())
    if match is None:
        raise TriggerParamError(
            f"TriggerValue must be a non-negative decimal or +N, got {text!r}", "TriggerValue"
        )
    return bool(match.group(1)), D(match.group(2))


# ---------------------------------------------------------------- values


def period_of(recurring: str, moment: datetime, created: date) -> Period:
    """The period containing ``moment`` (UTC) for ``recurring``."""
    today = moment.astimezone(UTC).date()
    if recurring == "daily":
        return Period(today.isoformat(), today, today)
    if recurring == "monthly":
        month = Month.of(today)
        return Period(str(month), month.start.date(), date(month.year, month.month, month.days))
    if recurring == "yearly":
        return Period(str(today.year), date(today.year, 1, 1), date(today.year, 12, 31))
    return Period("alltime" if recurring else "once", min(created, today), today)


def value_text(trigger_by: str, value: Decimal) -> str:
    """A value as the Usage Records write it (price with two places at least)."""
    return money_text(value) if trigger_by == "price" else f"{value:f}"


def record_value(record: Record | None, trigger_by: str) -> Decimal:
    if record is None:
        return D(0)
    if trigger_by == "count":
        return D(record.count or 0)
    if trigger_by == "price":
        return record.price
    return record.usage


class Values:
    """Current values, read from the Usage Records; one rating per (account, period)."""

    def __init__(self, db: Database, catalog: Catalog, now: datetime) -> None:
        self.db, self.catalog, self.now = db, catalog, now.astimezone(UTC)
        self._memo: dict[tuple[str, date, date, str], dict[str, Record]] = {}

    def value(self, trigger: Trigger, created: date) -> tuple[Period, Decimal]:
        period = period_of(trigger.recurring, self.now, created)
        # rollups (totalprice, calls, sms, ...) are listed only when asked for by name
        rollup = trigger.usage_category if trigger.usage_category in SUMMARY_CATEGORIES else ""
        key = (trigger.account, period.start, period.end, rollup)
        if key not in self._memo:
            query = Query(trigger.account, period.start, period.end, category=rollup or None)
            records = usage_records(self.db, self.catalog, query, self.now.date())
            self._memo[key] = {r.category: r for r in records}
        record = self._memo[key].get(trigger.usage_category)
        return period, record_value(record, trigger.trigger_by)


def usage_record_uri(trigger: Trigger, period: Period) -> str:
    query = urlencode(
        {
            "Category": trigger.usage_category,
            "StartDate": period.start.isoformat(),
            "EndDate": period.end.isoformat(),
        }
    )
    return f"/{API_VERSION}/Accounts/{trigger.account}/Usage/Records.json?{query}"


# ---------------------------------------------------------------- CRUD


def _created(session: Session, sid: str) -> date:
    created = session.scalar(select(AccountRow.created).where(AccountRow.sid == sid))
    if created is None:
        raise NotFoundError(f"account {sid} does not exist")
    return created


def create_trigger(
    db: Database,
    catalog: Catalog,
    account: str,
    now: datetime,
    *,
    callback_url: str,
    trigger_value: str,
    usage_category: str,
    callback_method: str | None = None,
    friendly_name: str | None = None,
    recurring: str | None = None,
    trigger_by: str | None = None,
) -> Trigger:
    """A new trigger; a relative ``+N`` value is the current value plus N, now."""
    url = check_url(callback_url)
    method = check_method(callback_method)
    category = check_category(catalog, usage_category)
    every = check_choice(recurring, RECURRING, "Recurring", "")
    by = check_choice(trigger_by, TRIGGER_BY, "TriggerBy", "usage")
    if not by:
        by = "usage"
    relative, value = parse_value(trigger_value)
    sid = "UT" + secrets.token_hex(16)
    with db.session() as session:
        created = _created(session, account)
    row = UsageTriggerRow(
        sid=sid,
        account_sid=account,
        friendly_name=(friendly_name or "")[:256],
        callback_url=url,
        callback_method=method,
        usage_category=category,
        trigger_by=by,
        trigger_value=value,
        recurring=every,
        date_created=now,
        date_updated=now,
        date_fired=None,
    )
    if relative:
        _, current = Values(db, catalog, now).value(_trigger(row), created)
        row.trigger_value = current + value
    with db.session() as session:
        session.add(row)
        ensure_key(session, account, now)
        session.commit()
        return _trigger(row)


def get_trigger(db: Database, account: str, sid: str) -> Trigger:
    with db.session() as session:
        row = session.get(UsageTriggerRow, sid) if _SID.match(sid) else None
        if row is None or row.account_sid != account:
            raise NotFoundError(f"usage trigger {sid} does not exist")
        return _trigger(row)


def list_triggers(
    db: Database,
    account: str,
    recurring: str | None = None,
    trigger_by: str | None = None,
    usage_category: str | None = None,
) -> list[Trigger]:
    """An account's triggers, oldest first (then by sid): a stable paging order."""
    query = select(UsageTriggerRow).where(UsageTriggerRow.account_sid == account)
    if recurring is not None:
        query = query.where(UsageTriggerRow.recurring == recurring)
    if trigger_by is not None:
        query = query.where(UsageTriggerRow.trigger_by == trigger_by)
    if usage_category is not None:
        query = query.where(UsageTriggerRow.usage_category == usage_category)
    query = query.order_by(UsageTriggerRow.date_created, UsageTriggerRow.sid)
    with db.session() as session:
        return [_trigger(row) for row in session.scalars(query)]


def update_trigger(
    db: Database,
    account: str,
    sid: str,
    now: datetime,
    *,
    callback_url: str | None = None,
    callback_method: str | None = None,
    friendly_name: str | None = None,
) -> Trigger:
    """The vendor lets CallbackUrl, CallbackMethod and FriendlyName change."""
    get_trigger(db, account, sid)
    with db.session() as session:
        row = session.get(UsageTriggerRow, sid)
        assert row is not None
        if callback_url is not None:
            row.callback_url = check_url(callback_url)
        if callback_method is not None:
            row.callback_method = check_method(callback_method)
        if friendly_name is not None:
            row.friendly_name = friendly_name[:256]
        row.date_updated = now
        session.commit()
        return _trigger(row)


def delete_trigger(db: Database, account: str, sid: str) -> None:
    """Delete a trigger with its firings, its undelivered webhooks and its delivery log."""
    get_trigger(db, account, sid)
    with db.session() as session:
        outbox = select(WebhookOutboxRow.id).where(WebhookOutboxRow.trigger_sid == sid)
        session.execute(delete(WebhookAttemptRow).where(WebhookAttemptRow.outbox_id.in_(outbox)))
        session.execute(delete(WebhookOutboxRow).where(WebhookOutboxRow.trigger_sid == sid))
        session.execute(delete(TriggerFiringRow).where(TriggerFiringRow.trigger_sid == sid))
        session.execute(delete(UsageTriggerRow).where(UsageTriggerRow.sid == sid))
        session.commit()


# ---------------------------------------------------------------- signing keys


def ensure_key(session: Session, account: str, now: datetime) -> str:
    """The account's webhook signing key, created (32 hex, an auth token's shape) if none."""
    row = session.get(WebhookKeyRow, account)
    if row is None:
        row = WebhookKeyRow(account_sid=account, signing_key=secrets.token_hex(16), created_at=now)
        session.add(row)
        session.flush()
    return row.signing_key


def signing_key(db: Database, account: str, now: datetime, rotate: bool = False) -> str:
    """The account's webhook signing key (a new one with ``rotate``)."""
    with db.session() as session:
        _created(session, account)
        if rotate:
            session.execute(delete(WebhookKeyRow).where(WebhookKeyRow.account_sid == account))
        key = ensure_key(session, account, now)
        session.commit()
        return key


# ---------------------------------------------------------------- evaluation and firing


def rfc2822(moment: datetime) -> str:
    """A time as the vendor's resources write it: ``Mon, 20 Jul 2026 10:00:00 +0000``."""
    return format_datetime(moment.astimezone(UTC))


def _callback(trigger: Trigger, period: Period, value: Decimal, fired: datetime) -> dict[str, str]:
    return {
        "AccountSid": trigger.account,
        "UsageTriggerSid": trigger.sid,
        "DateFired": rfc2822(fired),
        "Recurring": trigger.recurring,
        "UsageCategory": trigger.usage_category,
        "TriggerBy": trigger.trigger_by,
        "TriggerValue": value_text(trigger.trigger_by, trigger.trigger_value),
        "CurrentValue": value_text(trigger.trigger_by, value),
        "UsageRecordUri": usage_record_uri(trigger, period),
        "IdempotencyToken": f"{trigger.account}-FIRES-{trigger.sid}-{period.key}",
        "FriendlyName": trigger.friendly_name,
        "ApiVersion": API_VERSION,
    }


def fire(db: Database, trigger: Trigger, period: Period, value: Decimal, now: datetime) -> bool:
    """Record the firing and its outbox row in one transaction; False if already fired."""
    with db.session() as session:
        firing = TriggerFiringRow(
            trigger_sid=trigger.sid, period=period.key, current_value=value, fired_at=now
        )
        session.add(firing)
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            return False
        row = session.get(UsageTriggerRow, trigger.sid)
        if row is None:  # deleted meanwhile
            session.rollback()
            return False
        row.date_fired = now
        params = _callback(trigger, period, value, now)
        session.add(
            WebhookOutboxRow(
                firing_id=firing.id,
                trigger_sid=trigger.sid,
                account_sid=trigger.account,
                url=trigger.callback_url,
                method=trigger.callback_method,
                params=json.dumps(params, separators=(",", ":")),
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                delivered_at=None,
                last_error=None,
            )
        )
        ensure_key(session, trigger.account, now)
        session.commit()
        return True


def relevant(db: Database, accounts: Iterable[str]) -> list[tuple[Trigger, date]]:
    """The triggers that usage of ``accounts`` can move (theirs and their parents'), with
    the creation date of each trigger's account."""
    sids = sorted(set(accounts))
    if not sids:
        return []
    parents = select(AccountRow.parent_sid).where(AccountRow.sid.in_(sids))
    query = (
        select(UsageTriggerRow, AccountRow.created)
        .join(AccountRow, AccountRow.sid == UsageTriggerRow.account_sid)
        .where(or_(UsageTriggerRow.account_sid.in_(sids), UsageTriggerRow.account_sid.in_(parents)))
        .order_by(UsageTriggerRow.sid)
    )
    with db.session() as session:
        return [(_trigger(row), created) for row, created in session.execute(query)]


def evaluate(db: Database, catalog: Catalog, accounts: Iterable[str], now: datetime) -> int:
    """Fire every trigger of ``accounts`` whose period's value reached it; how many fired."""
    found = relevant(db, accounts)
    if not found:
        return 0
    with db.session() as session:
        done = {
            (sid, period)
            for sid, period in session.execute(
                select(TriggerFiringRow.trigger_sid, TriggerFiringRow.period).where(
                    TriggerFiringRow.trigger_sid.in_([t.sid for t, _ in found])
                )
            )
        }
    values = Values(db, catalog, now)
    fired = 0
    for trigger, created in found:
        period = period_of(trigger.recurring, now, created)
        if (trigger.sid, period.key) in done:
            continue
        period, value = values.value(trigger, created)
        if value >= trigger.trigger_value and fire(db, trigger, period, value, now):
            fired += 1
    return fired


@lru_cache(maxsize=8)
def _catalog(name: str) -> Catalog:
    return load_catalog(name)


def after_ingest(
    db: Store, settings: Settings, accounts: Iterable[str], now: datetime | None
) -> None:
    """The ingestion hook: evaluate the batch's accounts' triggers after the commit.

    The events are stored whatever happens here: a failure is logged, not raised (the next
    batch, or ``ratecard triggers evaluate``, evaluates again). Triggers are kept in SQL only
    (this module's own tables): a store that is not a database (the in-memory one) has
    none, so there is nothing to evaluate."""
    if not isinstance(db, Database):
        return
    try:
        evaluate(db, _catalog(settings.catalog), accounts, now or datetime.now(UTC))
    except Exception:  # the batch is committed; never fail it now
        log.exception("usage trigger evaluation failed")


def all_trigger_accounts(db: Database) -> list[str]:
    with db.session() as session:
        return sorted(set(session.scalars(select(UsageTriggerRow.account_sid))))
