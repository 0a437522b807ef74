"""The session-page views (reports/views): each names services that exist, a template that exists,
and the report shows a view only for its services (a Telnet session's page has the replay and no
file tree; an NFS session's the file tree and no replay)."""
from __future__ import annotations

from pathlib import Path

import pytest

from dissectors import PRESENTATION, REGISTRY
from reports import views

TEMPLATES = Path(views.__file__).resolve().parent.parent / "templates"
SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def test_every_view_names_real_services_and_an_existing_template():
    services = {s.service_name for s in REGISTRY}
    anchors = [v.anchor for v in views.VIEWS]
    assert len(set(anchors)) == len(anchors)
    for v in views.VIEWS:
        assert v.services and v.services <= services, v.name
        assert v.services <= set(PRESENTATION.colours), v.name
        assert (TEMPLATES / v.template).is_file(), v.template


def _inp(service: str, rows: dict[str, list[dict]]) -> views.ViewInput:
    return views.ViewInput({"uid": "C1", "service": service, "ts": 0.0}, lambda t: rows.get(t, []),
                           lambda s: s.replace("secret", "******"))


def test_for_session_picks_views_by_service_and_page_kind():
    telnet = {"timeline": [{"kind": "TelnetOutput", "ts": 1.5, "direction": "resp",
                            "fields": {"data": "login: secret\r\n"}}]}
    shown = views.for_session(_inp("telnet", telnet))
    assert [s["anchor"] for s in shown] == ["replay"]
    assert shown[0]["view"]["final"] == "login: ******\n" and shown[0]["view"]["duration"] == 1.5
    assert views.for_session(_inp("telnet", telnet), small=True) == []      # not in a shared section
    nfs = {"nfs": [{"path": "/srv/a", "proc": "READ", "status": "NFS3_OK"}]}
    assert views.for_session(_inp("telnet", nfs)) == []                      # no Telnet output: no replay
    tree = views.for_session(_inp("nfs", nfs), small=True)
    assert [s["anchor"] for s in tree] == ["nfs-tree"] and tree[0]["view"]["total"] == 3
    assert views.for_session(_inp("http", {**telnet, **nfs})) == []


@pytest.mark.parametrize("sample,has,lacks", [("telnet.pcapng", 'id="replay"', 'id="nfs-tree"'),
                                              ("nfs-tcp.pcap", 'id="nfs-tree"', 'id="replay"')])
def test_report_pages_carry_their_protocols_view(tmp_path, sample, has, lacks):
    from decoder.api import analyze
    from reports.html import write_report
    if not (SAMPLES / sample).is_file():
        pytest.skip(f"{sample} absent")
    write_report(analyze(SAMPLES / sample), tmp_path)
    pages = [p.read_text(encoding="utf-8") for p in (tmp_path / "sessions").glob("*.html")]
    assert any(has in p for p in pages)
    assert not any(lacks in p for p in pages)
    if has == 'id="replay"':
        assert any('<a href="#replay">Replay</a>' in p for p in pages)
