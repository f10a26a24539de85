"""Translation completeness check, run by CI as ``python -m tests.i18n_check``.

It fails (exit 1) when:

* the code or templates have a msgid that a committed catalogue lacks (it re-runs
  ``makemessages`` with the project's flags against the real tree, reads the fresh
  msgids, then puts the committed catalogues back byte for byte);
* a catalogue has an empty or fuzzy msgstr, or a msgstr whose %-placeholders differ
  from its msgid's;
* a compiled ``.mo`` is missing or does not hold exactly the committed ``.po``'s
  translations (someone edited a ``.po`` and did not run ``compilemessages``).

Needs GNU gettext (``xgettext``, ``msgmerge``) on PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "fangkong"
LOCALE = PACKAGE / "locale"
LANGS = ("zh_Hans", "zh_Hant", "en")
MAKEMESSAGES = [
    "makemessages",
    *(arg for lang in LANGS for arg in ("-l", lang)),
    "--no-obsolete",
    "--no-location",
]
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[sdif]")

Key = tuple[str | None, str, str | None]  # (msgctxt, msgid, msgid_plural)


def po_path(lang: str, base: Path = LOCALE) -> Path:
    return base / lang / "LC_MESSAGES" / "django.po"


def key_of(entry: polib.POEntry | polib.MOEntry) -> Key:
    return (entry.msgctxt or None, entry.msgid, entry.msgid_plural or None)


def show(key: Key) -> str:
    ctx, msgid, plural = key
    text = repr(msgid)
    if plural:
        text += f" / plural {plural!r}"
    if ctx:
        text += f" (context {ctx!r})"
    return text


def msgids(path: Path) -> set[Key]:
    return {key_of(e) for e in polib.pofile(str(path)) if not e.obsolete}


def extract_fresh() -> dict[str, set[Key]]:
    """Run makemessages on the real tree and return the msgids it finds, per language.

    The committed locale directory is copied aside first and restored afterwards, so
    the work tree is left exactly as it was whatever happens.
    """
    with tempfile.TemporaryDirectory(prefix="fangkong-i18n-") as tmp:
        backup = Path(tmp) / "locale"
        shutil.copytree(LOCALE, backup)
        try:
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
            env.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
            result = subprocess.run(  # noqa: S603 - fixed argv, no shell
                [sys.executable, "-m", "fangkong", *MAKEMESSAGES],
                cwd=PACKAGE,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                sys.stderr.write(result.stdout + result.stderr)
                raise SystemExit("i18n: makemessages failed (is GNU gettext installed?)")
            return {lang: msgids(po_path(lang)) for lang in LANGS}
        finally:
            shutil.rmtree(LOCALE)
            shutil.copytree(backup, LOCALE)


def check_extraction(fresh: dict[str, set[Key]], problems: list[str]) -> None:
    for lang in LANGS:
        path = po_path(lang)
        committed = msgids(path) if path.exists() else set()
        for key in sorted(fresh[lang] - committed, key=str):
            problems.append(f"{lang}: msgid missing from the catalogue: {show(key)}")
        for key in sorted(committed - fresh[lang], key=str):
            # Harmless (never looked up), but a sign makemessages was not re-run.
            sys.stdout.write(f"i18n: note: {lang}: msgid no longer in the code: {show(key)}\n")


def check_translations(lang: str, po: polib.POFile, problems: list[str]) -> None:
    if po.metadata_is_fuzzy:
        problems.append(f"{lang}: the header is marked fuzzy")
    for entry in po:
        if entry.obsolete:
            continue
        where = f"{lang}: {show(key_of(entry))}"
        if "fuzzy" in entry.flags:
            problems.append(f"{where}: fuzzy")
        source = set(PLACEHOLDER.findall(entry.msgid))
        if entry.msgid_plural:
            count = max(1, len(entry.msgstr_plural))
            forms = [entry.msgstr_plural.get(i, "") for i in range(count)]
            source |= set(PLACEHOLDER.findall(entry.msgid_plural))
        else:
            forms = [entry.msgstr]
        if not all(forms):
            problems.append(f"{where}: empty msgstr")
            continue
        for form in forms:
            used = set(PLACEHOLDER.findall(form))
            # A plural form may leave out the number ("One error"); nothing may add one.
            if (used - source) or (not entry.msgid_plural and used != source):
                problems.append(f"{where}: placeholders differ in {form!r}")


def check_compiled(lang: str, po: polib.POFile, problems: list[str]) -> None:
    mo_path = po_path(lang).with_suffix(".mo")
    if not mo_path.exists():
        problems.append(f"{lang}: {mo_path.relative_to(ROOT)} is missing; run compilemessages")
        return
    compiled = {key_of(e): e for e in polib.mofile(str(mo_path))}
    translated = {key_of(e): e for e in po.translated_entries()}
    stale: list[Key] = []
    for key, entry in translated.items():
        mo_entry = compiled.get(key)
        if mo_entry is None:
            stale.append(key)
        elif entry.msgid_plural:
            if dict(mo_entry.msgstr_plural) != dict(entry.msgstr_plural):
                stale.append(key)
        elif mo_entry.msgstr != entry.msgstr:
            stale.append(key)
    stale.extend(compiled.keys() - translated.keys())
    if stale:
        shown = "; ".join(show(key) for key in sorted(stale, key=str)[:5])
        more = f" and {len(stale) - 5} more" if len(stale) > 5 else ""
        problems.append(
            f"{lang}: {mo_path.relative_to(ROOT)} does not match its .po "
            f"({shown}{more}); run compilemessages"
        )


def main() -> int:
    problems: list[str] = []
    if not LOCALE.is_dir():
        sys.stderr.write(f"i18n: {LOCALE.relative_to(ROOT)} is missing\n")
        return 1
    missing = [lang for lang in LANGS if not po_path(lang).exists()]
    problems.extend(f"{lang}: {po_path(lang).relative_to(ROOT)} is missing" for lang in missing)
    fresh = extract_fresh()
    check_extraction(fresh, problems)
    counts: dict[str, int] = {}
    for lang in LANGS:
        if lang in missing:
            continue
        po = polib.pofile(str(po_path(lang)))
        counts[lang] = sum(1 for e in po if not e.obsolete)
        check_translations(lang, po, problems)
        check_compiled(lang, po, problems)
    if problems:
        sys.stderr.writelines(f"i18n: {problem}\n" for problem in problems)
        sys.stderr.write(f"i18n: FAILED with {len(problems)} problem(s)\n")
        return 1
    summary = ", ".join(f"{lang} {n}" for lang, n in counts.items())
    sys.stdout.write(
        f"i18n OK: {len(counts)} catalogues complete and compiled ({summary} msgids)\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
