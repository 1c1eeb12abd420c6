"""Charity fund endpoints: ownership, eligibility rules, scope and roles."""

import pytest

from service.auth.principal import Role
from tests.service.conftest import add_key, headers, table_counts
from tests.service.funds.helpers import (
    FUNDS,
    add_category,
    add_community,
    assert_problem,
    create_fund,
    post_entry,
)


def test_dispatcher_creates_community_fund(client, world, session):
    """A dispatcher creates a fund for its community; balances start at zero."""
    add_category(session, "test_wish")
    fund = create_fund(
        client,
        world.a.dispatcher,
        community_id=world.a.community_id,
        eligible_categories=["test_wish"],
        eligible_tags=["child", "low_income"],
        description="微心愿专项",
    )
    assert fund["community_id"] == world.a.community_id
    assert fund["street_id"] is None
    assert fund["eligible_categories"] == ["test_wish"]
    assert fund["eligible_tags"] == ["child", "low_income"]
    assert fund["active"] is True
    assert (fund["balance_fen"], fund["reserved_fen"], fund["available_fen"]) == (0, 0, 0)


def test_null_eligibility_means_any(client, world):
    """Omitted eligibility lists are stored as null (any category, any resident)."""
    fund = create_fund(client, world.admin, street_id=world.a.street_id)
    assert fund["eligible_categories"] is None
    assert fund["eligible_tags"] is None


def test_get_shows_balances(client, world):
    """GET returns the fund with balances derived from its ledger."""
    fund = create_fund(client, world.a.dispatcher, community_id=world.a.community_id)
    assert post_entry(client, world.a.dispatcher, fund["id"], "deposit", 5000).status_code == 201
    response = client.get(f"{FUNDS}/{fund['id']}", headers=headers(world.a.dispatcher))
    assert response.status_code == 200
    assert response.json()["balance_fen"] == 5000
    assert response.json()["available_fen"] == 5000


def test_update_changes_rules_and_clears_with_null(client, world, session):
    """PATCH changes the fields sent; null on an eligibility list means any again."""
    add_category(session, "test_wish")
    fund = create_fund(
        client, world.a.dispatcher, community_id=world.a.community_id, eligible_tags=["elderly"]
    )
    response = client.patch(
        f"{FUNDS}/{fund['id']}",
        json={
            "name": "改名",
            "eligible_tags": None,
            "eligible_categories": ["test_wish"],
            "active": False,
        },
        headers=headers(world.a.dispatcher),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["eligible_tags"], body["active"]) == ("改名", None, False)
    assert body["eligible_categories"] == ["test_wish"]


@pytest.mark.parametrize(
    "owner",
    [{}, {"community_id": "A", "street_id": "S"}],
    ids=["neither", "both"],
)
def test_fund_needs_exactly_one_owner(client, world, session, owner):
    """A fund with no owner, or with both a community and a street, is 422."""
    if owner:
        owner = {"community_id": world.a.community_id, "street_id": world.a.street_id}
    before = table_counts(session)
    response = client.post(FUNDS, json={"name": "x", **owner}, headers=headers(world.admin))
    assert_problem(response, 422)
    assert response.json()["errors"][0]["field"] in ("community_id", "street_id")
    assert table_counts(session) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"eligible_categories": ["test_nothing"]}, "eligible_categories"),
        ({"eligible_categories": ["test_retired"]}, "eligible_categories"),
        ({"eligible_categories": []}, "eligible_categories"),
        ({"eligible_tags": ["Not A Tag"]}, "eligible_tags.0"),
        ({"eligible_tags": ["elderly", "elderly"]}, "eligible_tags"),
        ({"balance_fen": 100}, "balance_fen"),
        ({"name": None}, "name"),
        ({"community_id": "no-such-community"}, "community_id"),
    ],
)
def test_bad_fund_input_is_refused(client, world, session, body, field):
    """Unknown or retired categories, unknown fields and bad owners are 422, nothing written."""
    add_category(session, "test_retired", active=False)
    payload = {"name": "x", "community_id": world.a.community_id, **body}
    before = table_counts(session)
    response = client.post(FUNDS, json=payload, headers=headers(world.admin))
    assert_problem(response, 422, field)
    assert table_counts(session) == before


def test_unknown_category_on_update_is_refused(client, world, session):
    """PATCH with an unknown category code is 422 and leaves the fund as it was."""
    fund = create_fund(client, world.a.dispatcher, community_id=world.a.community_id)
    before = table_counts(session)
    response = client.patch(
        f"{FUNDS}/{fund['id']}",
        json={"eligible_categories": ["test_nothing"]},
        headers=headers(world.a.dispatcher),
    )
    assert_problem(response, 422, "eligible_categories")
    assert table_counts(session) == before


@pytest.mark.parametrize("patch", [{"community_id": "x"}, {"active": None}, {"name": None}])
def test_bad_update_is_refused(client, world, session, patch):
    """The owner cannot move, and required fields refuse an explicit null (422)."""
    fund = create_fund(client, world.a.dispatcher, community_id=world.a.community_id)
    before = table_counts(session)
    response = client.patch(
        f"{FUNDS}/{fund['id']}", json=patch, headers=headers(world.a.dispatcher)
    )
    assert_problem(response, 422, next(iter(patch)))
    assert table_counts(session) == before


def test_other_community_fund_is_not_found(client, world, session):
    """B's dispatcher gets 404 on A's fund (get, patch, entries) and does not list it."""
    fund = create_fund(client, world.a.dispatcher, community_id=world.a.community_id)
    b = headers(world.b.dispatcher)
    url = f"{FUNDS}/{fund['id']}"
    before = table_counts(session)
    assert_problem(client.get(url, headers=b), 404)
    assert_problem(client.patch(url, json={"name": "x"}, headers=b), 404)
    assert_problem(post_entry(client, world.b.dispatcher, fund["id"], "deposit", 1), 404)
    assert_problem(client.get(f"{url}/entries", headers=b), 404)
    assert client.get(FUNDS, headers=b).json()["items"] == []
    assert table_counts(session) == before


def test_dispatcher_cannot_own_invisible_community(client, world, session):
    """A's dispatcher naming B's community as owner is 422 (unknown community)."""
    before = table_counts(session)
    response = client.post(
        FUNDS,
        json={"name": "x", "community_id": world.b.community_id},
        headers=headers(world.a.dispatcher),
    )
    assert_problem(response, 422, "community_id")
    assert table_counts(session) == before


def test_street_fund_visible_to_every_community_of_the_street(client, world, session):
    """A street fund is seen by dispatchers of any community in that street, not others."""
    sibling = add_community(session, world.a.street_id, "C1b")
    sibling_key = add_key(session, Role.dispatcher, community_ids=[sibling])
    session.commit()
    fund = create_fund(client, world.admin, street_id=world.a.street_id)
    for key in (world.a.dispatcher, sibling_key):
        assert client.get(f"{FUNDS}/{fund['id']}", headers=headers(key)).status_code == 200
        listed = client.get(FUNDS, headers=headers(key)).json()["items"]
        assert [f["id"] for f in listed] == [fund["id"]]
    assert_problem(client.get(f"{FUNDS}/{fund['id']}", headers=headers(world.b.dispatcher)), 404)
    assert client.get(FUNDS, headers=headers(world.b.dispatcher)).json()["items"] == []


def test_community_dispatcher_draws_on_but_cannot_manage_street_fund(client, world, session):
    """One community's dispatcher may add entries to its street's fund but not create or
    change one: that needs a street-wide key."""
    sibling = add_community(session, world.a.street_id, "C1b")
    street_key = add_key(session, Role.dispatcher, street_id=world.a.street_id)
    session.commit()
    fund = create_fund(client, street_key, street_id=world.a.street_id)
    assert post_entry(client, world.a.dispatcher, fund["id"], "deposit", 100).status_code == 201
    before = table_counts(session)
    refused = client.patch(
        f"{FUNDS}/{fund['id']}", json={"name": "x"}, headers=headers(world.a.dispatcher)
    )
    assert_problem(refused, 403)
    created = client.post(
        FUNDS,
        json={"name": "x", "street_id": world.a.street_id},
        headers=headers(world.a.dispatcher),
    )
    assert_problem(created, 403)
    assert table_counts(session) == before
    assert sibling


def test_unknown_street_is_refused(client, world, session):
    """A street nobody created, or one the caller cannot see, is 422 on street_id."""
    before = table_counts(session)
    for street_id in ("no-such-street", world.b.street_id):
        response = client.post(
            FUNDS,
            json={"name": "x", "street_id": street_id},
            headers=headers(world.a.dispatcher),
        )
        assert_problem(response, 422, "street_id")
    assert table_counts(session) == before


@pytest.mark.parametrize("role", ["grid_app", "responder"])
def test_weaker_roles_are_forbidden(client, world, session, role):
    """Grid apps and responders get 403 on every fund endpoint and write nothing."""
    fund = create_fund(client, world.a.dispatcher, community_id=world.a.community_id)
    key = world.a.grid_app if role == "grid_app" else add_key(session, Role.responder)
    session.commit()
    h = headers(key)
    url = f"{FUNDS}/{fund['id']}"
    before = table_counts(session)
    assert_problem(
        client.post(FUNDS, json={"name": "x", "community_id": world.a.community_id}, headers=h), 403
    )
    assert_problem(client.get(FUNDS, headers=h), 403)
    assert_problem(client.get(url, headers=h), 403)
    assert_problem(client.patch(url, json={"name": "x"}, headers=h), 403)
    assert_problem(post_entry(client, key, fund["id"], "deposit", 100), 403)
    assert_problem(client.get(f"{url}/entries", headers=h), 403)
    assert table_counts(session) == before


def test_list_filters(client, world, session):
    """community_id, street_id, category (null = any) and active narrow the list."""
    add_category(session, "test_wish")
    add_category(session, "test_meal")
    own = create_fund(
        client, world.admin, community_id=world.a.community_id, eligible_categories=["test_wish"]
    )
    street = create_fund(client, world.admin, street_id=world.a.street_id)
    other = create_fund(
        client,
        world.admin,
        community_id=world.b.community_id,
        eligible_categories=["test_meal"],
        active=False,
    )

    def ids(**params: object) -> set[str]:
        page = client.get(FUNDS, params=params, headers=headers(world.admin))
        assert page.status_code == 200
        return {f["id"] for f in page.json()["items"]}

    assert ids() == {own["id"], street["id"], other["id"]}
    assert ids(community_id=world.a.community_id) == {own["id"]}
    assert ids(street_id=world.a.street_id) == {street["id"]}
    assert ids(category="test_wish") == {own["id"], street["id"]}
    assert ids(category="test_meal") == {street["id"], other["id"]}
    # "_" is a LIKE wildcard: test_wisx must not match test_wish.
    assert ids(category="test_wisx") == {street["id"]}
    assert ids(active=False) == {other["id"]}


def test_list_pages_with_cursor(client, world):
    """Following next_cursor visits every fund exactly once."""
    made = {
        create_fund(client, world.admin, community_id=world.a.community_id)["id"] for _ in range(5)
    }
    seen: list[str] = []
    params: dict[str, object] = {"limit": 2}
    while True:
        page = client.get(FUNDS, params=params, headers=headers(world.admin)).json()
        assert len(page["items"]) <= 2
        seen += [f["id"] for f in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == sorted(made)
