"""The helpers other domains use to resolve category codes named in a body."""

import pytest

from service.catalogue.models import ServiceCategory
from service.catalogue.service import require_categories, require_category
from service.errors import Unprocessable


def _add(session, code: str, active: bool = True) -> ServiceCategory:
    category = ServiceCategory(
        code=code, name_zh=code, name_en=code, default_duration_min=30, active=active
    )
    session.add(category)
    session.flush()
    return category


def _field_and_message(exc: Unprocessable) -> tuple[str, str]:
    assert exc.errors is not None
    return exc.errors[0].field, exc.errors[0].message


def test_require_category_returns_active_category(session):
    """An active code resolves to its row."""
    added = _add(session, "test_walk")
    assert require_category(session, "test_walk", "category_code") is added


@pytest.mark.parametrize("code", ["test_nothing", "test_retired"])
def test_require_category_refuses_unknown_and_inactive(session, code):
    """Unknown and inactive codes both raise a 422 on the caller's field."""
    _add(session, "test_retired", active=False)
    with pytest.raises(Unprocessable) as raised:
        require_category(session, code, "category_code")
    assert _field_and_message(raised.value) == ("category_code", f"unknown category {code!r}")


def test_require_categories_keeps_order_and_refuses_the_first_bad(session):
    """All codes resolve in the order given; one unknown code refuses the lot."""
    a, b = _add(session, "test_a"), _add(session, "test_b")
    assert require_categories(session, ["test_b", "test_a"], "codes") == [b, a]
    with pytest.raises(Unprocessable) as raised:
        require_categories(session, ["test_a", "test_zz"], "codes")
    assert _field_and_message(raised.value) == ("codes", "unknown category 'test_zz'")
