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


def test_nfs_presentation_is_declared_beside_its_probe():
    """The report colours and live columns come from the probe's PRESENTATION, not from reports or live."""
    import dissectors
    import dissectors.probes.nfs as probe
    from decoder import live
    from reports import html

    from reports import _meanings

    own = probe.PRESENTATION
    assert {"rpc_malformed", "rpc_reply_without_call"} <= set(own.anomalies)
    for name, text in own.anomalies.items():
        assert _meanings.explain_anomaly(name) == text
    assert set(own.colours) == {"nfs", "mount", "portmapper"} and set(own.live_columns) == {"rpc", "nfs"}
    for service, colour in own.colours.items():
        assert dissectors.PRESENTATION.colours[service] == html.COLORS[service] == colour
    for table, cols in own.live_columns.items():
        assert live.ROW_FIELDS[table] == cols
        line = live.format_row(table, {"ts": 0.0, "uid": "C1", **{c: f"v-{c}" for c in cols}})
        assert line is not None and all(f"{c}=v-{c}" in line for c in cols)
    for name in ("reports/html.py", "decoder/commands/live.py"):
        text = (ROOT / name).read_text(encoding="utf-8")
        assert '"portmapper"' not in text and '"nfs": (' not in text, f"{name} still names NFS's presentation"


def test_nfs_view_is_declared_in_its_own_module():
    """The NFS file tree is a view of reports/views (one line there), not wired by name in the report."""
    from reports import views
    from reports.views import nfs

    (view,) = [v for v in views.VIEWS if v.build is nfs.view]
    assert view.services == {"nfs", "mount"} and view.template == "_nfs_tree.html"
    html = (ROOT / "reports" / "html.py").read_text(encoding="utf-8")    # (it makes the session and shared pages)
    assert "nfs_tree" not in html and "TelnetOutput" not in html and "def replay" not in html
    assert "_nfs_tree.html" not in html and 'id="replay"' not in html
