"""Two response schemas with one name overwrite each other in the OpenAPI components:
a client (and the fuzzing run) then validates one operation's answer against the other's
shape. Every schema class the API is built from has its own name."""

from collections import defaultdict

from ninja import Schema

import fangkong.api  # noqa: F401  (imports every router and its schemas)


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_every_api_schema_has_its_own_name() -> None:
    by_name: defaultdict[str, list[str]] = defaultdict(list)
    for cls in _subclasses(Schema):
        if cls.__module__.startswith("fangkong.") and "[" not in cls.__name__:
            by_name[cls.__name__].append(cls.__module__)
    clashes = {name: modules for name, modules in by_name.items() if len(modules) > 1}
    assert clashes == {}
