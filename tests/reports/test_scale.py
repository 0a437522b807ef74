"""Issue 22, acceptance 2: the index at scale, in Chromium (playwright over Debian's chromium).

* A port scan of 21,000 rejected connections plus one DNS and one HTTP exchange
  (tests/reports/scale_captures.py): index.html stays under 2 MB, the scan is one group (one
  entry, one timeline lane) that expands to its targets and ports, and choosing DNS in the
  protocol menu finds the DNS session.
* 3,200 DNS sessions: the text search finds a session that is not on the first screen, and the
  filter sees every session, not one page of them.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.reports.conftest import index_row_uids
from tests.reports.scale_captures import SCANNER, write_many, write_scan


def _read(cap: Path, out: Path) -> None:
    from decoder.cli import main

    assert main(["read", str(cap), "-o", str(out)]) == 0


@pytest.fixture(scope="module")
def scan_report(tmp_path_factory):
    d = tmp_path_factory.mktemp("scan")
    write_scan(d / "scan.pcap")
    _read(d / "scan.pcap", d / "out")
    return d / "out"


@pytest.fixture(scope="module")
def many_report(tmp_path_factory):
    d = tmp_path_factory.mktemp("many")
    write_many(d / "many.pcap", 3200)
    _read(d / "many.pcap", d / "out")
    return d / "out"


def _conn(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "tables" / "conn.jsonl").read_text().splitlines()]


def test_scan_index_is_small_and_the_scan_is_one_group(scan_report):
    conn = _conn(scan_report)
    assert len(conn) == 21_002
    index = (scan_report / "index.html").read_text(encoding="utf-8")
    assert len(index.encode()) <= 2 * 1024 * 1024
    label = f"{SCANNER} probed 3 hosts on 7,000 ports: 21,000 connections rejected"
    assert index.count(label) >= 2                       # its entry and its timeline lane
    assert index.count('<g class="lane probe"') == 1 and index.count('<g class="lane"') == 2
    assert len(list((scan_report / "sessions").glob("*.html"))) == 2
    html_bytes = sum(p.stat().st_size for p in scan_report.rglob("*.html"))
    assert html_bytes < 3 * 1024 * 1024


def test_browser_scan_dns_found_and_group_expands(page, scan_report):
    conn = _conn(scan_report)
    dns = next(c for c in conn if c["service"] == "dns")
    pg = page.open(scan_report / "index.html")
    pg.select_option("#proto", "dns")
    rows = pg.locator("#stable tr.srow")
    assert rows.count() == 1 and rows.first.get_attribute("data-uid") == dns["uid"]
    assert pg.locator("#count").inner_text().startswith("1 of 2 sessions")
    link = rows.first.locator("a")
    assert link.get_attribute("href") == f"sessions/{dns['uid']}.html"
    group = pg.locator("details.probe")
    assert group.count() == 1 and not group.first.evaluate("d => d.open")
    assert not pg.locator("details.probe table").first.is_visible()
    pg.click("details.probe summary")
    assert group.first.evaluate("d => d.open")
    targets = pg.locator("details.probe table").first.inner_text()
    assert "203.0.113.10" in targets and "1-7000" in targets
    pg.select_option("#proto", "")
    pg.click("#tl g.lane.probe")                           # the scan's lane opens its entry too
    assert page.errors() == []
    assert all(u.startswith("file://") for u in page.requests)


def test_browser_search_finds_a_session_beyond_the_first_screen(page, many_report):
    conn = _conn(many_report)
    assert len(conn) == 3200
    last = max(conn, key=lambda c: c["ts"])
    pg = page.open(many_report / "index.html")
    shown = pg.locator("#stable tr.srow")
    assert 0 < shown.count() < len(conn)
    assert pg.locator(f'#stable tr.srow[data-uid="{last["uid"]}"]').count() == 0
    pg.fill("#q", f":{last['orig_p']} ")
    assert pg.locator(f'#stable tr.srow[data-uid="{last["uid"]}"]').count() == 1
    assert pg.locator("#count").inner_text().startswith(f"1 of {len(conn)} sessions")
    pg.fill("#q", last["uid"].lower())
    row = pg.locator("#stable tr.srow")
    assert row.count() == 1
    row.first.locator("a").click()
    pg.wait_for_load_state("load")
    assert re.search(rf"/sessions/shared-\d+\.html#{last['uid']}$", pg.url)     # a small session: a shared page
    assert pg.locator(f'section[id="{last["uid"]}"]').is_visible()
    assert page.errors() == []


def test_browser_a_later_index_page_filters_its_own_rows(page, many_report):
    """A page after the first lists its sessions without the script's data: the filter box and the protocol
    menu hide its rows (reports.html._session_row: the protocol in data-proto, the uid the second cell's text)."""
    uids = index_row_uids((many_report / "index-2.html").read_text(encoding="utf-8"))
    pg = page.open(many_report / "index-2.html")
    rows = pg.locator("#stable tr.srow:visible")
    assert rows.count() == len(uids) > 8
    pg.fill("#q", uids[7].lower())
    assert rows.count() == 1 and rows.first.locator("a").inner_text() == uids[7]
    assert pg.locator("#count").inner_text() == f"1 of {len(uids)} sessions on this page"
    pg.fill("#q", "")
    pg.select_option("#proto", "dns")          # (every session of this capture is DNS)
    assert rows.count() == len(uids)
    pg.fill("#q", "tcp")
    assert rows.count() == 0
    assert page.errors() == []


def test_many_sessions_keep_every_session_without_javascript(many_report):
    uids = {c["uid"] for c in _conn(many_report)}
    pages = sorted(many_report.glob("index*.html"))
    rows = [u for p in pages for u in index_row_uids(p.read_text(encoding="utf-8"))]
    assert sorted(rows) == sorted(uids)
    assert (many_report / "index.html").stat().st_size < 2 * 1024 * 1024


def test_small_sessions_share_pages_and_every_link_resolves(many_report):
    from urllib.parse import unquote

    from reports.html import SHARED_PER_PAGE
    from tests.reports.test_html import check_page

    uids = {c["uid"] for c in _conn(many_report)}
    own = list((many_report / "sessions").glob("C*.html"))
    shared = sorted((many_report / "sessions").glob("shared-*.html"))
    assert not own and len(shared) == -(-len(uids) // SHARED_PER_PAGE)
    sections: dict[str, set] = {}
    for p in shared:
        text = check_page(p)
        sections[p.name] = set(re.findall(r'<section class="card" id="([^"]+)">', text))
    assert set().union(*sections.values()) == uids
    for p in sorted(many_report.glob("index*.html")):
        for href in re.findall(r'href="(sessions/[^"]+)"', p.read_text(encoding="utf-8")):
            name, _, uid = unquote(href).partition("#")
            assert uid in sections[name.split("/", 1)[1]], href


def test_browser_shared_section_draws_its_decoded_fields(page, many_report):
    """A small session's decoded fields travel as JSON on its shared page and are drawn when opened: the
    query of its tables/dns.jsonl row is in the drawn table, under the ``query`` heading."""
    dns = [json.loads(line) for line in (many_report / "tables" / "dns.jsonl").read_text().splitlines()]
    shared = sorted((many_report / "sessions").glob("shared-*.html"))[-1]
    pg = page.open(shared)
    d = pg.locator("details.fields").first
    uid = d.evaluate("e => e.closest('section').id")
    row = next(r for r in dns if r["uid"] == uid)
    assert d.locator("table").count() == 0                 # drawn on demand
    d.locator("summary").click()
    cells = d.locator("table.kv tr").all_inner_texts()
    assert any(c.split("\t") == ["query", row["query"]] for c in cells), cells
    from reports.html import _fmt_ts
    assert ["time", _fmt_ts(row["ts"])] in [c.split("\t") for c in cells], cells   # times travel cut in parts
    # its events travel as JSON too (their meanings once per page), drawn at once as its timeline.jsonl rows
    tl = [json.loads(line) for line in (many_report / "tables" / "timeline.jsonl").read_text().splitlines()]
    mine = [r for r in tl if r["uid"] == uid]
    ev = pg.locator(f'section[id="{uid}"] table.events')
    assert ev.locator("th").all_inner_texts()[-1] == "what it means"
    drawn = ev.locator("tr.ev").all()
    assert len(drawn) == len(mine) > 0
    for tr, r in zip(drawn, mine):
        cells = tr.locator("td").all_inner_texts()
        assert cells[0] == str(r["frame"]) and cells[3] == ("client" if r["direction"] == "orig" else "server")
        assert cells[4] == r["kind"] and cells[6] == (r.get("meaning") or "")
    # its raw bytes travel once (text or base64), and the script writes their text as reports.html.printable does
    from reports.html import printable, raw_chunk
    raw = pg.locator(f'section[id="{uid}"] pre.raw').first
    first = next(c for r in json.loads(pg.locator(f'section[id="{uid}"] script.raw-data').text_content())
                 if "gap" not in (c := raw_chunk(r)))
    assert raw.text_content() == printable(first["data"]) != ""
    assert page.errors() == []
