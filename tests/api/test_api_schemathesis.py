"""Property-based conformance of the API to its own OpenAPI description (issue 12 item 8):
schemathesis generates requests for every operation against a real server and checks that
none answers 500, every status is documented and every answer matches its schema.

It runs against a server of its own (a fresh store with the demo tenant), since it creates
and changes records; it authenticates as the demo parent and, so that generated requests
reach real records, path parameters naming an account are that account's sid."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from ratecard.api import create_app
from ratecard.service.demo import ensure_demo
from ratecard.service.settings import Settings
from ratecard.store.database import Database

from .conftest import NOW, running

#: examples per operation: about 25 operations, the whole run well under a minute
EXAMPLES = 15
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    path: Path = tmp_path_factory.mktemp("schemathesis") / "api.db"
    store = Settings(database_url=f"sqlite:///{path}")
    db = Database(store.database_url)
    db.upgrade()
    parent, _, _ = ensure_demo(db, store, NOW)
    with running(create_app(store, clock=lambda: NOW)) as url:
        yield url, parent.sid, parent.token
    db.dispose()


def test_every_operation_conforms_to_the_openapi_description(
    fuzzed: tuple[str, str, str],
) -> None:
    # schemathesis' pytest plugin does not load on this pytest, so each operation's strategy
    # is run with hypothesis directly (the same generation and checks)
    url, sid, token = fuzzed
    document = httpx.get(f"{url}/openapi.json").json()
    operations = [result.ok() for result in schemathesis.openapi.from_dict(document)
                  .get_all_operations()]  # fmt: skip
    assert len(operations) > 20

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def conforms(case: schemathesis.Case) -> None:
            for name in ("sid", "AccountSid"):
                if name in (case.path_parameters or {}):
                    case.path_parameters[name] = sid
            case.call_and_validate(base_url=url, auth=(sid, token), checks=CHECKS, timeout=30)

        conforms()


def test_the_description_declares_the_event_batch_and_error_statuses(
    fuzzed: tuple[str, str, str],
) -> None:
    url, _, _ = fuzzed
    spec = httpx.get(f"{url}/openapi.json").json()
    post = spec["paths"]["/v1/events"]["post"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    batch = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert batch["properties"]["events"]["maxItems"] == 10_000
    assert {"400", "401", "409", "413", "422", "429"} <= set(post["responses"])
    for path in spec["paths"].values():
        for operation in path.values():
            assert {"401", "404", "413", "422", "429"} <= set(operation["responses"])
