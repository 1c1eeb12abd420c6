"""A request's category defaults come from memory for catalogue_cache_s after a read."""

from sqlalchemy import update

from service.catalogue import service as catalogue
from service.catalogue.models import ServiceCategory
from service.config import get_settings
from service.db import get_engine
from tests.service.conftest import headers, selects_from
from tests.service.requests.factory import make_category, make_request, request_body


def _file(client, world) -> tuple[dict, int]:
    """(the stored request, SELECTs on service_category) of one POST /v1/requests."""
    with selects_from("service_category") as reads:
        stored = make_request(client, world.a.dispatcher, request_body(world.a))
    return stored, len(reads)


def _change_elsewhere(code: str, minutes: int) -> None:
    """Change the category as another process would: a plain UPDATE this process never hears of."""
    with get_engine().begin() as connection:
        connection.execute(
            update(ServiceCategory)
            .where(ServiceCategory.code == code)
            .values(default_duration_min=minutes)
        )


def test_a_category_read_once_gives_the_next_requests_their_defaults(client, world):
    """The second request takes every default from memory, without reading the category."""
    make_category(client, world, default_duration_min=45)
    first, reads = _file(client, world)
    assert (first["duration_min"], reads) == (45, 1)
    second, reads = _file(client, world)
    assert (second["duration_min"], second["min_licence"], reads) == (45, "assistant", 0)
    assert second["required_qualifications"] == ["pharmacy"]
    assert [m["count"] for m in second["team"]] == [1, 2]


def test_a_category_changed_here_applies_to_the_next_request(client, world):
    """A change committed through this process empties the cache: deactivation refuses at once."""
    make_category(client, world, default_duration_min=45)
    _file(client, world)
    changed = client.patch(
        "/v1/service-categories/medicine",
        json={"default_duration_min": 50, "active": False},
        headers=headers(world.admin),
    )
    assert changed.status_code == 200, changed.text
    refused = client.post(
        "/v1/requests", json=request_body(world.a), headers=headers(world.a.dispatcher)
    )
    assert refused.status_code == 422
    assert "unknown category 'medicine'" in refused.text
    client.patch(
        "/v1/service-categories/medicine", json={"active": True}, headers=headers(world.admin)
    )
    assert _file(client, world)[0]["duration_min"] == 50


def test_a_category_changed_elsewhere_applies_once_catalogue_cache_s_passed(
    client, world, monkeypatch
):
    """Another process's change is seen when the remembered defaults' time runs out."""
    make_category(client, world, default_duration_min=45)
    _file(client, world)
    _change_elsewhere("medicine", 70)
    stored, reads = _file(client, world)
    assert (stored["duration_min"], reads) == (45, 0)  # still trusted, as documented
    later = catalogue._clock() + get_settings().catalogue_cache_s + 0.001
    monkeypatch.setattr(catalogue, "_clock", lambda: later)
    stored, reads = _file(client, world)
    assert (stored["duration_min"], reads) == (70, 1)


def test_with_catalogue_cache_s_zero_every_request_reads_its_category(client, world, monkeypatch):
    """catalogue_cache_s = 0 turns the cache off: a change anywhere applies at once."""
    monkeypatch.setenv("WUSHE_CATALOGUE_CACHE_S", "0")
    get_settings.cache_clear()
    try:
        make_category(client, world, default_duration_min=45)
        assert _file(client, world)[1] == 1
        _change_elsewhere("medicine", 70)
        stored, reads = _file(client, world)
        assert (stored["duration_min"], reads) == (70, 1)
    finally:
        monkeypatch.delenv("WUSHE_CATALOGUE_CACHE_S")
        get_settings.cache_clear()
