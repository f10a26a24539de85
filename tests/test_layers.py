"""The layer rules of docs/architecture.md ("Layers"), checked on the source.

An app imports only apps of its own or a lower layer, and of those only the modules they
offer to others (their public surface below); nobody imports another app's private names.
The two tables are the written rule: changing one is a design decision, made here and in
the docs together.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "fangkong"

# Lowest first. Apps of one layer may use each other; a lower layer never uses a higher one.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"core"}),
    frozenset({"accounts", "audit"}),
    frozenset({"org"}),
    frozenset({"people", "notify"}),
    frozenset({"policy", "workorders"}),
    frozenset({"screening", "control", "testing", "vaccination", "checkpoints", "places"}),
    frozenset({"tracing", "response", "retention", "zones", "assist"}),
    frozenset({"reports"}),
    frozenset({"demo"}),
)

# What each app offers to other apps besides its services, selectors and models. `core` is
# a library: all of it is public.
PUBLIC: dict[str, frozenset[str]] = {
    "core": frozenset({"*"}),
    # The scoping mechanism every app is built on, the one unmasking path and its purpose
    # form, and the node picker of every page that files something under a node.
    "org": frozenset({"access", "roles", "scoping", "pii", "forms"}),
    # The one cleaning function, the name keys, the matcher and the import pipeline's
    # columns and jobs that pushed lists reuse; the registry's filters; the panels other apps
    # put on a person's page.
    "people": frozenset(
        {
            "validation",
            "names",
            "matching",
            "import_columns",
            "import_jobs",
            "import_commit",
            "filters",
            "panels",
        }
    ),
    # The one decision function and the national division codes.
    "policy": frozenset({"engine", "divisions", "hooks"}),
    # Kinds are registered by the apps that create work orders; dispatch places them.
    "workorders": frozenset({"kinds", "dispatch"}),
    # Control's services, split by what they serve.
    "control": frozenset({"cases", "checks", "release", "sites", "transfers", "hooks"}),
    # Structured events for integrators, emitted where things happen.
    "notify": frozenset({"webhooks"}),
    # The level listeners apps of its layer and above register (ADR 0027).
    "response": frozenset({"hooks"}),
}
ALWAYS_PUBLIC = frozenset({"services", "selectors", "models"})

# Downward exceptions, each named with its reason. `accounts` and `audit` sit below `org`
# but their pages and the audit log's scoped queryset use the scoping mechanism itself
# (ADR 0002): only that mechanism, never org's models or services.
UPWARD_EXCEPTIONS: dict[tuple[str, str], frozenset[str]] = {
    ("accounts", "org"): frozenset({"access"}),
    ("audit", "org"): frozenset({"access", "roles", "scoping"}),
}


def _layer_of(app: str) -> int:
    for i, layer in enumerate(LAYERS):
        if app in layer:
            return i
    raise AssertionError(f"app {app!r} has no layer in tests/test_layers.py LAYERS")


def _apps() -> set[str]:
    return {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}


@dataclass(frozen=True)
class Use:
    file: str
    line: int
    src: str
    dst: str
    module: str  # the dst app's module, "" for the package itself
    names: tuple[str, ...]


def _uses() -> Iterator[Use]:
    apps = _apps()
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if "migrations" in rel.parts or len(rel.parts) < 2:
            continue  # migrations name models by string; fangkong/*.py is the project level
        src = rel.parts[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[tuple[str, tuple[str, ...]]] = []
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module == "fangkong":
                    targets = [(f"fangkong.{a.name}", ()) for a in node.names]
                else:
                    names = tuple(a.name for a in node.names)
                    parts = node.module.split(".")
                    if len(parts) == 2:  # from fangkong.app import module
                        targets = [(f"{node.module}.{n}", ()) for n in names]
                    else:
                        targets = [(node.module, names)]
            else:
                targets = [(a.name, ()) for a in node.names]
            for dotted, names in targets:
                parts = dotted.split(".")
                if parts[0] != "fangkong" or len(parts) < 2 or parts[1] not in apps:
                    continue
                if parts[1] == src:
                    continue
                yield Use(
                    str(rel), node.lineno, src, parts[1], parts[2] if len(parts) > 2 else "", names
                )


def test_every_app_has_a_layer() -> None:
    for app in _apps():
        _layer_of(app)


def test_no_app_uses_a_higher_layer() -> None:
    wrong = []
    for use in _uses():
        if _layer_of(use.dst) <= _layer_of(use.src):
            continue
        if use.module in UPWARD_EXCEPTIONS.get((use.src, use.dst), frozenset()):
            continue
        wrong.append(f"{use.file}:{use.line} {use.src} -> {use.dst}.{use.module}")
    assert not wrong, "lower layers importing higher ones:\n" + "\n".join(wrong)


def test_apps_use_each_other_only_through_their_public_modules() -> None:
    wrong = []
    for use in _uses():
        offered = ALWAYS_PUBLIC | PUBLIC.get(use.dst, frozenset())
        if "*" in offered or use.module in offered:
            continue
        if use.src == "demo" and (use.module == "demo" or use.module.startswith("demo_")):
            continue  # the demo town is put together from each app's own demo data
        wrong.append(f"{use.file}:{use.line} {use.src} -> {use.dst}.{use.module}")
    assert not wrong, "imports of another app's non-public modules:\n" + "\n".join(wrong)


def test_no_app_imports_another_app_s_private_names() -> None:
    wrong = [
        f"{use.file}:{use.line} {use.src} -> {use.dst}.{use.module}: {name}"
        for use in _uses()
        for name in use.names
        if name.startswith("_")
    ]
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_a_violation() -> None:
    """The walk must find real imports: a known downward use is among them."""
    uses = list(_uses())
    assert any(u.src == "screening" and u.dst == "policy" and u.module == "engine" for u in uses)
    assert _layer_of("core") < _layer_of("org") < _layer_of("control") < _layer_of("reports")
