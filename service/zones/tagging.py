"""Which zone a point lies in: point-in-polygon over the zones in force, with a spatial index.

Zones are few (tens per community) and change rarely; points are many (every open request
and resident when a zone changes). So the zones in force are loaded once per question, their
polygons indexed in a shapely STRtree, and all points tested in one vectorised query.
Where zones overlap, the strictest status wins (sealed over controlled over precaution).
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.validation import explain_validity
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from service.errors import Unprocessable
from service.zones.models import STRICTNESS, Zone


def polygon(geometry: dict[str, Any], field: str = "geometry") -> shapely.Geometry:
    """The shapely polygon of a GeoJSON geometry; a clear 422 naming the field otherwise."""
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, IndexError, AttributeError, shapely.errors.GEOSException) as exc:
        raise Unprocessable.on(field, f"not a GeoJSON polygon: {exc}") from None
    if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise Unprocessable.on(field, "not a GeoJSON polygon with an area")
    if not geom.is_valid:
        raise Unprocessable.on(field, f"invalid polygon: {explain_validity(geom)}")
    if geom.area == 0:
        raise Unprocessable.on(field, "the polygon has no area")
    return geom


def in_force(session: Session, community_id: str, at: datetime) -> list[Zone]:
    stmt = select(Zone).where(Zone.community_id == community_id, Zone.valid_from <= at)
    return [z for z in session.scalars(stmt.order_by(Zone.id)) if z.in_force(at)]


# Built once: every new request is tagged with it. The bounding box leaves out, in the
# database, the zones that cannot hold the point (border included, as `locate` counts it).
_AROUND = (
    select(Zone)
    .where(
        Zone.community_id == bindparam("community_id"),
        Zone.valid_from <= bindparam("at"),
        Zone.min_lon <= bindparam("lon"),
        Zone.max_lon >= bindparam("lon"),
        Zone.min_lat <= bindparam("lat"),
        Zone.max_lat >= bindparam("lat"),
    )
    .order_by(Zone.id)
)


def in_force_around(
    session: Session, community_id: str, at: datetime, lon: float, lat: float
) -> list[Zone]:
    """The zones in force at ``at`` whose bounding box holds the point."""
    params = {"community_id": community_id, "at": at, "lon": lon, "lat": lat}
    return [z for z in session.scalars(_AROUND, params) if z.in_force(at)]


def locate(zones: Sequence[Zone], lons: Sequence[float], lats: Sequence[float]) -> list[str | None]:
    """The id of the strictest zone holding each point, or None."""
    if not zones or not len(lons):
        return [None] * len(lons)
    geoms = [polygon(z.geometry) for z in zones]
    tree = shapely.STRtree(geoms)
    points = shapely.points(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
    # Pairs (point index, zone index) where the zone's polygon covers the point (its border
    # included: a building on the cordon line is inside).
    hits = tree.query(points, predicate="covered_by")
    best: list[str | None] = [None] * len(lons)
    rank = [-1] * len(lons)
    for p, g in zip(hits[0].tolist(), hits[1].tolist(), strict=True):
        zone = zones[g]
        r = STRICTNESS[zone.status]
        if r > rank[p]:
            best[p], rank[p] = zone.id, r
    return best
