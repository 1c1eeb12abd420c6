"""Reading and re-planning assignments: scope per role, filters, paging and PATCH."""

from dataclasses import dataclass

import pytest

from service.auth.principal import Role
from tests.service.conftest import add_key, headers, table_counts
from tests.service.requests.factory import (
    make_category,
    make_request,
    make_responder,
    request_body,
)


@dataclass
class Board:
    """Two responders in community A, one offer each, plus one offer in community B."""

    in_grid: dict
    gridless: dict
    mine: dict
    theirs: dict
    other_community: dict
    my_key: str


def _assign(client, key: str, request: dict, responder: dict) -> dict:
    body = {"request_id": request["id"], "responder_id": responder["id"], "role": responder["kind"]}
    response = client.post("/v1/assignments", json=body, headers=headers(key))
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def board(client, world, session) -> Board:
    make_category(client, world)
    in_grid = make_request(
        client, world.a.dispatcher, request_body(world.a, grid_id=world.a.grid_id)
    )
    gridless = make_request(client, world.a.dispatcher, request_body(world.a))
    in_b = make_request(client, world.b.dispatcher, request_body(world.b))
    me = make_responder(client, world, [world.a.community_id])
    colleague = make_responder(client, world, [world.a.community_id])
    helper_b = make_responder(client, world, [world.b.community_id])
    key = add_key(session, Role.responder, responder_id=me["id"])
    session.commit()
    return Board(
        in_grid=in_grid,
        gridless=gridless,
        mine=_assign(client, world.a.dispatcher, in_grid, me),
        theirs=_assign(client, world.a.dispatcher, gridless, colleague),
        other_community=_assign(client, world.b.dispatcher, in_b, helper_b),
        my_key=key,
    )


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_dispatcher_lists_its_communitys_assignments(client, world, board):
    """Dispatcher A lists A's assignments only; the admin lists all."""
    assert _ids(client.get("/v1/assignments", headers=headers(world.a.dispatcher))) == [
        board.mine["id"],
        board.theirs["id"],
    ]
    assert len(_ids(client.get("/v1/assignments", headers=headers(world.admin)))) == 3


def test_other_community_is_not_found(client, world, board):
    """Dispatcher A asking for community B's assignment gets 404 problem+json."""
    response = client.get(
        f"/v1/assignments/{board.other_community['id']}", headers=headers(world.a.dispatcher)
    )
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_responder_sees_only_its_own(client, board):
    """A responder lists and reads its own assignment; a colleague's is 404."""
    me = headers(board.my_key)
    assert _ids(client.get("/v1/assignments", headers=me)) == [board.mine["id"]]
    assert client.get(f"/v1/assignments/{board.mine['id']}", headers=me).status_code == 200
    assert client.get(f"/v1/assignments/{board.theirs['id']}", headers=me).status_code == 404


def test_grid_app_sees_assignments_of_its_grids_requests(client, world, board):
    """A grid app sees the assignment on its grid's request, not the one on a gridless request."""
    app = headers(world.a.grid_app)
    assert _ids(client.get("/v1/assignments", headers=app)) == [board.mine["id"]]
    assert client.get(f"/v1/assignments/{board.theirs['id']}", headers=app).status_code == 404


def test_list_filters(client, world, board):
    """request_id, responder_id, state and community_id each narrow the list."""
    cases = {
        f"request_id={board.in_grid['id']}": [board.mine["id"]],
        f"responder_id={board.theirs['responder_id']}": [board.theirs["id"]],
        "state=offered": [board.mine["id"], board.theirs["id"], board.other_community["id"]],
        "state=accepted": [],
        f"community_id={world.b.community_id}": [board.other_community["id"]],
    }
    for query, expected in cases.items():
        assert (
            _ids(client.get(f"/v1/assignments?{query}", headers=headers(world.admin))) == expected
        ), query


def test_cursor_pages_through_everything_once(client, world, board):
    """limit=1 visits each visible assignment exactly once, in creation order."""
    seen, cursor = [], None
    while True:
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/assignments", params=params, headers=headers(world.admin)).json()
        assert len(page["items"]) <= 1
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [board.mine["id"], board.theirs["id"], board.other_community["id"]]


def test_dispatcher_replans_an_assignment(client, world, board):
    """planned_start, respond_by and note change; null clears them; the state stays."""
    url = f"/v1/assignments/{board.mine['id']}"
    change = {
        "planned_start": "2026-03-02T10:00:00+08:00",
        "respond_by": "2026-03-02T09:00:00Z",
        "note": "改到十点",
    }
    response = client.patch(url, json=change, headers=headers(world.a.dispatcher))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["planned_start"].startswith("2026-03-02T02:00:00") and body["note"] == "改到十点"
    assert body["state"] == "offered"
    cleared = client.patch(
        url, json={"note": None, "respond_by": None}, headers=headers(world.a.dispatcher)
    )
    assert cleared.json()["note"] is None and cleared.json()["respond_by"] is None
    assert cleared.json()["planned_start"] == body["planned_start"]


REFUSED = {
    "state is not editable": ({"state": "accepted"}, "state"),
    "responder is not editable": ({"responder_id": "x"}, "responder_id"),
    "naive datetime": ({"respond_by": "2026-03-02T09:00:00"}, "respond_by"),
}


@pytest.mark.parametrize("change, field", REFUSED.values(), ids=REFUSED.keys())
def test_bad_changes_are_refused(client, world, session, board, change, field):
    """Anything but the planning fields, or a time without offset, is 422 and changes nothing."""
    before = table_counts(session)
    response = client.patch(
        f"/v1/assignments/{board.mine['id']}", json=change, headers=headers(world.a.dispatcher)
    )
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]
    assert table_counts(session) == before


def test_other_community_patch_is_not_found(client, world, board):
    """Dispatcher B patching community A's assignment gets 404."""
    response = client.patch(
        f"/v1/assignments/{board.mine['id']}",
        json={"note": "x"},
        headers=headers(world.b.dispatcher),
    )
    assert response.status_code == 404


@pytest.mark.parametrize("who", ["grid_app", "responder"])
def test_only_dispatchers_patch(client, world, board, who):
    """Grid apps and the assigned responder itself get 403 on PATCH."""
    key = world.a.grid_app if who == "grid_app" else board.my_key
    response = client.patch(
        f"/v1/assignments/{board.mine['id']}", json={"note": "x"}, headers=headers(key)
    )
    assert response.status_code == 403
