"""The wheel holds every package: each folder with an ``__init__.py`` under the three top-level packages is
listed in pyproject.toml (an editable install finds unlisted subpackages, a plain ``pip install .`` does not)."""
from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for top in ("decoder", "dissectors", "reports") for p in (ROOT / top).rglob("__init__.py")
             if "__pycache__" not in p.parts}
    assert {"decoder", "dissectors", "dissectors.probes", "reports"} <= found
    assert found == listed
