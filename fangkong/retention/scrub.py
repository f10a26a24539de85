"""What stands for a purged person in free text and kept records, and taking it out.

Purging a person anonymises their rows; but their name, ID number or phone may also sit
in text written about them elsewhere — an escalation notice listing their order, a
comment on a work order, an import's error report — and their keyed hashes in audit
records of searches for them. `Needles` collects, per purged person, what to look for
and what replaces it: the full name becomes the surname (张*), an ID number or phone
its mask, a keyed hash nothing. `scrub` replaces them in a text or a JSON value.

Lookup is by substring of each length a needle has (a handful: names of 2 to 4
characters, 11-digit phones, 18-character IDs, 64-character hashes), so a run that
purges a whole town's registry still reads each text once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fangkong.core.masking import MASK, mask_id_number, mask_phone


def surname_only(name: str) -> str:
    """`张三丰` -> `张*`: the name reduced to its first character (a compound surname,
    欧阳, loses its second: less, never more, is kept)."""
    name = (name or "").strip()
    if not name:
        return ""
    return name[0] + MASK


@dataclass
class Needles:
    replace: dict[str, str] = field(default_factory=dict)
    hashes: set[str] = field(default_factory=set)
    _lengths: list[int] = field(default_factory=list)

    def add_name(self, name: str) -> None:
        name = (name or "").strip()
        # A one-character "name" is a surname already; it would also match everywhere.
        if len(name) >= 2:
            self.replace[name] = surname_only(name)

    def add_id_number(self, number: str) -> None:
        if number and len(number) >= 6:
            self.replace[number] = mask_id_number(number)

    def add_phone(self, phone: str) -> None:
        if phone and len(phone) >= 7:
            self.replace[phone] = mask_phone(phone)

    def add_hash(self, value: str | None) -> None:
        if value:
            self.hashes.add(value)
            self.replace[value] = ""

    def __bool__(self) -> bool:
        return bool(self.replace)

    def lengths(self) -> list[int]:
        if len(self._lengths) != len({len(k) for k in self.replace}):
            self._lengths = sorted({len(k) for k in self.replace}, reverse=True)
        return self._lengths

    def found_in(self, text: str) -> bool:
        if not text or not self.replace:
            return False
        for size in self.lengths():
            for start in range(len(text) - size + 1):
                if text[start : start + size] in self.replace:
                    return True
        return False

    def scrub_text(self, text: str) -> str:
        if not self.found_in(text):
            return text
        out: list[str] = []
        i = 0
        # Longest first at each position: a full ID is replaced before a phone inside it.
        while i < len(text):
            for size in self.lengths():
                piece = text[i : i + size]
                if len(piece) == size and piece in self.replace:
                    out.append(self.replace[piece])
                    i += size
                    break
            else:
                out.append(text[i])
                i += 1
        return "".join(out)

    def scrub(self, value: Any) -> Any:
        """A text, or a JSON value (dict keys included), with every needle replaced."""
        if isinstance(value, str):
            return self.scrub_text(value)
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        if isinstance(value, dict):
            return {self.scrub_text(str(k)): self.scrub(v) for k, v in value.items()}
        return value
