"""Concurrent spends on PostgreSQL: the fund's row lock keeps the ledger from overdrawing."""

import threading

import pytest

from service.db import get_sessionmaker
from service.errors import Conflict
from service.funds import service as funds
from service.funds.models import CharityFund
from service.funds.schemas import EntryKind
from tests.conftest import BACKEND

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(BACKEND != "postgresql", reason="row locks need PostgreSQL"),
]

THREADS = 20
SPEND = 100
DEPOSIT = 1_000  # room for exactly ten spends


def _spend(fund_id: str, start: threading.Barrier, outcomes: list[str]) -> None:
    # One session per thread, committed like a request's transaction.
    with get_sessionmaker()() as session:
        start.wait()
        try:
            funds.post_entry(session, fund_id, EntryKind.spend, SPEND, note="concurrent")
            session.commit()
            outcomes.append("spent")
        except Conflict:
            session.rollback()
            outcomes.append("refused")


def test_concurrent_spends_never_overdraw(world, session):
    """N simultaneous spends against a fund with room for N/2: exactly N/2 succeed, balance 0."""
    fund = CharityFund(name="并发测试基金", community_id=world.a.community_id)
    session.add(fund)
    session.commit()
    funds.post_entry(session, fund.id, EntryKind.deposit, DEPOSIT)
    session.commit()

    start = threading.Barrier(THREADS)
    outcomes: list[str] = []
    threads = [
        threading.Thread(target=_spend, args=(fund.id, start, outcomes)) for _ in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(outcomes) == THREADS
    assert outcomes.count("spent") == DEPOSIT // SPEND
    session.expire_all()
    ledger = funds.ledger(session, fund.id)
    assert (ledger.balance_fen, ledger.available_fen) == (0, 0)
