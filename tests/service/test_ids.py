"""Row ids: time-ordered UUIDs that only grow within a process."""

import threading
import time
import uuid

from service import types
from service.types import new_id


def test_ids_grow_within_a_millisecond_and_across_threads():
    """Thousands of ids in a burst (most sharing a millisecond) come out strictly increasing,
    in string order as in byte order, and stay UUID version 7; threads drawing at once never
    get the same id."""
    burst = [new_id() for _ in range(20_000)]
    assert burst == sorted(burst) and len(set(burst)) == len(burst)
    millis = [int(i.replace("-", "")[:12], 16) for i in burst]
    assert len(set(millis)) < len(burst) / 4  # the burst did share milliseconds
    assert {uuid.UUID(i).version for i in burst} == {7}
    drawn: list[str] = []

    def draw() -> None:
        drawn.extend(new_id() for _ in range(5_000))

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(drawn)) == len(drawn) == 20_000


def test_a_full_counter_or_a_clock_step_back_still_gives_a_larger_id(monkeypatch):
    """When the millisecond's counter is spent, or the clock steps back, the next id carries
    the timestamp forward instead of going back."""
    first = new_id()
    now_ms = int(first.replace("-", "")[:12], 16)
    types._last_id[:] = [now_ms, 0xFFF]  # in place: the generator never moves back
    spent = new_id()
    assert spent > first and int(spent.replace("-", "")[:12], 16) == now_ms + 1
    monkeypatch.setattr(time, "time_ns", lambda: (now_ms - 5_000) * 1_000_000)
    assert new_id() > spent
