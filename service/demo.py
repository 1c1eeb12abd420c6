"""A demo community around Pinghu's Donghu community: enough to try every endpoint.

Loaded by ``wushe demo`` and ``wushe serve --demo``; idempotent (keyed on the community code).
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.catalogue.models import ServiceCategory
from service.funds.models import CharityFund, FundEntry
from service.pickups.models import PickupPoint
from service.places.models import Community, District, Grid, Street
from service.requests.models import ServiceRequest
from service.residents.models import Resident
from service.responders.models import Responder, ResponderCommunity

DEMO_COMMUNITY_CODE = "330482001001"
SHANGHAI = ZoneInfo("Asia/Shanghai")
CENTRE = (121.0150, 30.6980)

RESIDENTS = [
    ("张桂英", ["elderly", "lives_alone"], (0.002, 0.001), 0),
    ("李建国", ["elderly", "chronic_illness"], (-0.003, 0.002), 0),
    ("王小明", ["child"], (0.004, -0.002), 1),
    ("陈秀兰", ["elderly", "disabled", "lives_alone"], (-0.001, -0.004), 1),
    ("刘强", ["low_income"], (0.006, 0.003), 2),
    ("赵美华", ["chronic_illness"], (-0.005, -0.001), 2),
]

RESPONDERS = [
    # name, kind, offset, extra fields
    (
        "周敏",
        "social_worker",
        (0.001, 0.000),
        {
            "licence_level": "senior",
            "is_supervisor": True,
            "qualifications": ["counselling", "mediation"],
        },
    ),
    (
        "吴磊",
        "social_worker",
        (-0.002, 0.001),
        {"licence_level": "assistant", "qualifications": ["counselling"]},
    ),
    (
        "孙丽",
        "volunteer",
        (0.003, 0.002),
        {
            "volunteer_groups": ["daily_care"],
            "is_party_member": True,
            "qualifications": ["medicine"],
        },
    ),
    (
        "郑浩",
        "volunteer",
        (-0.004, -0.002),
        {
            "volunteer_groups": ["emergency_team"],
            "qualifications": ["medicine"],
            "load_capacity": 20,
        },
    ),
    (
        "冯洁",
        "volunteer",
        (0.002, -0.003),
        {"volunteer_groups": ["daily_care", "emergency_team"], "qualifications": ["tutoring"]},
    ),
    ("何军", "community_staff", (0.000, 0.001), {"qualifications": ["mediation"]}),
    (
        # On night duty, so a newcomer trying the demo in the evening still sees an offer.
        "林晓夜",
        "volunteer",
        (0.001, -0.001),
        {"volunteer_groups": ["daily_care"], "qualifications": ["medicine"], "night": True},
    ),
    (
        "东湖颐养中心",
        "organization",
        (0.005, 0.000),
        {
            "registered_name": "平湖市东湖颐养服务中心",
            "service_categories": ["elder_care_visit", "meal_delivery"],
            "slots_per_day": 10,
        },
    ),
]

PICKUP_POINTS = [
    # name, offset, hours, stock (boxes per service category): where routes runs collect
    ("东湖大药房", (0.001, 0.002), ("08:00", "21:00"), {"medicine_delivery": 60}),
    (
        "平湖市第一人民医院门诊药房",
        (-0.006, 0.004),
        ("08:00", "17:00"),
        {"medicine_delivery": 40, "meal_delivery": 0},
    ),
]

WEEKDAY_SHIFTS = [{"weekday": d, "start": "08:00", "end": "18:00"} for d in range(7)]
NIGHT_SHIFTS = [
    {"weekday": d, "start": start, "end": end}
    for d in range(7)
    for start, end in (("00:00", "08:00"), ("18:00", "24:00"))
]


def _place(session: Session) -> tuple[Community, list[Grid]]:
    district = District(code="330482", name="平湖市", lon=121.02, lat=30.70)
    session.add(district)
    session.flush()
    street = Street(
        district_id=district.id, code="330482001", name="当湖街道", lon=121.02, lat=30.70
    )
    session.add(street)
    session.flush()
    community = Community(
        street_id=street.id,
        code=DEMO_COMMUNITY_CODE,
        name="东湖社区",
        lon=CENTRE[0],
        lat=CENTRE[1],
        auto_dispatch=True,
    )
    session.add(community)
    session.flush()
    grids = [
        Grid(
            community_id=community.id,
            code=f"{DEMO_COMMUNITY_CODE}-G{n}",
            name=f"第{n}网格",
            lon=CENTRE[0] + 0.003 * (n - 2),
            lat=CENTRE[1],
        )
        for n in (1, 2, 3)
    ]
    session.add_all(grids)
    session.flush()
    return community, grids


def _at(day: datetime, hour: int) -> datetime:
    return datetime.combine(day.date(), time(hour), SHANGHAI)


def load_demo(session: Session) -> bool:
    """Load the demo community unless it is already there; True if it was loaded now."""
    if session.scalar(select(Community.id).where(Community.code == DEMO_COMMUNITY_CODE)):
        return False
    community, grids = _place(session)
    residents = [
        Resident(
            community_id=community.id,
            grid_id=grids[g].id,
            name=name,
            phone=f"1380000{n:04d}",
            address=f"东湖小区{n + 1}幢{101 + n}室",
            tags=tags,
            lon=CENTRE[0] + dx,
            lat=CENTRE[1] + dy,
        )
        for n, (name, tags, (dx, dy), g) in enumerate(RESIDENTS)
    ]
    session.add_all(residents)
    for n, (name, kind, (dx, dy), fields) in enumerate(RESPONDERS):
        extra = dict(fields)  # popped below: the module's table must stay whole for a reload
        responder = Responder(
            kind=kind,
            name=name,
            phone=f"1390000{n:04d}",
            lon=CENTRE[0] + dx,
            lat=CENTRE[1] + dy,
            radius_m=5000,
            travel_mode="ebike",
            speed_kmh=18.0,
            weekly_shifts=NIGHT_SHIFTS if extra.pop("night", False) else WEEKDAY_SHIFTS,
            max_tasks_per_day=6,
            max_minutes_per_day=360,
            load_capacity=extra.pop("load_capacity", 10),
            **extra,
        )
        session.add(responder)
        session.flush()
        session.add(ResponderCommunity(responder_id=responder.id, community_id=community.id))
    fund = CharityFund(
        name="东湖社区慈善基金",
        community_id=community.id,
        eligible_categories=["micro_wish", "medicine_delivery"],
        eligible_tags=None,
    )
    session.add(fund)
    session.flush()
    session.add(
        FundEntry(
            fund_id=fund.id,
            fund=fund,
            kind="deposit",
            amount_fen=500_000,
            donor="平湖慈善总会",
            note="年度拨款",
        )
    )
    session.add_all(
        PickupPoint(
            community_id=community.id,
            name=name,
            lon=CENTRE[0] + dx,
            lat=CENTRE[1] + dy,
            opens_at=opens,
            closes_at=closes,
            stock=stock,
        )
        for name, (dx, dy), (opens, closes), stock in PICKUP_POINTS
    )
    _requests(session, community, grids, residents)
    session.flush()
    return True


def _requests(
    session: Session, community: Community, grids: list[Grid], residents: list[Resident]
) -> None:
    categories = {c.code: c for c in session.scalars(select(ServiceCategory))}
    today = datetime.now(SHANGHAI)
    wanted = [
        (0, "medicine_delivery", "urgent", 2, 0, 9, 12),
        (1, "elder_care_visit", "normal", 0, 0, 14, 17),
        (2, "tutoring", "normal", 0, 0, 15, 18),
        (3, "elder_care_visit", "urgent", 0, 0, 9, 11),
        (4, "micro_wish", "normal", 1, 12_000, 10, 17),
    ]
    day = today + timedelta(days=1)
    for n, (who, code, urgency, quantity, cost, start, end) in enumerate(wanted):
        category = categories.get(code)
        if category is None:
            continue
        resident = residents[who]
        session.add(
            ServiceRequest(
                community_id=community.id,
                grid_id=resident.grid_id,
                resident_id=resident.id,
                category_code=code,
                lon=resident.lon,
                lat=resident.lat,
                window_start=_at(day, start),
                window_end=_at(day, end),
                urgency=urgency,
                duration_min=category.default_duration_min,
                quantity=quantity,
                cost_fen=cost,
                required_qualifications=list(category.required_qualifications),
                min_licence=category.min_licence,
                team=list(category.default_team),
                source="console",
                external_id=f"demo-{n + 1}",
                state="submitted",
            )
        )
