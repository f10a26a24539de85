from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from fangkong.core.geo import clean_boundary
from fangkong.org.models import Level
from fangkong.org.services import jurisdiction_create

SQUARE = [[[109.9, 28.1], [110.0, 28.1], [110.0, 28.2], [109.9, 28.2], [109.9, 28.1]]]


def test_valid_boundaries():
    assert clean_boundary(None) is None
    polygon = clean_boundary({"type": "Polygon", "coordinates": SQUARE})
    assert polygon is not None and polygon["type"] == "Polygon"
    feature = {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "MultiPolygon", "coordinates": [SQUARE]},
    }
    multi = clean_boundary(feature)
    assert multi is not None and multi["type"] == "MultiPolygon"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("POLYGON((0 0))", "must be a GeoJSON object"),
        ({"type": "Point", "coordinates": [110, 28]}, "Polygon or MultiPolygon"),
        ({"type": "Polygon", "coordinates": [[[110, 28], [111, 28], [110, 28]]]}, "at least 4"),
        (
            {"type": "Polygon", "coordinates": [[[110, 28], [111, 28], [111, 29], [110, 29]]]},
            "end where it starts",
        ),
        (
            {"type": "Polygon", "coordinates": [[[28, 200], [1, 1], [2, 2], [28, 200]]]},
            "not a longitude/latitude",
        ),
    ],
)
def test_invalid_boundaries(value, message):
    with translation.override("en"), pytest.raises(ValidationError) as err:
        clean_boundary(value)
    assert message in " ".join(err.value.messages)


@pytest.mark.django_db
def test_node_boundary_is_validated_and_stored():
    node = jurisdiction_create(
        code="330411102000",
        name="王店镇",
        level=Level.TOWN,
        parent=None,
        boundary={"type": "Polygon", "coordinates": SQUARE},
    )
    node.refresh_from_db()
    assert node.boundary is not None and node.boundary["coordinates"] == SQUARE
    with pytest.raises(ValidationError) as err:
        jurisdiction_create(
            code="330411103000",
            name="洪合镇",
            level=Level.TOWN,
            parent=None,
            boundary={"type": "Point"},
        )
    assert "boundary" in err.value.message_dict
