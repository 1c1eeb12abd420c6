"""The fund ledger: append-only entries, balances derived from them, and no overdraft."""

import pytest

from service.funds.models import CharityFund
from service.funds.service import available_fen, eligible
from tests.service.conftest import headers, table_counts
from tests.service.funds.helpers import (
    FUNDS,
    assert_problem,
    create_fund,
    create_request,
    post_entry,
)


@pytest.fixture
def fund(client, world) -> dict:
    return create_fund(client, world.a.dispatcher, community_id=world.a.community_id)


def _balances(body: dict) -> tuple[int, int, int]:
    return body["balance_fen"], body["reserved_fen"], body["available_fen"]


def test_balances_follow_a_sequence_of_entries(client, world, fund):
    """balance = deposits − spends, reserved = reservations − releases, available = difference."""
    key = world.a.dispatcher
    steps = [
        ("deposit", 10_000, (10_000, 0, 10_000)),
        ("reservation", 3_000, (10_000, 3_000, 7_000)),
        ("deposit", 500, (10_500, 3_000, 7_500)),
        ("release", 3_000, (10_500, 0, 10_500)),
        ("spend", 2_800, (7_700, 0, 7_700)),
        ("reservation", 7_700, (7_700, 7_700, 0)),
    ]
    request_id = create_request(client, key, world.a.community_id, world.a.grid_id)
    for kind, amount, expected in steps:
        response = post_entry(client, key, fund["id"], kind, amount, request_id=request_id)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["entry"]["kind"] == kind and body["entry"]["amount_fen"] == amount
        assert _balances(body) == expected
    got = client.get(f"{FUNDS}/{fund['id']}", headers=headers(key)).json()
    assert _balances(got) == (7_700, 7_700, 0)


def test_deposit_records_donor_and_note(client, world, fund):
    """A deposit keeps who gave it and why."""
    response = post_entry(
        client,
        world.a.dispatcher,
        fund["id"],
        "deposit",
        20_000,
        donor="平湖某企业",
        note="年度捐赠",
    )
    assert response.status_code == 201
    entry = response.json()["entry"]
    assert (entry["donor"], entry["note"]) == ("平湖某企业", "年度捐赠")
    assert entry["fund_id"] == fund["id"]


@pytest.mark.parametrize("kind", ["spend", "reservation"])
def test_overdraw_is_refused(client, world, session, fund, kind):
    """A spend or reservation beyond what is available is 409 and writes nothing."""
    key = world.a.dispatcher
    assert post_entry(client, key, fund["id"], "deposit", 1_000).status_code == 201
    assert post_entry(client, key, fund["id"], "reservation", 600).status_code == 201
    before = table_counts(session)
    assert_problem(post_entry(client, key, fund["id"], kind, 401), 409)
    assert table_counts(session) == before
    assert post_entry(client, key, fund["id"], kind, 400).status_code == 201


def test_spend_of_reserved_money_needs_release_first(client, world, fund):
    """Reserved money is not available: release the reservation, then spend it."""
    key = world.a.dispatcher
    post_entry(client, key, fund["id"], "deposit", 500)
    post_entry(client, key, fund["id"], "reservation", 500)
    assert_problem(post_entry(client, key, fund["id"], "spend", 500), 409)
    assert post_entry(client, key, fund["id"], "release", 500).status_code == 201
    spent = post_entry(client, key, fund["id"], "spend", 500)
    assert spent.status_code == 201
    assert _balances(spent.json()) == (0, 0, 0)


def test_release_beyond_reserved_is_refused(client, world, session, fund):
    """Releasing more than is reserved is 409 and writes nothing."""
    key = world.a.dispatcher
    post_entry(client, key, fund["id"], "deposit", 1_000)
    post_entry(client, key, fund["id"], "reservation", 300)
    before = table_counts(session)
    assert_problem(post_entry(client, key, fund["id"], "release", 301), 409)
    assert table_counts(session) == before


def test_inactive_fund_takes_no_new_commitments(client, world, session, fund):
    """An inactive fund refuses reservations and spends (409) but still releases."""
    key = world.a.dispatcher
    post_entry(client, key, fund["id"], "deposit", 1_000)
    post_entry(client, key, fund["id"], "reservation", 300)
    patched = client.patch(f"{FUNDS}/{fund['id']}", json={"active": False}, headers=headers(key))
    assert patched.status_code == 200
    before = table_counts(session)
    assert_problem(post_entry(client, key, fund["id"], "reservation", 1), 409)
    assert_problem(post_entry(client, key, fund["id"], "spend", 1), 409)
    assert table_counts(session) == before
    assert post_entry(client, key, fund["id"], "release", 300).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "deposit", "amount_fen": 0}, "amount_fen"),
        ({"kind": "deposit", "amount_fen": -100}, "amount_fen"),
        ({"kind": "deposit", "amount_fen": 1.5}, "amount_fen"),
        ({"kind": "refund", "amount_fen": 100}, "kind"),
        ({"kind": "deposit"}, "amount_fen"),
        ({"kind": "deposit", "amount_fen": 100, "balance_fen": 5}, "balance_fen"),
        ({"kind": "spend", "amount_fen": 100, "donor": "某企业"}, "donor"),
    ],
)
def test_bad_entry_is_refused(client, world, session, fund, body, field):
    """Zero, negative or fractional amounts, unknown kinds or fields, donors off deposits: 422."""
    post_entry(client, world.a.dispatcher, fund["id"], "deposit", 10_000)
    before = table_counts(session)
    response = client.post(
        f"{FUNDS}/{fund['id']}/entries", json=body, headers=headers(world.a.dispatcher)
    )
    assert_problem(response, 422, field)
    assert table_counts(session) == before


def test_entry_on_unknown_fund_is_not_found(client, world, session):
    """Entries on a fund that does not exist are 404 and write nothing."""
    before = table_counts(session)
    assert_problem(post_entry(client, world.admin, "no-such-fund", "deposit", 100), 404)
    assert table_counts(session) == before


def test_ledger_has_no_update_or_delete(client, world, fund):
    """The ledger is append-only: PATCH and DELETE on entries do not exist."""
    entry = post_entry(client, world.a.dispatcher, fund["id"], "deposit", 100).json()["entry"]
    url = f"{FUNDS}/{fund['id']}/entries/{entry['id']}"
    h = headers(world.admin)
    assert client.patch(url, json={"amount_fen": 1}, headers=h).status_code in (404, 405)
    assert client.delete(url, headers=h).status_code in (404, 405)
    assert client.delete(f"{FUNDS}/{fund['id']}/entries", headers=h).status_code == 405


def test_entries_list_pages_and_filters(client, world, fund):
    """Entries list in creation order, page by cursor, and filter by kind and request."""
    key = world.a.dispatcher
    post_entry(client, key, fund["id"], "deposit", 1_000)
    request_ids = [
        create_request(client, key, world.a.community_id, world.a.grid_id) for _ in range(4)
    ]
    for request_id in request_ids:
        post_entry(client, key, fund["id"], "reservation", 100, request_id=request_id)
    url = f"{FUNDS}/{fund['id']}/entries"
    seen: list[int] = []
    params: dict[str, object] = {"limit": 2}
    while True:
        page = client.get(url, params=params, headers=headers(key)).json()
        seen += [e["amount_fen"] for e in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == [1_000, 100, 100, 100, 100]
    kinds = client.get(url, params={"kind": "deposit"}, headers=headers(key)).json()["items"]
    assert [e["kind"] for e in kinds] == ["deposit"]
    one = client.get(url, params={"request_id": request_ids[2]}, headers=headers(key)).json()[
        "items"
    ]
    assert [e["request_id"] for e in one] == [request_ids[2]]


def test_entry_for_unknown_request_is_422(client, world, fund, session):
    """A ledger entry naming a request the caller cannot see is refused, nothing written."""
    other = create_request(client, world.b.dispatcher, world.b.community_id, world.b.grid_id)
    before = table_counts(session)
    response = post_entry(client, world.a.dispatcher, fund["id"], "deposit", 100, request_id=other)
    assert response.status_code == 422
    assert table_counts(session) == before


def test_entries_are_audited_under_the_funds_community(client, world, session, fund):
    """Each entry leaves an audit record scoped to the fund's community."""
    from sqlalchemy import select

    from service.audit.models import AuditEntry

    entry = post_entry(client, world.a.dispatcher, fund["id"], "deposit", 100).json()["entry"]
    session.expire_all()
    audit = session.scalars(select(AuditEntry).where(AuditEntry.entity_id == entry["id"])).all()
    assert [(a.action, a.community_id) for a in audit] == [("create", world.a.community_id)]


def test_available_fen_helper(client, world, session, fund):
    """available_fen() gives the balance less reservations, for the dispatch work."""
    key = world.a.dispatcher
    post_entry(client, key, fund["id"], "deposit", 900)
    post_entry(client, key, fund["id"], "reservation", 250)
    session.expire_all()
    assert available_fen(session, fund["id"]) == 650


def _fund(**rules: object) -> CharityFund:
    values: dict[str, object] = {
        "community_id": "c1",
        "street_id": None,
        "eligible_categories": None,
        "eligible_tags": None,
        "active": True,
    }
    values.update(rules)
    return CharityFund(name="f", **values)


@pytest.mark.parametrize(
    ("rules", "category", "tags", "community", "street", "expected"),
    [
        ({}, "meal", [], "c1", "s1", True),
        ({}, "meal", [], "c2", "s1", False),
        ({"active": False}, "meal", [], "c1", "s1", False),
        ({"community_id": None, "street_id": "s1"}, "meal", [], "c9", "s1", True),
        ({"community_id": None, "street_id": "s1"}, "meal", [], "c1", "s2", False),
        ({"eligible_categories": ["meal"]}, "meal", [], "c1", "s1", True),
        ({"eligible_categories": ["meal"]}, "tutoring", [], "c1", "s1", False),
        ({"eligible_tags": ["elderly", "disabled"]}, "meal", ["disabled"], "c1", "s1", True),
        ({"eligible_tags": ["elderly"]}, "meal", ["child"], "c1", "s1", False),
        ({"eligible_tags": ["elderly"]}, "meal", [], "c1", "s1", False),
    ],
)
def test_eligible(rules, category, tags, community, street, expected):
    """eligible() checks active, owner place, category and ANY-of resident tags."""
    assert eligible(_fund(**rules), category, tags, community, street) is expected
