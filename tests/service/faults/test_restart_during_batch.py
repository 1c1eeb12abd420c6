"""The database crashes during a commit-mode batch run (bench/fault_bench.py, scenarios
*solving* and *writing*: the real API process and a real ``wushe worker``)."""

import json

import pytest

from bench.fault_bench import batch_fault


@pytest.mark.parametrize("when", ["solving", "writing"])
def test_a_database_crash_during_a_batch_run_commits_all_of_the_plan_or_none(
    private_pg, tmp_path, when
):
    fault = batch_fault(private_pg, tmp_path, when=when)
    worker_log = (tmp_path / f"batch-{when}-worker.log").read_text(errors="replace")
    logs = worker_log[-3000:]
    run = fault.run

    assert fault.process_alive, f"a process died with the database:\n{logs}"
    # and the worker still works: a run started after the outage ran
    assert run["next_run"] == "succeeded", f"{run}\n{logs}"
    assert fault.ready_while_down and 200 not in fault.ready_while_down
    assert fault.ready_after_s is not None
    # recovered by itself: the run ended committed, its whole plan offered
    assert run["state"] == "committed", f"{run}\n{logs}"
    assert run["planned"] > 0
    assert run["offered"] == run["planned"] == run["commit_offered"], run
    # the plan solved while the database was away was written when it came back, not lost
    # and solved again
    assert run["attempts"] == 1, run
    assert run["final_write_waited"] == (when == "writing"), run
    assert (fault.caps_exceeded, fault.double_assigned) == (0, 0), fault.invariant_problems
    # the worker logs as the API does: JSON lines (tracebacks inside them), nothing raw
    lines = [line for line in worker_log.splitlines() if line.strip()]
    assert lines and all(json.loads(line)["level"] for line in lines)
