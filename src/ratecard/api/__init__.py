"""The HTTP API (FastAPI): native ``/v1`` routes and the vendor-compatible Usage Records.

* :mod:`~ratecard.api.app`: :func:`create_app`, the composition root.
* :mod:`~ratecard.api.deps`: the service context, HTTP Basic authentication, tenant isolation.
* :mod:`~ratecard.api.errors`: error classes -> HTTP statuses and the one error JSON shape
  (status codes live only in this package).
* one module per route group: ``accounts``, ``events``, ``invoices``, ``usage_records``
  (vendor-compatible), ``flex``, ``deflex``.
"""

from ratecard.api.app import create_app

__all__ = ["create_app"]
