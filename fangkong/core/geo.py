"""Checking jurisdiction boundaries given as GeoJSON (WGS 84 / GCJ-02 lon-lat pairs)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_POLYGON_TYPES = {"Polygon", "MultiPolygon"}


def _check_ring(ring: Any, where: str) -> None:
    if not isinstance(ring, list) or len(ring) < 4:
        raise ValidationError(_("%(where)s: a ring needs at least 4 positions.") % {"where": where})
    for position in ring:
        if (
            not isinstance(position, list)
            or len(position) < 2
            or not all(isinstance(c, int | float) for c in position[:2])
        ):
            raise ValidationError(
                _("%(where)s: a position is [longitude, latitude].") % {"where": where}
            )
        lon, lat = position[0], position[1]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValidationError(
                _("%(where)s: %(lon)s, %(lat)s is not a longitude/latitude pair.")
                % {"where": where, "lon": lon, "lat": lat}
            )
    if ring[0][:2] != ring[-1][:2]:
        raise ValidationError(_("%(where)s: a ring must end where it starts.") % {"where": where})


def clean_boundary(value: Any) -> dict[str, Any] | None:
    """A Polygon/MultiPolygon geometry (bare or inside a Feature), or None."""
    if value in (None, "", {}):
        return None
    if not isinstance(value, dict):
        raise ValidationError(_("The boundary must be a GeoJSON object."))
    geometry = value.get("geometry") if value.get("type") == "Feature" else value
    if not isinstance(geometry, dict) or geometry.get("type") not in _POLYGON_TYPES:
        raise ValidationError(_("The boundary must be a GeoJSON Polygon or MultiPolygon."))
    coordinates = geometry.get("coordinates")
    polygons = [coordinates] if geometry["type"] == "Polygon" else coordinates
    if not isinstance(polygons, list) or not polygons:
        raise ValidationError(_("The boundary has no coordinates."))
    for p_index, polygon in enumerate(polygons, start=1):
        if not isinstance(polygon, list) or not polygon:
            raise ValidationError(_("Polygon %(n)d has no rings.") % {"n": p_index})
        for r_index, ring in enumerate(polygon, start=1):
            _check_ring(ring, _("polygon %(p)d, ring %(r)d") % {"p": p_index, "r": r_index})
    return geometry
