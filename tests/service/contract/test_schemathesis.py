"""Every endpoint against the committed spec, with generated input: no server error, and every
answer (status, content type, body) is one the spec documents.

Runs as the dispatcher of community A on a fresh database per operation; examples are
bounded (``MAX_EXAMPLES``) to keep the suite short. Server errors print the failing request.
"""

import os
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from service.main import create_app
from tests.service.conftest import headers

MAX_EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "8"))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
# Streams never end on their own; they are covered by their own tests.
STREAMS = ("/v1/events/stream", "/v1/dispatch-runs/{run_id}/stream")


SPEC = Path(__file__).resolve().parents[3] / "openapi" / "openapi.json"
# The committed spec, served by the app in-process; the app reads its database lazily (the
# `world` fixture's database, one per operation), so one app serves every example.
schema = schemathesis.openapi.from_path(SPEC)
schema.app = create_app()


@schema.exclude(path=list(STREAMS)).parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_endpoint_keeps_to_the_spec(case, world):
    case.call_and_validate(headers=headers(world.a.dispatcher), checks=CHECKS)
