"""Printable route sheets (路线单): one page per responder, plain HTML with print CSS.

No script, no external asset (a command centre cut off from the internet prints them), every
value escaped. A routes plan lists the route's stops in order (pickups with their items,
deliveries with residents, gate handoffs); an assignment plan lists the responder's
assignments by start time. What a view shows of residents is decided by `exports.PlanView`.
"""

from datetime import datetime
from html import escape
from typing import Any

from service.dispatch.adapter import LOCAL
from service.runs.exports import PlanView

STOP_KINDS = {
    "pickup": "取货 Pickup",
    "deliver": "送达 Deliver",
    "gate_drop": "交接点放下 Gate drop",
    "gate_pickup": "交接点取货 Gate pickup",
}
COMMIT_NOTES = {
    "dropped": "提交时已不需要 No longer open at commit",
    "unplaced": "提交时未派出 Not offered at commit",
    "resolved": "提交时改派 Re-planned at commit",
}
CSS = """
body { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif;
       font-size: 10.5pt; color: #000; margin: 1.5em; }
h1 { font-size: 15pt; margin: 0 0 .3em; }
h2 { font-size: 12pt; margin: 1em 0 .3em; }
.meta { margin: 0 0 .8em; }
.note { font-size: 9pt; color: #333; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #555; padding: 3px 5px; text-align: left; vertical-align: top; }
th { background: #eee; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
.changed { text-decoration: line-through; }
.sheet + .sheet { margin-top: 3em; }
@page { size: A4; margin: 12mm; }
@media print {
  body { margin: 0; }
  .sheet { break-after: page; page-break-after: always; }
  .sheet:last-child { break-after: auto; page-break-after: auto; }
  .sheet + .sheet { margin-top: 0; }
  th { background: none; }
}
"""


def render(view: PlanView, responder_ids: list[str], *, unassigned: bool = False) -> str:
    """The sheets of ``responder_ids``, each its own printed page; with ``unassigned``, a
    last page listing the requests the plan leaves unassigned and why."""
    pages = [_sheet(view, j) for j in responder_ids]
    if unassigned and view.plan.get("unassigned"):
        pages.append(_unassigned(view))
    title = f"路线单 Route sheets · {view.run.id}"
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(pages)
        + "\n</body></html>\n"
    )


def _sheet(view: PlanView, responder_id: str) -> str:
    route = next((r for r in view.routes or [] if r["responder_id"] == responder_id), None)
    head = [
        f"<h1>路线单 Route sheet · {_e(view.responder_name(responder_id))}</h1>",
        f'<p class="meta">调度批次 Run {_e(view.run.id)} · {_e(view.run.state)}',
    ]
    if route is not None:
        head.append(
            f" · {_time(route.get('start'))}–{_time(route.get('end'))}"
            f" · {_km(route.get('distance_m'))} · {_e(route.get('duration_min'))} min"
        )
    head.append("</p>")
    body = _route_table(view, route) if route is not None else _assignment_table(view, responder_id)
    masked = not view.revealed
    foot = (
        '<p class="note">居民电话、地址已遮挡 Residents\' phones and addresses are masked.</p>'
        if masked
        else '<p class="note">含居民完整联系方式，请勿外传 Full contact details: do not share.</p>'
    )
    return f'<section class="sheet">{"".join(head)}{body}{foot}</section>'


def _route_table(view: PlanView, route: dict[str, Any]) -> str:
    rows = []
    for n, stop in enumerate(route["stops"], start=1):
        items = "<br>".join(f"{_item(view, k)} × {_e(v)}" for k, v in sorted(stop["items"].items()))
        place = _place(view, stop)
        rows.append(
            "<tr>"
            f"<td>{n}</td>"
            f"<td>{_time(stop.get('arrival'))}</td>"
            f"<td>{_clock(stop.get('start'))}–{_clock(stop.get('departure'))}</td>"
            f"<td>{_e(STOP_KINDS.get(stop['kind'], stop['kind']))}</td>"
            f"<td>{place + '<br>' if place else ''}"
            f'<span class="note">{_e(stop["lon"])}, {_e(stop["lat"])}</span></td>'
            f"<td>{items}</td>"
            f"<td>{_e(stop.get('load_after'))}</td>"
            f"<td>{_people(view, stop) if stop['kind'] == 'deliver' else _ids(view, stop)}</td>"
            "</tr>"
        )
    return _table(
        [
            "#",
            "到达 Arrive",
            "作业 Work",
            "类型 Stop",
            "地点 Place",
            "物品 Items",
            "载量 Load",
            "居民 / 需求 Residents / requests",
        ],
        rows,
    )


def _place(view: PlanView, stop: dict[str, Any]) -> str:
    """A pickup point's or a zone gate's name; a delivery's place is its residents' address."""
    if stop["kind"] == "deliver":
        return ""
    return _e(view.places.get(stop.get("place_id") or "", stop.get("place_id")))


def _item(view: PlanView, item: str) -> str:
    """Items are service category codes (what a pickup point stocks): shown by name."""
    category = view.categories.get(item)
    return _e(category.name_zh if category is not None else item)


def _people(view: PlanView, stop: dict[str, Any]) -> str:
    lines = []
    for rid in stop["request_ids"]:
        c = view.contact(rid)
        who = " · ".join(_e(v) for v in (c["name"], c["address"], c["phone"]) if v)
        lines.append(f"{who or '—'}{_request_note(view, rid)}")
    return "<br>".join(lines)


def _ids(view: PlanView, stop: dict[str, Any]) -> str:
    return "<br>".join(f"{_short(rid)}{_request_note(view, rid)}" for rid in stop["request_ids"])


def _assignment_table(view: PlanView, responder_id: str) -> str:
    mine = [a for a in view.plan.get("assignments", []) if responder_id in a["responder_ids"]]
    mine.sort(key=lambda a: (a.get("start") is None, a.get("start") or 0, a["request_id"]))
    rows = []
    for n, a in enumerate(mine, start=1):
        k = a["responder_ids"].index(responder_id)
        request = view.requests.get(a["request_id"])
        category = view.categories.get(request.category_code) if request else None
        c = view.contact(a["request_id"])
        team = [view.responder_name(j) for j in a["responder_ids"] if j != responder_id]
        start = view.start_of(a)
        rows.append(
            "<tr>"
            f"<td>{n}</td>"
            f"<td>{_time(start)}</td>"
            f"<td>{_e(_nth(a.get('travel_minutes'), k))} min · {_km(_nth(a.get('distance_m'), k))}"
            "</td>"
            f"<td>{_e(category.name_zh if category else None)}"
            f"<br>{_e(request.urgency if request else None)}"
            f"{_e(f' · {request.duration_min} min') if request else ''}</td>"
            f"<td>{' · '.join(_e(v) for v in (c['name'], c['address'], c['phone']) if v) or '—'}"
            f"</td>"
            f"<td>{_e(', '.join(team)) or '—'}</td>"
            f"<td>{_short(a['request_id'])}{_request_note(view, a['request_id'])}</td>"
            "</tr>"
        )
    return _table(
        [
            "#",
            "开始 Start",
            "路程 Travel",
            "服务 Service",
            "居民 Resident",
            "同组 Team",
            "需求 Request",
        ],
        rows,
    )


def _unassigned(view: PlanView) -> str:
    rows = [
        f"<tr><td>{_short(u['request_id'])}</td><td>{_e(u.get('reason'))}</td>"
        f"<td>{_e(u.get('message'))}</td><td>{_e(u.get('remedy'))}</td></tr>"
        for u in view.plan["unassigned"]
    ]
    table = _table(["需求 Request", "原因 Reason", "说明 Message", "办法 Remedy"], rows)
    return f'<section class="sheet"><h1>未分配 Unassigned requests</h1>{table}</section>'


def _request_note(view: PlanView, request_id: str) -> str:
    change = view.changes.get(request_id)
    if change is None:
        return ""
    return f'<br><span class="note">{_e(COMMIT_NOTES[change["what"]])}: {_e(change["why"])}</span>'


def _table(header: list[str], rows: list[str]) -> str:
    if not rows:
        return "<p>无 None.</p>"
    ths = "".join(f"<th>{_e(h)}</th>" for h in header)
    return f"<table><thead><tr>{ths}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _time(value: datetime | str | None) -> str:
    """Local month-day and HH:MM: a run's plan may span midnight."""
    if value is None:
        return "—"
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return escape(at.astimezone(LOCAL).strftime("%m-%d %H:%M"))


def _clock(value: str | None) -> str:
    return _time(value)[-5:] if value else "—"


def _nth(values: list[Any] | None, k: int) -> Any:
    return values[k] if values and k < len(values) else None


def _km(metres: Any) -> str:
    return "—" if metres is None else f"{metres / 1000:.1f} km"


def _short(request_id: str) -> str:
    # Ids are UUIDv7: the head is a timestamp shared by requests filed together, the tail is
    # random, so the tail tells them apart on paper.
    return f'<span title="{_e(request_id)}">…{_e(request_id[-8:])}</span>'


def _e(value: Any) -> str:
    return "" if value is None else escape(str(value))
