"""Name keys for search and matching in either script.

Lists arrive in simplified and traditional characters, with stray spaces, full-width
letters and middle dots in minority and foreign names. Every name gets a key in
simplified script (OpenCC t2s) and its pinyin initials (pypinyin), computed once when
the person is written; queries are turned into the same keys.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc
from pypinyin import Style, lazy_pinyin

_t2s = opencc.OpenCC("t2s")
_DROP = re.compile(r"[\s·•・．.\-_]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def to_simplified(text: str) -> str:
    return str(_t2s.convert(text))


@lru_cache(maxsize=200_000)
def name_key(name: str) -> str:
    """`張 偉` -> `张伟`; `Anna·李` -> `anna李`."""
    folded = unicodedata.normalize("NFKC", name)
    return to_simplified(_DROP.sub("", folded)).lower()


@lru_cache(maxsize=50_000)
def _initial(char: str) -> str:
    # errors="default" keeps a non-Chinese character as it is.
    return "".join(lazy_pinyin(char, style=Style.FIRST_LETTER, errors="default")).lower()


def name_initials(name: str) -> str:
    """`张伟` -> `zw`; letters in the name are kept as they are.

    Per character (cached): names are not phrases, and the few thousand characters
    used in names make this a dictionary lookup after the first rows.
    """
    return "".join(_initial(c) for c in name_key(name))


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))
