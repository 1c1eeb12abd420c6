"""The CLI: plan JSON on stdout, malformed input -> field on stderr and exit code 2."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(args, stdin=None):
    return subprocess.run([sys.executable, "-m", "solver", *args], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_solve_writes_a_plan():
    """`solve example --time-limit` prints a plan with status and assignments."""
    out = _run(["solve", "solver/examples/count.json", "--time-limit", "5"])
    plan = json.loads(out.stdout)
    assert out.returncode == 0 and plan["status"] == "optimal" and plan["assignments"]


def test_malformed_input_exits_2_naming_the_field():
    """A bad window is reported by field name on stderr with exit code 2."""
    bad = json.dumps({"requests": [{"id": "a", "location": [1, 2], "window": [9, 1]}]})
    out = _run(["solve", "-"], stdin=bad)
    assert out.returncode == 2 and "requests[0].window" in out.stderr and out.stdout == ""


def test_not_json_exits_2():
    """Input that is not JSON is an error with exit code 2."""
    out = _run(["solve", "-"], stdin="{nope")
    assert out.returncode == 2 and "not JSON" in out.stderr
