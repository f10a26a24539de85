"""The bounds of every integer a client can send: ids, offsets, counts.

A number the database cannot hold (an id of 2^63, an offset of 10^20) must be refused
as bad input that names its field, before it reaches a query and fails there as a 500.
The API's schemas and parameters use these annotated types, so the bounds are also
published in the OpenAPI schema; page URLs take ids through the `id` path converter.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, TypeAdapter

# Primary keys are 64-bit (BigAutoField), but no town comes near 2^53 rows, and 2^53 - 1
# is the largest integer a JavaScript client reads exactly.
ID_MAX = 2**53 - 1
# Paging further than this by offset is a scan nobody needs; narrow the filter instead.
OFFSET_MAX = 1_000_000

Id = Annotated[int, Field(ge=1, le=ID_MAX)]
Offset = Annotated[int, Field(ge=0, le=OFFSET_MAX)]
# Counts, sizes and versions: never negative, never more rows than ids.
Count = Annotated[int, Field(ge=0, le=ID_MAX)]

id_adapter: TypeAdapter[int] = TypeAdapter(Id)


def is_id(value: object) -> bool:
    return isinstance(value, int) and 1 <= value <= ID_MAX


class IdConverter:
    """`<id:name>` in a URL: an id that fits, else no match (a 404), never an overflow."""

    regex = "[0-9]{1,16}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not is_id(number):
            raise ValueError(value)
        return number

    def to_url(self, value: int | str) -> str:
        return str(value)
