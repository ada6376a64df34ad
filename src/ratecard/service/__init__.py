"""Thin handlers between the adapters (CLI, API) and the store: load, call the core, persist.

* :mod:`~ratecard.service.accounts`: create (auth token once, stored hashed) and list.
* :mod:`~ratecard.service.ingest`: atomic, idempotent batches of events.
* :mod:`~ratecard.service.importer`: event files of any size, per-line refusals.
* :mod:`~ratecard.service.invoices`: generate, finalize, void, show; late-event adjustments.
"""
