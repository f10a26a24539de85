"""Pagination that stays fast on a million rows.

A list page needs its first 50 rows and a rough size, not an exact count of every
match: counting 400,000 people over 60 costs more than the page itself. The count stops
at CAP + 1 and the page says "1000+".
"""

from __future__ import annotations

from functools import cached_property

from django.core.paginator import Paginator

CAP = 1000


class CappedPaginator(Paginator):  # type: ignore[type-arg]  # stubs' generic varies
    cap = CAP

    @cached_property
    def count(self) -> int:
        # SELECT COUNT(*) FROM (... LIMIT cap + 1): the database stops early. Without the
        # ORDER BY, which a count does not need and which can force a long index walk.
        return int(self.object_list.order_by()[: self.cap + 1].count())  # type: ignore[attr-defined]

    @property
    def capped(self) -> bool:
        return self.count > self.cap
