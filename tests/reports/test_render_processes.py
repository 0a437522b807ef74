"""Session pages rendered by several forked processes (``read --workers N``: reports.html.render_report's
``processes``) are the same files, byte for byte, as one process renders: own pages and shared pages
(past SHARED_AT pages), on a capture with enough sessions to have both."""
from __future__ import annotations

from pathlib import Path

import pytest

from decoder.api import analyze


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("sample", ["ftp.pcapng", "many"])
def test_pages_from_two_processes_equal_one(tmp_path, sample):
    from reports.html import SHARED_AT, write_report
    from tests.reports.scale_captures import write_many

    if sample == "many":
        cap = tmp_path / "many.pcap"
        write_many(cap, n=SHARED_AT + 120)    # DNS exchanges: small sessions past SHARED_AT share pages
    else:
        cap = Path(__file__).resolve().parents[2] / "samples" / sample
    with analyze(cap, out_dir=tmp_path / "a", transcripts=True) as a:
        trees = []
        for n in (1, 2):
            out = tmp_path / f"out{n}"
            write_report(a, out, processes=n)
            trees.append(_tree(out))
    one, two = trees
    assert one == two
    pages = [k for k in one if k.startswith("sessions/")]
    shared = [k for k in pages if "/shared-" in k]
    assert len(shared) >= 3 if sample == "many" else pages and not shared    # ftp: own pages only
