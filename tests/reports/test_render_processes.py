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


def test_a_stop_while_pages_render_in_parallel_ends_every_process(tmp_path):
    """SIGTERM to ``read --workers 2`` while its renderers write pages: the run ends at once with summary.json
    partial (or complete, had it finished), and no renderer is left behind (none blocks on the queue)."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.reports.scale_captures import write_many

    cap = tmp_path / "many.pcap"
    write_many(cap, n=3000)
    out = tmp_path / "out"
    root = Path(__file__).resolve().parents[2]
    p = subprocess.Popen([sys.executable, "-m", "decoder.cli", "read", str(cap), "-o", str(out), "--workers", "2"],
                         cwd=root, env=dict(os.environ, PYTHONPATH=str(root)), start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (out / "sessions" / "shared-1.html").exists() and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(p.pid, signal.SIGTERM)
    try:
        err = p.communicate(timeout=30)[1].decode()
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    time.sleep(0.5)
    with pytest.raises(ProcessLookupError):     # nothing left in the run's process group
        os.killpg(p.pid, 0)
    state = json.loads((out / "summary.json").read_text())["output"]
    if state["state"] == "partial":
        assert p.returncode != 0 and "report" in state["missing"] and "Traceback" not in err
    else:
        assert state["state"] == "complete" and p.returncode == 0


def test_renderers_reading_their_own_partitions_write_the_pages_one_process_writes(tmp_path):
    """``read``'s sink is partitioned by uid (reports.page_rows): each forked renderer reads the page groups of
    its runs of partitions, and a shared page that runs past them is finished by reading on."""
    from decoder.rows import RowStore
    from reports.collect import SORT_KEY, ReportCollector
    from reports.html import SHARED_AT, render_report, write_report
    from reports.page_rows import PartitionSink
    from tests.reports.scale_captures import write_many

    cap = tmp_path / "many.pcap"
    write_many(cap, n=SHARED_AT + 250)
    with analyze(cap, out_dir=tmp_path / "a", transcripts=True) as a:
        write_report(a, tmp_path / "ref", processes=1)
        trees = []
        for n in (1, 2, 3):
            spill = tmp_path / f"spill{n}"

            def store(name: str, key, spill=spill) -> RowStore:
                return RowStore(name, spill, mem_rows=40, key=key)

            col = ReportCollector(PartitionSink(spill, store, SORT_KEY, mem_rows=40), store)
            col.feed_all(a.rows)
            render_report(col, tmp_path / f"out{n}", a.summary, transcripts=a.transcript_head, processes=n)
            trees.append(_tree(tmp_path / f"out{n}"))
    ref = _tree(tmp_path / "ref")
    assert all(t == ref for t in trees)
    assert len([k for k in ref if "/shared-" in k]) >= 5
