"""The package picture in docs/architecture.md draws exactly the imports between packages."""

import ast
import re
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
# flows/ holds the shipped YAML flows, no code.
SOURCES = ("bot", "handlers", "storage")
PICTURE_MARK = "%% package imports"
MERMAID_BLOCK = re.compile(r"^```mermaid\n(.*?)^```", re.MULTILINE | re.DOTALL)
NODE = re.compile(r'^\w+\["[^"]*"\]$')
EDGE = re.compile(r"^(\w+) --> (\w+(?: & \w+)*)$")
LAYOUT = re.compile(r"^(flowchart\b.*|subgraph\b.*|end|%%.*|)$")

Edge = tuple[str, str]


def package_of(path: Path, root: Path) -> str:
    """The package a source file belongs to: its folder, at most two levels deep."""
    return ".".join(path.parent.relative_to(root).parts[:2])


def node_id(package: str) -> str:
    return package.replace(".", "_")


def node(package: str) -> str:
    """A package's node line: its id, and its folder (or a top-level folder's own modules)."""
    folder = package.replace(".", "/") + ("/" if "." in package else "/*.py")
    return f'{node_id(package)}["{folder}"]'


def resolve(name: str, root: Path) -> Path | None:
    """The file of the longest importable prefix of a dotted name."""
    parts = name.split(".")
    while parts:
        base = root.joinpath(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
        parts.pop()
    return None


def imported_names(path: Path, root: Path) -> set[str]:
    """Every name a file imports, anywhere in it (`if TYPE_CHECKING:` too), made absolute."""
    here = path.parent.relative_to(root).parts
    names: set[str] = set()
    for statement in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(statement, ast.Import):
            names.update(alias.name for alias in statement.names)
        elif isinstance(statement, ast.ImportFrom):
            level = statement.level
            base = ".".join(here[: len(here) - level + 1]) if level else ""
            module = ".".join(part for part in (base, statement.module or "") if part)
            # `from package import module` imports a module, which `resolve` finds in full.
            names.update(f"{module}.{alias.name}" for alias in statement.names)
    return names


def import_graph(root: Path, sources: tuple[str, ...]) -> dict[Edge, set[str]]:
    """Edges between packages' node ids, each with the imports (file: name) that make it."""
    edges: dict[Edge, set[str]] = {}
    for source in sources:
        for path in sorted((root / source).rglob("*.py")):
            importer = package_of(path, root)
            for name in imported_names(path, root):
                target = resolve(name, root) if name.split(".")[0] in sources else None
                if target is None or package_of(target, root) == importer:
                    continue
                edge = (node_id(importer), node_id(package_of(target, root)))
                edges.setdefault(edge, set()).add(f"{path.relative_to(root).as_posix()}: {name}")
    return edges


def package_nodes(root: Path, sources: tuple[str, ...]) -> set[str]:
    return {
        node(package_of(path, root)) for source in sources for path in (root / source).rglob("*.py")
    }


def picture(markdown: str) -> str:
    """The mermaid block that holds the package-imports mark."""
    blocks = [block for block in MERMAID_BLOCK.findall(markdown) if PICTURE_MARK in block]
    assert len(blocks) == 1, f"want one ```mermaid block holding '{PICTURE_MARK}'"
    block: str = blocks[0]
    return block


def drawn(block: str) -> tuple[set[str], set[Edge]]:
    """The node lines and edges of a picture in the checked syntax."""
    nodes: set[str] = set()
    edges: set[Edge] = set()
    for raw in block.splitlines():
        line = raw.strip()
        if NODE.match(line):
            nodes.add(line)
        elif edge := EDGE.match(line):
            edges.update((edge.group(1), target) for target in edge.group(2).split(" & "))
        else:
            assert LAYOUT.match(line), f"the package picture cannot read {line!r}"
    return nodes, edges


def differences(
    nodes: set[str], edges: set[Edge], real_nodes: set[str], real: Mapping[Edge, set[str]]
) -> list[str]:
    """What to change in the picture, one line each, in its own syntax."""
    lines = [f"add node: {line}" for line in sorted(real_nodes - nodes)]
    lines += [f"remove node: {line}" for line in sorted(nodes - real_nodes)]
    for source, target in sorted(set(real) - edges):
        found = sorted(real[source, target])
        shown = "; ".join(found[:3]) + ("; …" if len(found) > 3 else "")
        lines.append(f"add edge: {source} --> {target}  ({shown})")
    lines += [f"remove edge: {source} --> {target}" for source, target in sorted(edges - set(real))]
    return lines


def test_the_package_picture_draws_every_import_between_packages() -> None:
    nodes, edges = drawn(picture(DOC.read_text(encoding="utf-8")))
    problems = differences(nodes, edges, package_nodes(ROOT, SOURCES), import_graph(ROOT, SOURCES))
    assert not problems, "docs/architecture.md's package picture is stale:\n" + "\n".join(problems)


def test_the_graph_finds_every_kind_of_import_across_packages(tmp_path: Path) -> None:
    for name, text in {
        "app/__init__.py": "",
        "app/main.py": "from core import words\n",
        "app/web/__init__.py": "",
        "app/web/server.py": (
            "from typing import TYPE_CHECKING\n"
            "from ..main import run\n"
            "if TYPE_CHECKING:\n"
            "    import db.deep.tables\n"
        ),
        "core/__init__.py": "",
        "core/words.py": "import yaml\nfrom core import words\n\ndef late():\n    import app.web\n",
        "db/__init__.py": "",
        "db/deep/__init__.py": "",
        "db/deep/tables.py": "",
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    sources = ("app", "core", "db")
    assert set(import_graph(tmp_path, sources)) == {
        ("app", "core"),
        ("app_web", "app"),
        ("app_web", "db_deep"),
        ("core", "app_web"),
    }
    assert package_nodes(tmp_path, sources) == {
        'app["app/*.py"]',
        'app_web["app/web/"]',
        'core["core/*.py"]',
        'db["db/*.py"]',
        'db_deep["db/deep/"]',
    }


def test_an_undrawn_or_extra_edge_is_named_in_the_pictures_syntax() -> None:
    block = """%% package imports
flowchart LR
subgraph A [a]
    app["app/*.py"]
end

core --> app & db
"""
    nodes, edges = drawn(block)
    assert differences(
        nodes,
        edges,
        {'app["app/*.py"]', 'core["core/*.py"]'},
        {("app", "core"): {"app/main.py: core.words"}, ("core", "app"): {"core/x.py: app.y"}},
    ) == [
        'add node: core["core/*.py"]',
        "add edge: app --> core  (app/main.py: core.words)",
        "remove edge: core --> db",
    ]


def test_every_core_module_and_slack_module_has_its_line() -> None:
    text = DOC.read_text(encoding="utf-8")
    modules = [*ROOT.glob("handlers/**/*.py"), *ROOT.glob("bot/slack/*.py")]
    unlisted = sorted(
        str(path.relative_to(ROOT))
        for path in modules
        if path.name != "__init__.py" and f"`{path.relative_to(ROOT)}`" not in text
    )
    assert not unlisted, "docs/architecture.md names no line for: " + ", ".join(unlisted)
