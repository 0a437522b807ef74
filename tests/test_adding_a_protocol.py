"""docs/ADDING_A_PROTOCOL.md stays true for NFS: every path it names exists, NFS is in the registry as it says,
and its limits, tables and anomaly explanations are where it says they are."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "ADDING_A_PROTOCOL.md"


def test_every_named_path_exists():
    text = DOC.read_text(encoding="utf-8")
    paths = {p for p in re.findall(r"`((?:dissectors|decoder|reports|tests|samples|docs)/[^`<>*]+?)`", text)
             if "/<" not in p}
    assert len(paths) > 20
    missing = sorted(p for p in paths if not (ROOT / p.rstrip("/")).exists())
    assert not missing, missing


def test_nfs_is_registered_as_the_doc_says():
    import dissectors
    from decoder.model import Limits

    assert "nfs" in dissectors.PROTOCOLS
    specs = {(s.name, s.transport.value) for s in dissectors.REGISTRY if s.factory.target.startswith("dissectors.nfs:")}
    assert specs == {(n, t) for n in ("nfs", "mount", "portmapper") for t in ("tcp", "udp")}
    text = DOC.read_text(encoding="utf-8")
    for f in dataclasses.fields(Limits):
        if f.name.startswith(("rpc_", "xdr_", "nfs_")):
            assert f"`{f.name}`" in text
