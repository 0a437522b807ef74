"""The import graph of wiretale's own packages: no new cycle, no new wall break.

The walls (docs/ARCHITECTURE.md, "What each part may import"):

- a dissector imports only the shared model (``decoder.model``) and the dissector package's own
  modules (its helpers ``dissectors._*`` and probes); never the engine, the commands or the reports;
- the reports import neither a dissector's private helper (``dissectors._*``) nor the engine's
  internals: from ``decoder`` only the model;
- the engine (every ``decoder`` module that is not a command) imports no report and no dissector's
  private helper;
- inside the engine, its three parts keep to their jobs (:data:`ENGINE_PART_WALLS`): the dissector host
  (``decoder.host``) reads no capture, link layer or TCP segment and knows nothing of reading and
  reassembly (``decoder.reassembly``); reading and reassembly knows nothing of the host, dissectors,
  objects or transcripts (it hands ordered bytes to a ``Consumer``); the results (``decoder.results``)
  import neither of them: rows go one way, into the results;
- the commands (the ``decoder.commands`` package, ``cli``, ``batch``, ``live``, ``output``) and the
  Python API (``decoder.api``, the other front door) may import anything.

The graph is read from the source with :mod:`ast` (every ``import`` statement, at module level or
inside a function: a lazy import is still an edge), so the test needs no import side effects.

``KNOWN_*`` list the cycles and breaks that exist today. Issue 25 ("A house a newcomer can walk")
removed the last ones, so both are empty: the test fails on any cycle or break, and a ratchet keeps
them empty (a listed one that is gone fails too, so the lists never describe a past state).
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("decoder", "dissectors", "reports")
COMMANDS = frozenset({"decoder.cli", "decoder.batch", "decoder.live", "decoder.output", "decoder.api"})
COMMANDS_PACKAGE = "decoder.commands"


#: The engine's parts (docs/ARCHITECTURE.md, "The engine"): module → the engine modules it may not import
#: (or that any module under a listed package may not import: ``dissectors`` stands for every dissector).
ENGINE_PART_WALLS: dict[str, frozenset[str]] = {
    "decoder.host": frozenset({"decoder.reassembly", "decoder.pipeline", "decoder.capture", "decoder.link",
                               "decoder.defrag", "decoder.tcp", "decoder.share", "decoder.wlan"}),
    "decoder.reassembly": frozenset({"decoder.host", "decoder.pipeline", "decoder.session", "decoder.artifacts",
                                     "decoder.transcripts", "decoder.keylog", "decoder.expect", "dissectors"}),
    "decoder.results": frozenset({"decoder.host", "decoder.reassembly", "decoder.pipeline", "decoder.session",
                                  "decoder.capture", "decoder.link", "decoder.tcp", "dissectors"}),
}


def _walled(mod: str, dep: str) -> bool:
    """Whether ``dep`` is behind one of ``mod``'s engine-part walls."""
    return any(dep == w or dep.startswith(w + ".") for w in ENGINE_PART_WALLS.get(mod, ()))


def is_command(mod: str) -> bool:
    return mod in COMMANDS or mod == COMMANDS_PACKAGE or mod.startswith(COMMANDS_PACKAGE + ".")


#: Cycles present today, each a strongly connected component as a sorted tuple of its modules
#: (a new edge that joins a cycle changes its tuple, so it fails too).
KNOWN_CYCLES: frozenset[tuple[str, ...]] = frozenset()
#: Wall breaks (importer, imported) present today.
KNOWN_BREAKS: frozenset[tuple[str, str]] = frozenset()


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _resolve(mod: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = mod.split(".")
    keep = len(parts) - node.level + (1 if is_pkg else 0)
    return ".".join(parts[:keep] + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """module -> the project modules it imports (a submodule named in ``from P import m`` counts as
    ``P.m``; ``P`` itself counts only when some other name is taken from it)."""
    graph: dict[str, set[str]] = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            mod = _module_name(path)
            edges: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if isinstance(node, ast.Import):
                    edges.update(a.name for a in node.names if a.name.split(".")[0] in PACKAGES)
                elif isinstance(node, ast.ImportFrom):
                    base = _resolve(mod, path.name == "__init__.py", node)
                    if base.split(".")[0] not in PACKAGES:
                        continue
                    subs = [f"{base}.{a.name}" for a in node.names if _is_module(f"{base}.{a.name}")]
                    edges.update(subs)
                    if len(subs) < len(node.names):
                        edges.add(base)
            edges.discard(mod)
            graph[mod] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> set[tuple[str, ...]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[tuple[str, ...]] = set()

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.add(tuple(sorted(comp)))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _private_dissector_helper(name: str) -> bool:
    parts = name.split(".")
    return parts[0] == "dissectors" and len(parts) > 1 and parts[1].startswith("_")


def wall_breaks(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    breaks: set[tuple[str, str]] = set()
    for mod, edges in graph.items():
        top = mod.split(".")[0]
        for dep in edges:
            dtop = dep.split(".")[0]
            if top == "dissectors":
                ok = dtop == "dissectors" or dep == "decoder.model"
            elif top == "reports":
                ok = dtop == "reports" or dep == "decoder.model" or (
                    dtop == "dissectors" and not _private_dissector_helper(dep))
            elif is_command(mod):
                ok = True
            else:  # the engine
                ok = dtop != "reports" and not _private_dissector_helper(dep) and not _walled(mod, dep)
            if not ok:
                breaks.add((mod, dep))
    return breaks


def test_graph_is_read() -> None:
    g = import_graph()
    assert "decoder.model" in g and "dissectors.smtp" in g and "reports.html" in g
    assert "decoder.model" in g["dissectors.smtp"]        # every dissector speaks the model


def test_no_new_cycle() -> None:
    found = cycles(import_graph())
    assert found - KNOWN_CYCLES == set(), "new import cycle(s)"
    assert KNOWN_CYCLES - found == set(), "a known cycle is gone: remove it from KNOWN_CYCLES"


def test_no_new_wall_break() -> None:
    found = wall_breaks(import_graph())
    assert found - KNOWN_BREAKS == set(), "new wall break(s): see the module docstring"
    assert KNOWN_BREAKS - found == set(), "a known break is gone: remove it from KNOWN_BREAKS"


def test_the_checks_catch_what_they_should() -> None:
    """The detectors themselves, on a small made-up graph: a cycle and each kind of wall break."""
    g = {"decoder.a": {"decoder.b"}, "decoder.b": {"decoder.a", "reports.x"},
         "dissectors.ftp": {"decoder.flows", "dissectors._lines"},
         "reports.x": {"dissectors._mime", "dissectors.ftp", "decoder.model"},
         "decoder.cli": {"reports.x", "dissectors._mime"},
         "decoder.host": {"decoder.flows", "decoder.tcp"}, "decoder.reassembly": {"decoder.tcp", "dissectors.ftp"},
         "decoder.results": {"decoder.rows", "decoder.host"}}
    assert cycles(g) == {("decoder.a", "decoder.b")}
    assert wall_breaks(g) == {("decoder.b", "reports.x"), ("dissectors.ftp", "decoder.flows"),
                              ("reports.x", "dissectors._mime"), ("decoder.host", "decoder.tcp"),
                              ("decoder.reassembly", "dissectors.ftp"), ("decoder.results", "decoder.host")}
