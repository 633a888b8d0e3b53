"""No module of `app` imports from a layer above its own (docs/architecture.md, "Layers").

A low-level module that imports the services (as `ratelimit` once imported
`services/errors` and `templating.N_`) drags the whole service layer, the models and the
templates into anything that counts a request, and an import cycle is one edit away."""

import ast
from pathlib import Path

APP = Path(__file__).parent.parent / "app"

# Bottom to top. A module belongs to the layer of its longest listed prefix; a module may
# import its own layer and those below it, never one above.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    # Imports nothing of the app's but each other: settings, tokens, messages, limits.
    (
        "base",
        ("app", "app.config", "app.security", "app.i18n", "app.logs", "app.errors", "app.clock"),
    ),
    ("base", ("app.ratelimit",)),
    ("storage", ("app.enums", "app.models", "app.db")),
    # Every rule, and the read models (`services/state.py`).
    ("services", ("app.services",)),
    # What reads the services to draw: the Jinja environment, the pages' contexts, reports.
    ("views", ("app.templating", "app.views", "app.reports")),
    # The pub/sub seam, the per-table pushes, the timers.
    ("live", ("app.live",)),
    # The doors and what builds the app: routers, their dependencies and middleware, the
    # list of actions they register, the server's protocol, the command line.
    (
        "routes",
        (
            "app.routers",
            "app.actions",
            "app.deps",
            "app.web",
            "app.hygiene",
            "app.vote_lane",
            "app.api_errors",
            "app.routing",
            "app.main",
            "app.protocol",
            "app.cli",
        ),
    ),
]
ORDER = ["base", "storage", "services", "views", "live", "routes"]


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str | None:
    matches = [
        (len(prefix), layer)
        for layer, prefixes in LAYERS
        for prefix in prefixes
        if module == prefix or module.startswith(prefix + ".")
    ]
    return max(matches)[1] if matches else None


def imports_of(path: Path) -> set[str]:
    """Every `app` module this file imports, at the top or inside a function."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            # `from app.services import tables` imports the module app.services.tables.
            for alias in node.names:
                found.add(f"{base}.{alias.name}")
    return {name for name in found if name == "app" or name.startswith("app.")}


def existing(name: str) -> bool:
    path = APP.parent / Path(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def test_every_module_of_app_has_a_layer() -> None:
    unplaced = [module_name(p) for p in APP.rglob("*.py") if layer_of(module_name(p)) is None]
    assert unplaced == [], "place these modules in LAYERS and docs/architecture.md"


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    upward = []
    for path in sorted(APP.rglob("*.py")):
        module = module_name(path)
        mine = ORDER.index(layer_of(module) or "routes")
        for name in sorted(imports_of(path)):
            if not existing(name):
                continue  # a name imported from a module, not a module
            theirs = layer_of(name)
            if theirs is not None and ORDER.index(theirs) > mine:
                upward.append(f"{module} ({ORDER[mine]}) imports {name} ({theirs})")
    assert upward == []


def test_the_walk_sees_an_upward_import() -> None:
    """The check itself: the import ratelimit once had is found."""
    assert layer_of("app.ratelimit") == "base"
    assert ORDER.index(layer_of("app.services.errors") or "") > ORDER.index("base")
    assert layer_of("app.live.wire") == "live" and layer_of("app.routers.api") == "routes"


def test_the_layers_are_the_documented_ones() -> None:
    doc = (APP.parent / "docs" / "architecture.md").read_text()
    for layer, prefixes in LAYERS:
        for prefix in prefixes:
            if prefix != "app":
                shown = prefix.removeprefix("app.").replace(".", "/")
                assert f"`{shown}" in doc, f"{prefix} ({layer}) is not in docs/architecture.md"
