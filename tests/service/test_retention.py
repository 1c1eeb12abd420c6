"""wushe purge: personal data of long-closed work is cleared; statistics and open work stay."""

from datetime import timedelta

from sqlalchemy import func, select, update

from service.assignments.models import Assignment
from service.cli import main
from service.requests.models import ServiceRequest
from service.residents.models import Resident
from service.types import utcnow
from tests.service.conftest import headers
from tests.service.dispatch.helpers import setup_category, submit


def _resident(client, world, name: str) -> str:
    response = client.post(
        "/v1/residents",
        json={
            "community_id": world.a.community_id,
            "name": name,
            "phone": "13800000001",
            "address": "当湖街道1幢101",
            "notes": "独居",
            "tags": ["elderly"],
            "location": {"type": "Point", "coordinates": [121.03456, 30.71234]},
        },
        headers=headers(world.a.dispatcher),
    )
    return response.json()["id"]


def _age(session, model, ids, days: int) -> None:
    session.execute(
        update(model).where(model.id.in_(ids)).values(updated_at=utcnow() - timedelta(days=days))
    )
    session.commit()


def test_purge_clears_old_closed_work_and_keeps_the_rest(client, session, world, capsys):
    setup_category(client, world)
    old = _resident(client, world, "张桂英")
    active = _resident(client, world, "李建国")
    done = submit(client, world.a, resident_id=old, description="胰岛素")
    cancelled = client.post(
        f"/v1/requests/{done['id']}/cancel",
        json={"reason": "家属已代购"},
        headers=headers(world.a.dispatcher),
    )
    assert cancelled.status_code == 200, cancelled.text
    still_open = submit(client, world.a, resident_id=active, description="降压药")
    _age(session, ServiceRequest, [done["id"], still_open["id"]], 200)
    _age(session, Resident, [old, active], 200)
    total = session.scalar(select(func.count()).select_from(ServiceRequest))

    assert main(["purge", "--older-than-days", "180"]) == 0
    assert "purged 1 requests and 1 residents" in capsys.readouterr().out
    session.expire_all()
    gone = session.get(ServiceRequest, done["id"])
    assert (gone.description, gone.resident_id) == (None, None)
    assert (gone.lon, gone.lat) == (121.03, 30.71) and gone.category_code  # stats remain
    assert all(a.note is None for a in session.scalars(select(Assignment)))
    purged = session.get(Resident, old)
    assert (purged.phone, purged.address, purged.notes) == (None, None, None)
    assert purged.name != "张桂英" and purged.tags == ["elderly"]
    kept = session.get(ServiceRequest, still_open["id"])
    assert kept.description == "降压药" and kept.resident_id == active
    assert session.get(Resident, active).phone == "13800000001"
    assert session.scalar(select(func.count()).select_from(ServiceRequest)) == total
    # nothing more to do the second time
    assert main(["purge", "--older-than-days", "180"]) == 0
    assert "purged 0 requests and 0 residents" in capsys.readouterr().out


def test_purge_refuses_a_negative_period(database_url, capsys):
    assert main(["purge", "--older-than-days", "-1"]) == 2
    assert "0 or more" in capsys.readouterr().err
