"""Deflexification (SPEC section 5): removing Flex from an account, as a pure core.

* :mod:`~ratecard.deflex.resources`: the account's resources in the vendor's REST shapes;
* :mod:`~ratecard.deflex.checklist`: what breaks when Flex goes, and what to do about it;
* :mod:`~ratecard.deflex.workflow`: the request, its roles, states and audit trail;
* :mod:`~ratecard.deflex.effective`: where in a month Flex billing ends;
* :mod:`~ratecard.deflex.serialize`: the JSON the CLI and API print.

No database, clock or I/O here: adapters load resources, keep requests and pass times in.
"""

from ratecard.deflex.checklist import Finding, checklist
from ratecard.deflex.effective import Interval, effective_time, is_flex_billed, split_month
from ratecard.deflex.resources import AccountResources, parse_resources
from ratecard.deflex.workflow import (
    BILLING_ACKNOWLEDGMENT,
    BILLING_CHANGE_ROWS,
    Actor,
    DeflexRequest,
    accept_billing_change,
    file_request,
    process,
    reject,
    submit,
    withdraw,
)

__all__ = [
    "BILLING_ACKNOWLEDGMENT",
    "BILLING_CHANGE_ROWS",
    "AccountResources",
    "Actor",
    "DeflexRequest",
    "Finding",
    "Interval",
    "accept_billing_change",
    "checklist",
    "effective_time",
    "file_request",
    "is_flex_billed",
    "parse_resources",
    "process",
    "reject",
    "split_month",
    "submit",
    "withdraw",
]
