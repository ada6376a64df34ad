"""Alembic migrations of the ratecard schema (one file per revision in ``versions/``)."""
