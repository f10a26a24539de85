"""Build the Bootstrap subset the pages load: only the rules for the classes fangkong uses.

    .venv/bin/python -m tools.css_subset          # rewrite the subset
    .venv/bin/python -m tools.css_subset --check  # exit 1 if it is out of date

Run it by hand after a template, form or script starts using a Bootstrap class, and
commit the output (`fangkong/static/vendor/bootstrap/bootstrap.subset.css`);
`tests/test_static_assets.py` fails until then. The full `bootstrap.min.css` stays
vendored beside it for the command dashboard (dark theme, full screen, not a phone page).

Which classes are used is read from the source, not guessed from words:

* templates: every `class="..."` attribute; template tags inside are skipped
  (`{% if %}a{% else %}b{% endif %}` gives both), and a variable glued to a prefix
  (`alert-{{ message.tags }}`) keeps every Bootstrap class with that prefix;
* Python: classes set on form widgets (`attrs={"class": ...}`, `setdefault("class", ...)`);
* our scripts: `classList.add/remove/toggle/contains("...")`.

A selector is kept when every class it needs is used (classes inside `:not(...)` are not
needed: an absent class never matches); element and attribute selectors (the reboot,
`:root`'s variables) are kept, except the dark colour mode, which no phone page turns on.
@media/@supports blocks keep what survives inside them, and @keyframes survive when a
kept rule names them.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "fangkong"
SOURCE = PACKAGE / "static" / "vendor" / "bootstrap" / "bootstrap.min.css"
TARGET = PACKAGE / "static" / "vendor" / "bootstrap" / "bootstrap.subset.css"
# Selectors for a state no page uses: the dark colour mode (only the dashboard, which
# loads the full sheet, is dark).
DROP_SELECTORS = ("[data-bs-theme=dark]",)

_CLASS = re.compile(r"\.(-?[_a-zA-Z][_a-zA-Z0-9-]*)")
_ATTRIBUTE = re.compile(r"""\[(?:[^\]"']|"[^"]*"|'[^']*')*\]""")
_CLASS_ATTRIBUTE = re.compile(r"""(?<![\w-])class\s*=\s*(["'])""")
_PY_CLASS = re.compile(r"""["']class["']\s*[,:]\s*["']([^"']*)["']""")
_JS_CLASS = re.compile(r"""classList\.(?:add|remove|toggle|contains)\(([^)]*)\)""")
_JS_STRING = re.compile(r"""["']([^"']+)["']""")
_VARIABLE = "\x00"


# -- what the project uses ------------------------------------------------------------


@dataclass
class Used:
    classes: set[str]
    prefixes: set[str]  # "alert-" from class="alert-{{ x }}"
    where: dict[str, str]  # class or prefix -> the first file using it (for messages)

    def add(self, token: str, source: Path) -> None:
        if _VARIABLE in token:
            prefix = token.split(_VARIABLE, 1)[0]
            if prefix:
                self.prefixes.add(prefix)
                self.where.setdefault(prefix + "*", _rel(source))
            return
        if token:
            self.classes.add(token)
            self.where.setdefault(token, _rel(source))


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def _attribute_values(text: str) -> Iterator[str]:
    """The values of class attributes, template tags and variables left in."""
    for match in _CLASS_ATTRIBUTE.finditer(text):
        quote, i, value = match.group(1), match.end(), []
        while i < len(text):
            if text.startswith(("{%", "{{", "{#"), i):
                end = text.find({"{%": "%}", "{{": "}}", "{#": "#}"}[text[i : i + 2]], i)
                end = len(text) if end < 0 else end + 2
                value.append(text[i:end])
                i = end
            elif text[i] == quote:
                break
            else:
                value.append(text[i])
                i += 1
        yield "".join(value)


def template_tokens(value: str) -> list[str]:
    """Class names in an attribute value; a variable becomes a marker glued to its prefix."""
    value = re.sub(r"\{%.*?%\}|\{#.*?#\}", " ", value, flags=re.S)
    value = re.sub(r"\{\{.*?\}\}", _VARIABLE, value, flags=re.S)
    return value.split()


def used_classes(package: Path = PACKAGE) -> Used:
    used = Used(set(), set(), {})
    for path in sorted(package.rglob("*.html")):
        for value in _attribute_values(path.read_text(encoding="utf-8")):
            for token in template_tokens(value):
                used.add(token, path)
    for path in sorted(package.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for match in _PY_CLASS.finditer(path.read_text(encoding="utf-8")):
            for token in match.group(1).split():
                used.add(token, path)
    for path in sorted((package / "static" / "fangkong").rglob("*.js")):
        for match in _JS_CLASS.finditer(path.read_text(encoding="utf-8")):
            for string in _JS_STRING.findall(match.group(1)):
                for token in string.split():
                    used.add(token, path)
    return used


# -- reading the stylesheet -----------------------------------------------------------


@dataclass
class Rule:
    prelude: str  # a selector list, or an at-rule's "@media (...)"
    body: str | None  # declarations (rules, @keyframes, @font-face); None for a block
    children: list[Rule]


def _skip_string(css: str, i: int) -> int:
    quote, i = css[i], i + 1
    while i < len(css) and css[i] != quote:
        i += 2 if css[i] == "\\" else 1
    return i + 1


def _scan_to(css: str, i: int, stops: str) -> int:
    """Index of the first character in `stops` at nesting depth 0, outside strings,
    parentheses and comments (or len(css))."""
    depth = 0
    while i < len(css):
        c = css[i]
        if c in "\"'":
            i = _skip_string(css, i)
            continue
        if css.startswith("/*", i):
            end = css.find("*/", i + 2)
            i = len(css) if end < 0 else end + 2
            continue
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth == 0 and c in stops:
            return i
        i += 1
    return i


def _matching_brace(css: str, i: int) -> int:
    """Index just after the '}' closing the block whose '{' is at i."""
    depth, i = 0, i
    while i < len(css):
        j = _scan_to(css, i, "{}")
        if j >= len(css):
            break
        depth += 1 if css[j] == "{" else -1
        i = j + 1
        if depth == 0:
            return i
    raise ValueError("unbalanced braces in the stylesheet")


def parse(css: str, i: int = 0, end: int | None = None) -> tuple[list[Rule], str]:
    """The rules of a stylesheet and its leading licence comment (/*! ... */)."""
    end = len(css) if end is None else end
    rules: list[Rule] = []
    licence = ""
    while i < end:
        while i < end and (css[i].isspace() or css.startswith("/*", i)):
            if css.startswith("/*", i):
                close = css.find("*/", i + 2) + 2
                if css.startswith("/*!", i) and not licence:
                    licence = css[i:close]
                i = close
            else:
                i += 1
        if i >= end:
            break
        j = _scan_to(css, i, "{;}")
        prelude = css[i:j].strip()
        if j >= end or css[j] in ";}":
            if prelude:
                rules.append(Rule(prelude, None, []))  # @charset and the like
            i = j + 1
            continue
        close = _matching_brace(css, j)
        if prelude.startswith(("@media", "@supports", "@container", "@layer")):
            children, _ = parse(css, j + 1, close - 1)
            rules.append(Rule(prelude, None, children))
        else:
            rules.append(Rule(prelude, css[j + 1 : close - 1], []))
        i = close
    return rules, licence


def split_selectors(selectors: str) -> list[str]:
    parts, i, start = [], 0, 0
    while True:
        j = _scan_to(selectors, i, ",")
        parts.append(selectors[start:j].strip())
        if j >= len(selectors):
            return [p for p in parts if p]
        i = start = j + 1


def declarations(body: str) -> dict[str, str]:
    """A rule's declarations by property name (the last one wins, `!important` dropped)."""
    out, i = {}, 0
    while i < len(body):
        j = _scan_to(body, i, ";")
        name, colon, value = body[i:j].partition(":")
        if colon:
            out[name.strip()] = value.replace("!important", "").strip()
        i = j + 1
    return out


def _without_not(selector: str) -> str:
    """The selector with every :not(...) removed (nested parentheses included)."""
    out, i = [], 0
    while i < len(selector):
        if selector.startswith(":not(", i):
            depth, i = 1, i + 5
            while i < len(selector) and depth:
                depth += {"(": 1, ")": -1}.get(selector[i], 0)
                i += 1
            continue
        out.append(selector[i])
        i += 1
    return "".join(out)


def needed_classes(selector: str) -> set[str]:
    return set(_CLASS.findall(_ATTRIBUTE.sub("", _without_not(selector))))


def bootstrap_classes(rules: Iterable[Rule]) -> set[str]:
    found: set[str] = set()
    for rule in rules:
        if rule.children:
            found |= bootstrap_classes(rule.children)
        elif rule.body is not None and not rule.prelude.startswith("@"):
            for selector in split_selectors(rule.prelude):
                found |= needed_classes(selector)
    return found


# -- the subset -----------------------------------------------------------------------


def wanted(used: Used, available: set[str]) -> set[str]:
    keep = used.classes & available
    for prefix in used.prefixes:
        keep |= {name for name in available if name.startswith(prefix)}
    return keep


def _filter(rules: list[Rule], keep: set[str]) -> list[Rule]:
    out: list[Rule] = []
    for rule in rules:
        if rule.children:
            children = _filter(rule.children, keep)
            if children:
                out.append(Rule(rule.prelude, None, children))
        elif rule.body is None or rule.prelude.startswith("@"):
            out.append(rule)  # @charset, @keyframes (pruned below), @font-face
        else:
            selectors = [
                s
                for s in split_selectors(rule.prelude)
                if needed_classes(s) <= keep and not any(d in s for d in DROP_SELECTORS)
            ]
            if selectors:
                out.append(Rule(",".join(selectors), rule.body, []))
    return out


def _bodies(rules: list[Rule]) -> Iterator[str]:
    for rule in rules:
        if rule.children:
            yield from _bodies(rule.children)
        elif rule.body is not None and not rule.prelude.startswith("@keyframes"):
            yield rule.body


def _drop_unused_keyframes(rules: list[Rule], text: str) -> list[Rule]:
    out = []
    for rule in rules:
        if rule.prelude.startswith("@keyframes"):
            name = rule.prelude.split(None, 1)[1].strip()
            if not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text):
                continue
        if rule.children:
            rule = Rule(rule.prelude, None, _drop_unused_keyframes(rule.children, text))
        out.append(rule)
    return out


def _render(rule: Rule) -> str:
    if rule.children:
        return rule.prelude + "{" + "".join(_render(c) for c in rule.children) + "}"
    if rule.body is None:
        return rule.prelude + ";"
    return rule.prelude + "{" + rule.body + "}"


def build(source: Path = SOURCE, package: Path = PACKAGE) -> str:
    css = source.read_text(encoding="utf-8")
    rules, licence = parse(css)
    keep = wanted(used_classes(package), bootstrap_classes(rules))
    kept = _filter(rules, keep)
    kept = _drop_unused_keyframes(kept, "\n".join(_bodies(kept)))
    # @charset counts only as the very first bytes of the file.
    charset = [r for r in kept if r.prelude.startswith("@charset")]
    kept = [r for r in kept if not r.prelude.startswith("@charset")]
    header = (
        "".join(_render(r) for r in charset)
        + f"{licence}\n/* The subset of {source.name} for the classes fangkong uses "
        f"({len(keep)} classes). Generated by `python -m tools.css_subset`; do not edit. */\n"
    )
    # One top-level rule per line keeps the committed file's diffs readable.
    return header + "\n".join(_render(rule) for rule in kept) + "\n"


def missing_from_subset(package: Path = PACKAGE, subset: Path = TARGET) -> dict[str, str]:
    """Bootstrap classes the project uses that the subset lacks: {class: first file}."""
    full, _ = parse(SOURCE.read_text(encoding="utf-8"))
    have, _ = parse(subset.read_text(encoding="utf-8")) if subset.exists() else ([], "")
    used = used_classes(package)
    lacking = wanted(used, bootstrap_classes(full)) - bootstrap_classes(have)
    return {name: used.where.get(name, _prefix_source(used, name)) for name in sorted(lacking)}


def _prefix_source(used: Used, name: str) -> str:
    prefix = max((p for p in used.prefixes if name.startswith(p)), key=len, default="")
    return used.where.get(prefix + "*", "?")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the subset is stale")
    args = parser.parse_args(argv)
    text = build()
    current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
    if args.check:
        if text != current:
            sys.stderr.write(f"{_rel(TARGET)} is out of date: run python -m tools.css_subset\n")
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    size = len(text.encode())
    sys.stdout.write(f"wrote {_rel(TARGET)}: {size / 1024:.1f} KB\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
