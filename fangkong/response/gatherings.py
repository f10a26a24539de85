"""The level in force for places' gatherings: places sit below this app and cannot ask
it, so each switch is written down on their side (`places.LevelInForce`, read by
`places.selectors.level_in_force`) by this listener, registered in
`ResponseConfig.ready`, inside the switch's transaction."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from fangkong.places.services import level_in_force_record
from fangkong.response.hooks import LevelSwitch
from fangkong.response.models import ResponseLevel


def level_for_gatherings(switch: LevelSwitch) -> dict[str, Any]:
    level = ResponseLevel.objects.get(code=switch.to_code)
    level_in_force_record(node=switch.node, rank=level.rank, at=switch.at or timezone.now())
    return {"rank": level.rank}
