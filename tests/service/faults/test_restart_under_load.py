"""The database crashes and comes back while grid apps are submitting needs
(bench/fault_bench.py, scenario *load*, runs the real API process against a PostgreSQL server
of the test's own)."""

from bench.fault_bench import load_fault


def test_a_database_crash_during_live_matching_loses_no_accepted_need(private_pg, tmp_path):
    fault = load_fault(private_pg, tmp_path)
    logs = (tmp_path / "load-server.log").read_text(errors="replace")[-3000:]

    assert fault.process_alive, f"the API process died with the database:\n{logs}"
    # while the database was gone the service said so, and came back by itself
    assert fault.ready_while_down and 200 not in fault.ready_while_down, fault.ready_while_down
    assert fault.ready_after_s is not None, "not ready again after the database came back"
    # the crash showed: attempts were refused, each with a 503 and a Retry-After ...
    assert fault.statuses["503"] > 0, fault.statuses
    assert fault.retry_after_missing == 0
    # ... never with a server error, and every need was accepted in the end
    assert fault.server_errors == 0, f"{fault.statuses}\n{logs}"
    assert fault.gave_up == []
    assert len(fault.accepted) == fault.sent
    # every accepted need is stored once, nothing else was written, no invariant broke
    assert (fault.lost, fault.duplicated, fault.unexpected) == (0, 0, 0)
    assert fault.stored == fault.sent
    assert (fault.caps_exceeded, fault.double_assigned) == (0, 0), fault.invariant_problems
