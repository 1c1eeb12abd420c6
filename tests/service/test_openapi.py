"""The committed spec is the app's spec, and it documents ids and errors."""

import json

from service.main import create_app
from service.openapi_dump import SPEC_PATH, render


def test_committed_spec_matches_the_app():
    """openapi/openapi.json is regenerated whenever the app changes
    (python -m service.openapi_dump)."""
    assert SPEC_PATH.read_text(encoding="utf-8") == render()


def test_operation_ids_are_readable_and_unique():
    """Every operation has a snake_case id, and no two share one."""
    spec = create_app().openapi()
    ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert all(i.replace("_", "").isalnum() and i.islower() for i in ids)


def test_v1_operations_list_their_problem_responses():
    """Each /v1 operation documents 401, 403 and 422 as problem+json."""
    spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    for path, operations in spec["paths"].items():
        if not path.startswith("/v1"):
            continue
        for method, op in operations.items():
            for status in ("401", "403", "422"):
                content = op["responses"].get(status, {}).get("content", {})
                assert "application/problem+json" in content, f"{method} {path} lacks {status}"
