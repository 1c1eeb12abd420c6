"""Writes an audit entry for every insert, update and delete, in the same transaction.

Hooked on the session so no code path can change an audited row without leaving a trace.
The actor is whoever the request authenticated as (``session.info["actor"]``), or the
system (CLI, background jobs).
"""

from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session

from service.audit.models import AuditEntry
from service.models_base import Entity
from service.types import new_id, utcnow

MASK = "***"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


@cache
def _column_keys(cls: type) -> tuple[str, ...]:
    return tuple(attr.key for attr in inspect(cls).column_attrs)


def _columns(obj: Entity) -> tuple[str, ...]:
    return _column_keys(type(obj))


def _value(obj: Entity, key: str, value: Any) -> Any:
    return MASK if key in obj.audit_masked and value is not None else _plain(value)


def _snapshot(obj: Entity) -> dict[str, Any]:
    return {k: _value(obj, k, getattr(obj, k)) for k in _columns(obj)}


def _changes(obj: Entity) -> tuple[dict[str, Any], dict[str, Any]]:
    state = inspect(obj)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    # Only attributes set since the last flush keep their old value in committed_state; the
    # others have no history to read (a request's move to offered changes 2 of 28 columns).
    touched = state.committed_state
    for key in _columns(obj):
        if key == "updated_at" or key not in touched:
            continue
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        before[key] = _value(obj, key, old)
        after[key] = _value(obj, key, new)
    return before, after


def _actor(session: Session) -> tuple[str | None, str]:
    actor = session.info.get("actor")
    if actor is None:
        return None, "system"
    return actor.key_id, actor.role


def _row(
    session: Session, obj: Entity, action: str, before: Any, after: Any, *, named: bool = True
) -> dict[str, Any]:
    key_id, role = _actor(session)
    if named:
        # A domain verb names only the next entry about this row (see name_action).
        action = session.info.get("audit_action", {}).pop(obj.id, action)
    return {
        "id": new_id(),
        "at": utcnow(),
        "actor_key_id": key_id,
        "actor_role": role,
        "entity_type": type(obj).__tablename__,  # type: ignore[attr-defined]
        "entity_id": obj.id,
        "action": action,
        "community_id": obj.audit_scope(),
        "before": before,
        "after": after,
    }


def _created_then_changed(
    session: Session, obj: Entity, first: dict[str, Any]
) -> list[dict[str, Any]]:
    """The entries of a row inserted after changes to it (see ``created``): its creation as it
    was first, then what changed since, as one update under the row's domain verb, if any.
    Values the row was created without (None then, such as defaults filled by the insert)
    are part of the creation."""
    now = _snapshot(obj)
    changed = [k for k, v in first.items() if v is not None and v != now[k] and k != "updated_at"]
    rows = [
        _row(session, obj, "create", None, {**now, **{k: first[k] for k in changed}}, named=False)
    ]
    if changed:
        before = {k: first[k] for k in changed}
        rows.append(_row(session, obj, "update", before, {k: now[k] for k in changed}))
    return rows


def _collect(session: Session) -> list[dict[str, Any]]:
    rows = []
    created = session.info.get("audit_created", {})
    for obj in session.new:
        if isinstance(obj, Entity):
            first = created.pop(obj.id, None)
            if first is not None:
                rows.extend(_created_then_changed(session, obj, first))
            else:
                rows.append(_row(session, obj, "create", None, _snapshot(obj)))
    for obj in session.dirty:
        if isinstance(obj, Entity) and session.is_modified(obj, include_collections=False):
            before, after = _changes(obj)
            if after:
                rows.append(_row(session, obj, "update", before, after))
    for obj in session.deleted:
        if isinstance(obj, Entity):
            rows.append(_row(session, obj, "delete", _snapshot(obj), None))
    return rows


@event.listens_for(Session, "after_flush")
def _record(session: Session, _context: Any) -> None:
    """Take the entries of this flush now, while the rows' history is there to read.

    They are written once, just before the commit (one insert for the whole transaction,
    not one per flush), except inside a savepoint, which may still be rolled back alone:
    those are written at once and go or stay with it."""
    rows = _collect(session) + session.info.pop("audit_pending", [])
    if not rows:
        return
    if session.in_nested_transaction() or session.info.get("audit_committing"):
        session.connection().execute(insert(AuditEntry), rows)
    else:
        session.info.setdefault("audit_unwritten", []).extend(rows)


@event.listens_for(Session, "before_commit")
def _write(session: Session) -> None:
    session.flush()
    rows = session.info.pop("audit_unwritten", [])
    if rows:
        session.connection().execute(insert(AuditEntry), rows)
    if not session.in_nested_transaction():
        # Should the commit flush anything more, its entries are written at once.
        session.info["audit_committing"] = True


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: Any) -> None:
    # A rollback of the whole transaction takes its entries with it.
    if transaction.parent is None:
        session.info.pop("audit_unwritten", None)
        session.info.pop("audit_committing", None)
        session.info.pop("audit_created", None)


def record(session: Session, obj: Entity, action: str, before: Any, after: Any) -> None:
    """Audit a change that lives outside ``obj``'s own columns (a link table, say); written with
    the next flush, in the same transaction."""
    session.info.setdefault("audit_pending", []).append(_row(session, obj, action, before, after))


def write_now(session: Session, obj: Entity, action: str, before: Any, after: Any) -> None:
    """Write an audit entry at once, in the caller's transaction: for reads (a reveal of
    personal data), which flush nothing and so never reach the flush hook."""
    session.connection().execute(insert(AuditEntry), [_row(session, obj, action, before, after)])


def created(session: Session, obj: Entity) -> None:
    """Take the creation entry of the new ``obj`` as it is now, for an insert that comes later
    in this transaction after further changes (a request offered before it is first flushed):
    those changes are then entered as an update on top, as if it had been flushed between.
    ``obj`` needs its id already."""
    session.info.setdefault("audit_created", {})[obj.id] = _snapshot(obj)


def name_action(session: Session, entity_id: str, action: str) -> None:
    """Give the next audit entry of ``entity_id`` a domain verb (``revoke``, ``cancel``...)."""
    session.info.setdefault("audit_action", {})[entity_id] = action
