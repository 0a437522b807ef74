"""The NFS parts of the report, in Chromium: the session's file tree (paths from MOUNT, LOOKUP, CREATE
and READDIRPLUS, errors beside their path) and the ladder's RFC meanings of procedures and statuses,
on samples/nfs-tcp.pcap; the tree builder's bounds."""
from __future__ import annotations

import pytest

from reports.views import nfs as nfs_tree
from tests.conftest import SAMPLES
from tests.reports.conftest import render


@pytest.fixture(scope="module")
def nfs_report(tmp_path_factory):
    cap = SAMPLES / "nfs-tcp.pcap"
    if not cap.is_file():
        pytest.skip("samples/nfs-tcp.pcap is absent")
    out = tmp_path_factory.mktemp("nfs-report")
    return render(cap, out), out


def _session(a, proc: str) -> str:
    return next(r["uid"] for r in a.rows["nfs"] if r["proc"] == proc)


def test_browser_file_tree_as_the_client_saw_it(page, nfs_report):
    a, out = nfs_report
    pg = page.open(out / "sessions" / f"{_session(a, 'READDIRPLUS')}.html")
    tree = pg.locator("#nfs-tree")
    assert tree.is_visible()
    names = [t.strip() for t in pg.locator("#nfs-tree .nfs-name").all_inner_texts()]
    assert names == ["/", "srv/", "wiretale-nfs/", "docs", "hello.txt"]       # listed by READDIRPLUS
    assert "READDIRPLUS" in tree.inner_text()
    pg = page.open(out / "sessions" / f"{_session(a, 'WRITE')}.html")
    text = pg.locator("#nfs-tree").inner_text()
    assert "upload.bin" in text and "CREATE" in text and "WRITE" in text
    pg = page.open(out / "sessions" / f"{_missing(a)}.html")
    assert pg.locator("#nfs-tree .nfs-error").inner_text() == "NFS3ERR_NOENT"
    assert page.errors() == []


def _missing(a) -> str:
    return next(r["uid"] for r in a.rows["nfs"] if r["status"] == "NFS3ERR_NOENT")


def test_browser_ladder_gives_rfc_meanings(page, nfs_report):
    a, out = nfs_report
    pg = page.open(out / "sessions" / f"{_missing(a)}.html")
    svg = pg.locator("#ladder-svg").inner_html()
    assert "NFS3 LOOKUP" in svg and "looks a name up in a directory" in svg
    assert "no such file or directory" in svg                  # NFS3ERR_NOENT, RFC 1813 2.6
    assert page.errors() == []


def test_portmapper_session_has_no_tree(nfs_report):
    a, out = nfs_report
    pm = next(c["uid"] for c in a.rows["conn"] if c["service"] == "portmapper")
    assert 'id="nfs-tree"' not in (out / "sessions" / f"{pm}.html").read_text()


def test_tree_bounds_and_unknown_handles():
    rows = [{"path": f"<fh:1a2b3c4d>/d/f{i}", "proc": "LOOKUP", "status": "NFS3ERR_NOENT"} for i in range(600)]
    t = nfs_tree.file_tree(rows)
    assert t["total"] == 602 and len(t["nodes"]) == nfs_tree.MAX_NODES
    assert [n["name"] for n in t["nodes"][:2]] == ["<fh:1a2b3c4d>", "d"] and t["nodes"][1]["dir"]
    assert nfs_tree.file_tree([{"path": None, "proc": "NULL"}]) is None


def test_nfs_services_have_their_colours(nfs_report):
    from reports import html as rh

    a, out = nfs_report
    index = (out / "index.html").read_text()
    for service in ("nfs", "mount", "portmapper"):
        assert rh.COLORS[service] != rh.OTHER_COLOR and rh.COLORS[service] in index
