"""The service menu the seeds describe; the initial migration inserts these rows.

Plain dicts (not ORM rows) so a migration can insert them without importing the models,
which will have moved on by the time an old migration runs.
"""

from typing import Any


def _category(
    code: str,
    name_zh: str,
    name_en: str,
    minutes: int,
    *,
    qualifications: tuple[str, ...] = (),
    min_licence: str = "none",
    team: tuple[tuple[str, int], ...] = (),
    needs_fund: bool = False,
) -> dict[str, Any]:
    return {
        "code": code,
        "name_zh": name_zh,
        "name_en": name_en,
        "default_duration_min": minutes,
        "required_qualifications": list(qualifications),
        "min_licence": min_licence,
        "default_team": [{"role": role, "count": count} for role, count in team],
        "needs_fund": needs_fund,
        "active": True,
    }


DEFAULT_CATEGORIES: list[dict[str, Any]] = [
    _category("medicine_delivery", "配药送药", "Medicine purchase and delivery", 45),
    _category("elder_care_visit", "独居老人探访", "Visit to an elder living alone", 60),
    _category("child_care", "儿童看护", "Child care", 120),
    _category("tutoring", "课业辅导", "Homework tutoring", 90),
    _category("disability_support", "助残服务", "Disability support", 90),
    _category(
        "counselling",
        "心理疏导",
        "Psychological counselling",
        60,
        qualifications=("counselling",),
        min_licence="assistant",
    ),
    # The "1+2+N" team: one community staff member, two social workers, volunteers.
    _category(
        "dispute_mediation",
        "矛盾纠纷调解",
        "Dispute mediation",
        120,
        team=(("community_staff", 1), ("social_worker", 2), ("volunteer", 2)),
    ),
    _category("meal_delivery", "助餐送餐", "Meal delivery", 30),
    _category("hospital_escort", "就医陪护", "Escort to hospital", 180),
    # 微心愿: a small item (a desk for a child) paid by a charity fund.
    _category("micro_wish", "微心愿", "Micro-wish", 60, needs_fund=True),
    _category("hardship_support", "困难家庭帮扶", "Support for a family in hardship", 90),
]
