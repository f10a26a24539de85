"""The public scan page's limits, counted in screening's shared window counters
(`PublicHit`): per network (loose: a shop's Wi-Fi is many phones), per visitor (a phone
scanning more places than anyone walks into) and per place (a flood aimed at one shop's
count)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone

from fangkong.audit.services import client_ip
from fangkong.core.crypto import blind_index
from fangkong.screening.services import hit

SCANS_PER_NETWORK = (120, 600)
SCANS_PER_VISITOR = (30, 600)
SCANS_PER_VISITOR_DAY = (200, 86400)
SCANS_PER_PLACE = (600, 60)

Limit = tuple[int, int]


def _refusing(checks: list[tuple[str, Limit]]) -> int:
    for key, (limit, seconds) in checks:
        if not hit(f"{key}:{seconds}", limit=limit, seconds=seconds):
            return seconds - int(timezone.now().timestamp()) % seconds
    return 0


def network_refusal(request: HttpRequest) -> int:
    client = blind_index(client_ip(request) or "unknown")[:20]
    return _refusing([(f"scan:ip:{client}", SCANS_PER_NETWORK)])


def place_refusal(place_id: int) -> int:
    return _refusing([(f"scan:place:{place_id}", SCANS_PER_PLACE)])


def visitor_refusal(key: str) -> int:
    # Its own keyed hash of the visitor's key: counters never join the scan table.
    mark = blind_index(f"scan-limit:{key}")[:20]
    return _refusing(
        [(f"scan:v:{mark}", SCANS_PER_VISITOR), (f"scan:vd:{mark}", SCANS_PER_VISITOR_DAY)]
    )
