"""Thin handlers between the adapters (CLI, API) and the store: load, call the core, persist.

* :mod:`~ratecard.service.accounts`: create (auth token once, stored hashed) and list.
* :mod:`~ratecard.service.ingest`: atomic, idempotent batches of events.
* :mod:`~ratecard.service.importer`: event files of any size, per-line refusals.
* :mod:`~ratecard.service.invoices`: generate, finalize, void, show; late-event adjustments.
* :mod:`~ratecard.service.ports`: the unit of work and repositories the services use, as
  Protocols; every service takes a ``Store`` (a SQL ``Database`` or a ``MemoryStore``).
* :mod:`~ratecard.service.memory`: the in-memory store (tests, demos); the month close's bulk
  paths and usage triggers need SQL and say so.
"""
