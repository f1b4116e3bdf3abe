"""The house's shape, checked from the source: the import graph has no cycle, `types` imports nothing of
ours, only the store speaks Chroma, and the front ends reach the core only through the facade and types."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "assistant"
# What cli/ and web/ may import from the package besides themselves: the facade, the shared types and the
# small bottom helpers. `evaluation` is a client of the facade too (it runs questions through it); `newsqa
# serve` starts the web app.
FRONT_END_ALLOWED = {"assistant", "types", "settings", "errors", "dates", "flags", "evaluation", "web"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every `assistant...` module this file imports, at module level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("assistant"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"  # `from assistant.web import render` names a module
                found.add(sub if (ROOT / (sub.replace(".", "/") + ".py")).exists() else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("assistant")}
    return found


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports(p) for p in PACKAGE.rglob("*.py")}


def third_party(path: Path) -> set[str]:
    tops: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            tops.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            tops |= {a.name.split(".")[0] for a in node.names}
    return tops


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """A cycle in the graph (as a path), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt == node or nxt not in edges:
                continue
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_import_graph_has_no_cycle() -> None:
    edges = graph()
    assert len(edges) > 40  # the whole package was read
    assert find_cycle(edges) is None, " -> ".join(find_cycle(edges) or [])
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]  # the check can fail


def test_types_imports_nothing_of_ours_and_no_heavy_library() -> None:
    assert imports(PACKAGE / "types.py") == set()
    assert third_party(PACKAGE / "types.py") <= {
        "__future__",
        "collections",
        "dataclasses",
        "datetime",
        "hashlib",
        "re",
        "typing",
        "urllib",
    }
    code = "import sys, assistant.types; print(sorted(m for m in ('chromadb', 'torch', 'llama_index', 'gradio', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_only_the_store_speaks_chroma() -> None:
    speakers = {module_name(p) for p in PACKAGE.rglob("*.py") if "chromadb" in third_party(p)}
    assert speakers == {"assistant.store.client"}
    calls = re.compile(
        r"collection\.(get|delete|count|query|add|upsert|update|modify)\(|where=|\"\$(in|and|or)\""
    )
    for path in PACKAGE.rglob("*.py"):
        if module_name(path) == "assistant.store.chunks":
            continue  # ChunkStore: every Chroma call and every where clause
        text = path.read_text(encoding="utf-8")
        assert not calls.search(text), f"{path}: {calls.search(text)}"
    assert calls.search(
        (PACKAGE / "store" / "chunks.py").read_text(encoding="utf-8")
    )  # the pattern finds them


def test_front_ends_use_only_the_facade_and_the_shared_types() -> None:
    for room in ("cli", "web"):
        for path in (PACKAGE / room).rglob("*.py"):
            for name in imports(path):
                top = name.split(".")[1] if name.count(".") else name
                assert top == room or top in FRONT_END_ALLOWED, f"{module_name(path)} imports {name}"
    ui = imports(ROOT / "ui.py")
    assert ui == {"assistant.web.app"}  # ui.py stays a thin entry point


def test_every_subpackage_says_what_it_owns() -> None:
    for init in PACKAGE.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert len(doc.split()) >= 30, f"{init} needs a paragraph on what the room owns"


def test_every_subpackage_and_the_prompts_are_packaged() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    found = {module_name(p) for p in PACKAGE.rglob("__init__.py")}
    assert set(config["packages"]) == found | {"assistant.prompts"}  # a new room must be listed
    assert config["package-dir"]["assistant.prompts"] == "prompts"
