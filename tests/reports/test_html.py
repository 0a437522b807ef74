"""The HTML report: valid, self-contained, inert with hostile captures, usable in a browser.

Static checks (always): every page parses with html5lib without errors, runs no inline script (its
one script and style sheet are the report's own files under OUT/assets/, the CSP allows scripts from
'self' only), has no event-handler attributes, and references no external URL. Browser
checks (headless Debian chromium through Playwright; skipped when either is absent): no
console errors, the timeline shows every session, the filters work, a session page shows
its ladder, the Telnet replay plays, and injected script/HTML in every decoded field stays
text with nothing executed.
"""
from __future__ import annotations

import math
import json
import re
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import unquote

import pytest

html5lib = pytest.importorskip("html5lib")

import reports.html as rh
from reports.html import Masker, printable, write_report
from reports.views.telnet import apply_backspaces as _apply_backspaces
from reports.views.telnet import terminal_text as _terminal_text
from tests.reports.conftest import Page, index_row_uids, ladder_rows, render
from tests.reports.hostile import NOSPACE, PWN1, PWN2, write_hostile

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted(p for p in (ROOT / "samples").glob("*") if p.suffix in (".pcap", ".pcapng"))
_SCHEME = re.compile(r"^\s*[a-zA-Z][a-zA-Z0-9+.\-]*:")


# ----------------------------------------------------------------------------- static checks
def check_page(path: Path) -> str:
    """Parse a page and assert it is valid, self-contained and inert; returns its text."""
    text = path.read_text(encoding="utf-8")
    parser = html5lib.HTMLParser(tree=html5lib.treebuilders.getTreeBuilder("etree"), namespaceHTMLElements=False)
    doc = parser.parse(text)
    assert not parser.errors, f"{path.name}: html5lib errors {parser.errors[:5]}"
    scripts = 0
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.rsplit("}", 1)[-1].lower()
        if tag == "script":
            if el.attrib.get("type") == "application/json":     # data only: it must parse, and it runs nothing
                assert "src" not in el.attrib, f"{path.name}: external data block"
                json.loads(el.text or "")
            else:   # the one script: the report's own file, nothing inline
                assert el.attrib.get("src") == _asset(path, "wiretale.js") and not (el.text or "").strip(), \
                    f"{path.name}: a script other than the report's own {el.attrib}"
                assert (path.parent / el.attrib["src"]).is_file(), f"{path.name}: {el.attrib['src']} missing"
                scripts += 1
        if tag == "link":   # the one style sheet: the report's own file
            assert el.attrib == {"rel": "stylesheet", "href": _asset(path, "wiretale.css")}, f"{path.name}: <link> {el.attrib}"
            assert (path.parent / el.attrib["href"]).is_file(), f"{path.name}: {el.attrib['href']} missing"
        assert tag not in ("iframe", "object", "embed", "img", "base", "form", "meta") or \
            (tag == "meta" and "http-equiv" in el.attrib or tag == "meta" and set(el.attrib) <= {
                "charset", "name", "content", "http-equiv"}), f"{path.name}: unexpected <{tag}>"
        for k, v in el.attrib.items():
            name = k.rsplit("}", 1)[-1].lower()
            assert not name.startswith("on"), f"{path.name}: event handler attribute {name}={v!r} on <{tag}>"
            if name in ("href", "src", "action", "formaction", "poster", "srcset", "data"):
                assert not v.startswith("//"), f"{path.name}: protocol-relative URL {v!r}"
                assert not _SCHEME.match(v), f"{path.name}: URL with a scheme {v!r}"
            if "url(" in v:
                assert re.fullmatch(r"url\(#[\w-]+\)", v.strip()), f"{path.name}: url() reference {v!r}"
    assert scripts <= 1, f"{path.name}: {scripts} script elements"
    assert re.search(r"script-src 'self';", text) and not re.search(r"script-src[^;]*unsafe", text), f"{path.name}: CSP"
    return text


def _asset(page: Path, name: str) -> str:
    """Where a page links the report's shared style sheet or script from (OUT/assets/)."""
    return ("../" if page.parent.name == "sessions" else "") + "assets/" + name


def local_links(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [unquote(h) for h in re.findall(r'href="([^"#]+)', text)]


def all_pages(out: Path) -> list[Path]:
    return sorted(out.glob("index*.html")) + sorted((out / "sessions").glob("*.html"))


# ----------------------------------------------------------------------------- units
def test_printable_makes_controls_visible_and_stays_str():
    s = printable(b"a\x00b\r\n\x1b[31m\xff<")
    assert s == "a\\x00b\\r\n\\x1b[31m\\xff<"
    assert type(s) is str   # never Markup: autoescape still applies
    assert printable("x\u202ey", one_line=True) == "x\\u202ey"
    assert printable("a\nb", one_line=True) == "a\\nb"


def test_masker_hides_secret_and_its_base64_forms():
    import base64
    m = Masker([{"username": "bob", "secret": "s3cret!"}], show=False)
    assert m.text("PASS s3cret!") == "PASS ••••••"
    plain = base64.b64encode(b"\0bob\0s3cret!").decode()
    basic = base64.b64encode(b"bob:s3cret!").decode()
    assert "s3cret" not in m.text(f"AUTH PLAIN {plain}") and plain not in m.text(f"AUTH PLAIN {plain}")
    assert basic not in m.text(f"Authorization: Basic {basic}")
    assert m.value("password", "anything") == "••••••"
    assert m.ranges(b"xx s3cret! yy") == [(3, 10)]
    assert Masker([{"username": "bob", "secret": "s3cret!"}], show=True).text("s3cret!") == "s3cret!"


def test_terminal_text_is_what_a_terminal_shows():
    assert _terminal_text("hel\x1b[1mlo\r\nok\r\0x\x07") == "hello\nok\nx"
    assert _apply_backspaces("ab\bc\n\bd") == "ac\nd"


# ----------------------------------------------------------------------------- samples
@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_renders(sample, tmp_path):
    a = render(sample, tmp_path)
    conn = a.rows.get("conn", [])
    pages = all_pages(tmp_path)
    sessions = list((tmp_path / "sessions").glob("*.html"))
    assert {p.stem for p in sessions} == {c["uid"] for c in conn}
    secrets = {c["secret"] for c in a.rows.get("credentials", []) if c.get("secret") and len(c["secret"]) >= 3}
    lanes = 0
    for p in pages:
        text = check_page(p)
        assert "could not be rendered" not in text, p.name
        for s in secrets:
            assert s not in text, f"{p.name} shows a secret"
        if p.name.startswith("index"):
            lanes += text.count('<g class="lane"')
        for link in local_links(p):
            assert (p.parent / link).exists(), f"{p.name}: broken link {link}"
    assert lanes == len(conn)
    for t in (tmp_path / "sessions").glob("*.txt"):
        for s in secrets:
            assert s not in t.read_text(encoding="utf-8")
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    for e in a.rows.get("emails", [])[:rh.TABLE_ROWS]:
        assert f'href="{e["eml"]}"' in index
    for f in a.rows.get("files", [])[:rh.TABLE_ROWS]:
        if f.get("path"):
            assert (tmp_path / f["path"]).is_file()


def _sample(name: str) -> Path:
    p = ROOT / "samples" / name
    if not p.is_file():
        pytest.skip(f"samples/{name} is absent")
    return p


def test_show_secrets_shows_them(tmp_path):
    a = render(_sample("ftp.pcapng"), tmp_path, show_secrets=True)
    secrets = {c["secret"] for c in a.rows["credentials"]}
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert secrets and all(s in index for s in secrets)
    assert index.count("sent in cleartext") >= len(a.rows["credentials"])


def test_ftp_data_grouped_under_control_and_on_its_ladder(tmp_path):
    a = render(_sample("ftp.pcapng"), tmp_path)
    conn = a.rows["conn"]
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    order = re.findall(r'<g class="lane" data-proto="([^"]*)" data-uid="([^"]+)"', index)
    by = {c["uid"]: c for c in conn}
    for i, (_svc, uid) in enumerate(order):
        parent = by[uid]["parent_uid"]
        if parent:   # a child lane comes after its parent, with only siblings in between
            j = [u for _, u in order].index(parent)
            assert j < i and all(by[u]["parent_uid"] == parent for _, u in order[j + 1:i])
    ctrl = next(u for u in by if any(c["parent_uid"] == u for c in conn))
    page = (tmp_path / "sessions" / f"{ctrl}.html").read_text(encoding="utf-8")
    kids = [c for c in conn if c["parent_uid"] == ctrl]
    rows = ladder_rows(page)
    assert sum(1 for r in rows if r[0] == "c") >= 2 * len(kids)
    # the control session's own arrows travel as indices into its transcript, once (reports.html._ladder_refs)
    written = json.loads(re.search(r'<script type="application/json" id="ladder-data">(.*?)</script>', page, re.S)[1])
    assert sum(1 for r in written if isinstance(r, int) or len(r) == 2) == sum(1 for r in rows if r[0] == "a") > 0
    # without JavaScript: the first LADDER_TEXT arrows as text, and where the rest are
    listed = re.search(r'<details class="nojs">.*?<pre class="mono">(.*?)</pre>', page, re.S)[1]
    assert listed.count("\n") == min(len(rows), rh.LADDER_TEXT) and "tables/timeline.jsonl" in page
    own = sum(1 for e in a.rows["timeline"] if e["uid"] == ctrl)
    kid_events = sum(1 for e in a.rows["timeline"] if e["uid"] in {k["uid"] for k in kids})
    assert sum(1 for r in rows if r[0] in "ac") == min(own + kid_events + 2 * len(kids), rh.LADDER_EVENTS)


def test_paging_keeps_every_session(tmp_path, monkeypatch):
    monkeypatch.setattr(rh, "LANES_PER_PAGE", 4)
    a = render(_sample("ftp.pcapng"), tmp_path)
    n = len(a.rows["conn"])
    pages = sorted(tmp_path.glob("index*.html"))
    assert len(pages) == math.ceil(n / 4)
    uids = []
    for p in pages:
        text = check_page(p)
        uids += re.findall(r'<g class="lane" data-proto="[^"]*" data-uid="([^"]+)"', text)
        for q in pages:
            assert f'href="{q.name}"' in text or q == p
    assert sorted(uids) == sorted(c["uid"] for c in a.rows["conn"])


def test_hostile_capture_static(tmp_path):
    cap = tmp_path / "hostile.pcap"
    write_hostile(cap)
    out = tmp_path / "out"
    a = render(cap, out)
    services = {c["service"] for c in a.rows["conn"]}
    assert services >= {"http", "smtp", "ftp", "ftp-data", "telnet", "dns", "snmp", "tftp"}
    seen = ""
    for p in all_pages(out):
        text = check_page(p)
        assert "<script>window" not in text and "<img src=x" not in text and "<svg/onload" not in text
        assert "<svg onload" not in text
        seen += text
    # the payloads are there, as text
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in seen
    assert "&lt;svg/onload=window.__pwned=4&gt;" in seen
    assert "hunter2-Secret" not in seen and "pw-Secret-42" not in seen


# ----------------------------------------------------------------------------- scale
def _fake_analysis(n: int) -> SimpleNamespace:
    conn, timeline = [], []
    t0 = 1_700_000_000.0
    svcs = ["http", "dns", "smtp", "ftp", "tftp", "snmp", "", "imap"]
    for i in range(n):
        uid = f"C{i:017d}"
        ts = t0 + i * 0.05
        svc = svcs[i % len(svcs)]
        conn.append({"ts": ts, "uid": uid, "orig_h": f"10.0.{i // 250 % 250}.{i % 250}", "orig_p": 40000 + i % 20000,
                     "resp_h": "192.0.2.1", "resp_p": 80, "proto": "udp" if svc in ("dns", "snmp", "tftp") else "tcp",
                     "service": svc, "duration": 0.2, "orig_bytes": 120, "resp_bytes": 3400, "conn_state": "SF",
                     "missed_bytes": 0, "history": "ShADadFf", "orig_pkts": 5, "resp_pkts": 6, "roles_guessed": False,
                     "out_of_order": 0, "retransmissions": 0, "gaps": 0, "parent_uid": None, "expect_token": None,
                     "nat": False, "first_frame": i * 11 + 1, "last_frame": i * 11 + 11, "close_reason": "finished"})
        for k in range(2):
            timeline.append({"ts": ts + k * 0.01, "uid": uid, "orig_h": "10.0.0.1", "orig_p": 1, "resp_h": "192.0.2.1",
                             "resp_p": 80, "proto": svc, "direction": "orig" if k == 0 else "resp", "kind": "X",
                             "summary": f"event {k}", "meaning": "", "frame": i * 11 + 4 + k})
    summary = {"wiretale": "test", "captures": [{"path": "big.pcap", "format": "pcap", "size": 1, "gzip": False,
                                                "linktypes": [1], "frames": n * 11, "first_ts": t0,
                                                "last_ts": t0 + n * 0.05, "warnings": []}],
               "errors": [], "packets": {"total": n * 11, "decoded": n * 11, "skipped": 0, "by_kind": {"tcp": n * 11}},
               "flows": {"total": n, "tcp": n, "udp": 0}, "sessions": {}, "anomalies": {}, "limits_hit": {},
               "files": 0, "emails": 0, "credentials": 0, "limits": {}}
    return SimpleNamespace(rows={"conn": conn, "timeline": timeline}, summary=summary, out_dir=None, streams={})


def test_ten_thousand_sessions_index_stays_small(tmp_path):
    a = _fake_analysis(10_000)
    col = rh.ReportCollector()
    col.feed_all(a.rows)
    rh._Report(col, tmp_path, a.summary, False).write_index()     # session pages: see the test below (time)
    size = (tmp_path / "index.html").stat().st_size
    assert size < 5 * 1024 * 1024, size
    pages = sorted(tmp_path.glob("index*.html"))
    assert len(pages) == math.ceil(10_000 / rh.LANES_PER_PAGE)
    texts = [p.read_text(encoding="utf-8") for p in sorted(pages, key=lambda p: p.name != "index.html")]
    lanes = texts[0].count('<g class="lane group"')             # past LANE_GROUP_AT sessions, lanes are groups
    assert 0 < lanes <= rh.MAX_LANES and all('<g class="lane' not in t for t in texts[1:])
    data = re.search(r'<pre id="sdata" hidden>(.*?)</pre>', texts[0], re.S).group(1).split("\n")
    uids = [c["uid"] for c in a.rows["conn"]]
    assert sorted(line.split("\t")[0] for line in data) == sorted(uids)        # the script sees every session
    rows = [u for t in texts for u in index_row_uids(t)]
    assert sorted(rows) == sorted(uids)                                            # and so do the pages without it
    check_page(tmp_path / "index.html")
    check_page(pages[-1])


def test_index_rows_keep_hostile_text_as_text(tmp_path):
    """The session rows are made in Python (reports.html._session_row), not by the template: what a conn row
    holds is still shown as text, control characters made visible, on every index page."""
    a = _fake_analysis(rh.LANES_PER_PAGE + 2)
    hostile = {"orig_h": '<img src=x onerror="alert(1)">\x1b', "service": 'x"><script>alert(2)</script>',
               "conn_state": "</td></tr><tr><td>&amp;", "proto": "tcp'"}
    for c in a.rows["conn"][-3:]:
        c.update(hostile)
    col = rh.ReportCollector()
    col.feed_all(a.rows)
    rh._Report(col, tmp_path, a.summary, False).write_index()
    parser = html5lib.HTMLParser(tree=html5lib.treebuilders.getTreeBuilder("etree"), namespaceHTMLElements=False)
    cells = []
    for page in sorted(tmp_path.glob("index*.html")):
        doc = parser.parse(check_page(page))
        for tr in doc.iter("tr"):
            if tr.get("class") == "srow":
                cells.append(["".join(td.itertext()) for td in tr.findall("td")])
    assert len(cells) == len(a.rows["conn"]) and all(len(row) == 11 for row in cells)
    bad = [row for row in cells if row[9] == hostile["conn_state"]]
    assert len(bad) == 3
    for row in bad:
        assert row[2] == f"{hostile['service']} {hostile['proto']}"
        assert row[3].startswith('<img src=x onerror="alert(1)">\\x1b:')


def test_every_session_gets_a_page(tmp_path):
    a = _fake_analysis(300)
    write_report(a, tmp_path)
    assert len(list((tmp_path / "sessions").glob("*.html"))) == 300
    check_page(tmp_path / "sessions" / f"C{299:017d}.html")


_HOSTILE_CONN = {"orig_h": PWN2 + "\x1b", "resp_h": NOSPACE, "service": 'x"><script>window.__pwned=5</script>',
                 "proto": "tcp'><u>", "history": '"><img src=x onerror="window.__pwned=6">', "close_reason": PWN1,
                 "first_frame": "<q>1</q>", "parent_uid": None}


def _hostile_pages(out: Path) -> None:
    """A report whose session pages (some with a page of their own, the rest on shared pages) carry script and
    HTML in every field of their conn rows and events: the pages are string pieces (reports.html._session_html,
    _shared_html), not a template, so each text must still be escaped where it stands."""
    a = _fake_analysis(rh.SHARED_AT + 20)
    for i, c in enumerate(a.rows["conn"][-12:]):
        c.update(_HOSTILE_CONN)
        if i % 2:
            c["resp_bytes"] = 9000        # (not small: a page of its own)
    hostile = {c["uid"] for c in a.rows["conn"][-12:]}
    for e in a.rows["timeline"]:
        if e["uid"] in hostile:
            e.update(summary=PWN1 + "\r", meaning=PWN2, kind=NOSPACE)
    write_report(a, out)


def test_session_and_shared_pages_keep_hostile_text_as_text(tmp_path):
    _hostile_pages(tmp_path)
    pages = sorted((tmp_path / "sessions").glob("*.html"))
    assert any(p.name.startswith("shared-") for p in pages) and any(not p.name.startswith("shared-") for p in pages)
    shown = ""
    for p in pages:
        text = check_page(p)
        assert "<script>window" not in text and "<img src=x" not in text and "<svg/onload" not in text, p.name
        assert "<u>" not in text and "<q>" not in text, p.name
        doc = html5lib.parse(text, namespaceHTMLElements=False)
        shown += "".join(doc.find("body").itertext())
    assert PWN1 in shown and PWN2 + "\\x1b" in shown and NOSPACE in shown and "tcp'><u>".upper() in shown
    assert '"><img src=x onerror="window.__pwned=6">' in shown and "<q>1</q>" in shown


# ----------------------------------------------------------------------------- browser
@pytest.fixture(scope="module")
def ftp_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("ftp-report")
    a = render(_sample("ftp.pcapng"), out)
    return a, out


def _no_network(page: Page) -> None:
    assert all(u.startswith("file://") for u in page.requests), page.requests


def test_browser_index_timeline_and_filter(page, ftp_report):
    a, out = ftp_report
    conn = a.rows["conn"]
    pg = page.open(out / "index.html")
    assert pg.locator("#tl g.lane").count() == len(conn)
    assert pg.locator("tr.srow").count() == len(conn)
    visible = "() => [...document.querySelectorAll('#tl g.lane')].filter(g => g.parentNode.style.display !== 'none').length"
    assert pg.evaluate(visible) == len(conn)
    pg.select_option("#proto", "ftp-data")
    n_data = sum(1 for c in conn if c["service"] == "ftp-data")
    assert pg.evaluate(visible) == n_data
    assert pg.locator("tr.srow:visible").count() == n_data
    assert pg.locator("#count").inner_text().startswith(f"{n_data} of {len(conn)}")
    pg.select_option("#proto", "")
    pg.fill("#q", conn[0]["uid"].lower())
    assert pg.evaluate(visible) == 1
    pg.fill("#q", "")
    bar = "() => document.querySelector('#tl g.lane g.bar').getAttribute('transform') || ''"
    pg.click("#zin")
    pg.click("#zin")
    pg.click("#pr")
    assert "scale(4" in pg.evaluate(bar)
    pg.click("#zreset")
    assert "scale(1" in pg.evaluate(bar)
    assert page.errors() == []
    _no_network(page)


def test_browser_session_page_shows_ladder(page, ftp_report):
    a, out = ftp_report
    ctrl = next(c for c in a.rows["conn"] if c["service"] == "ftp" and
                any(k["parent_uid"] == c["uid"] for k in a.rows["conn"]))
    pg = page.open(out / "index.html")
    pg.click(f'#stable a[href="sessions/{ctrl["uid"]}.html"]')
    pg.wait_for_load_state("load")
    assert pg.url.endswith(f"/sessions/{ctrl['uid']}.html")
    ladder = pg.locator("#ladder-svg")
    assert ladder.is_visible()
    box = ladder.bounding_box()
    assert box["height"] > 200
    n_own = sum(1 for e in a.rows["timeline"] if e["uid"] == ctrl["uid"])
    assert pg.locator("#ladder-svg g.arrow.orig, #ladder-svg g.arrow.resp").count() == min(n_own, rh.LADDER_EVENTS)
    assert pg.locator("#ladder-svg g.arrow.child").count() >= 2
    assert "USER" in pg.locator("#ladder-svg").inner_html()
    rows = pg.locator("#ttable tr.ev")
    assert rows.count() == n_own
    pg.fill("#tq", "pasv")
    assert 0 < pg.locator("#ttable tr.ev:visible").count() < n_own
    # the decoded fields are drawn from the page's JSON rows: the ftp table's commands of this session
    ftp_rows = [r for r in a.rows["ftp"] if r["uid"] == ctrl["uid"]]
    assert ftp_rows and pg.locator("#fields-box h3").first.text_content().startswith("ftp ")
    drawn = pg.locator("#fields-box").inner_text()
    assert all(r["command"] in drawn for r in ftp_rows[:rh.FIELD_ROWS] if r.get("command"))
    assert page.errors() == []
    _no_network(page)


def test_browser_help_said_once_drawn_by_script_linked_without(page, browser, ftp_report):
    """A card's help paragraph and the TCP history legend are in assets/help.html once per report: with
    JavaScript the page shows them in place; without, its links lead to them."""
    a, out = ftp_report
    ctrl = next(c for c in a.rows["conn"] if c["service"] == "ftp")
    sess = out / "sessions" / f"{ctrl['uid']}.html"
    assert "opened the session" not in sess.read_text(encoding="utf-8")     # the words are not on the page
    pg = page.open(sess)
    assert "opened the session" in pg.locator("#facts .help").inner_text()
    assert "Hover an arrow" in pg.locator("#ladder .help").first.inner_text()
    assert "Passwords are replaced" in pg.locator("#raw .help").inner_text()
    legend = pg.locator("[data-history]")
    assert legend.locator("span.tag").count() == len(ctrl["history"])
    assert legend.locator("span.tag").first.get_attribute("title") == "client SYN"
    assert "capital letters: client" in legend.inner_text()
    assert pg.locator("a[href*='help.html']").count() == 0
    # the TCP control packets' meanings, named by number on the page, are the script's texts
    assert "TCP handshake 1/3" not in sess.read_text(encoding="utf-8")
    assert "TCP handshake 1/3: asks to open a connection" in pg.locator("#ladder-svg").inner_html()
    assert page.errors() == []
    _no_network(page)
    ctx = browser.new_context(java_script_enabled=False)
    try:
        nojs = ctx.new_page()
        nojs.goto(sess.resolve().as_uri())
        assert "opened the session" not in nojs.locator("body").inner_text()
        nojs.click("#facts .help a")
        nojs.wait_for_load_state("load")
        assert nojs.url.endswith("/assets/help.html#facts")
        assert "opened the session" in nojs.locator("#facts").inner_text()
        nojs.goto(sess.resolve().as_uri())
        nojs.click("[data-history] a")
        assert nojs.url.endswith("/assets/help.html#history")
        assert "SYN-ACK" in nojs.locator("#history").inner_text()
    finally:
        ctx.close()


def test_browser_telnet_replay_plays(page, tmp_path):
    render(_sample("telnet.pcapng"), tmp_path)
    sess = next((tmp_path / "sessions").glob("*.html"))
    pg = page.open(sess)
    final = pg.locator("#term").inner_text()
    assert "login:" in final and "Telnet-Pass1" not in final
    pg.select_option("#speed", "10")
    pg.click("#play")
    pg.wait_for_timeout(300)
    early = pg.locator("#term").inner_text()
    pg.click("#pause")
    assert len(early) < len(final)
    clock = pg.locator("#clock").inner_text()
    pg.wait_for_timeout(300)
    assert pg.locator("#clock").inner_text() == clock        # paused
    pg.click("#play")
    pg.wait_for_function("() => document.getElementById('clock').textContent.includes('(end)')", timeout=20000)
    assert pg.locator("#term").inner_text().strip() == final.strip()
    assert "Telnet-Pass1" not in pg.locator("#keys").inner_text()
    assert page.errors() == []


def test_browser_hostile_capture_is_inert(page, tmp_path):
    cap = tmp_path / "hostile.pcap"
    write_hostile(cap)
    out = tmp_path / "out"
    render(cap, out)
    shown = ""
    for p in all_pages(out):
        pg = page.open(p)
        assert pg.evaluate("typeof window.__pwned") == "undefined", p.name
        assert pg.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0, p.name
        assert pg.evaluate("document.querySelectorAll('script:not([type=\"application/json\"])').length") == 1, p.name
        assert pg.evaluate("[...document.querySelectorAll('*')].filter(e => [...e.attributes]"
                           ".some(a => a.name.startsWith('on'))).length") == 0, p.name
        if pg.locator("#play").count():        # the Telnet replay writes captured text too
            pg.select_option("#speed", "10")
            pg.click("#play")
            pg.wait_for_function("() => document.getElementById('clock').textContent.includes('(end)')",
                                 timeout=20000)
            assert pg.evaluate("typeof window.__pwned") == "undefined"
            assert pg.evaluate("document.querySelectorAll('#term *').length") == 0
        shown += pg.evaluate("document.body.innerText")
    assert PWN1 in shown and NOSPACE in shown and PWN2 in shown
    assert page.errors() == [], page.errors()
    _no_network(page)


def test_browser_hostile_session_fields_are_inert(page, tmp_path):
    """The same hostile conn rows and events in Chromium: nothing runs, no element is made of them, and the
    script draws the transcript's hostile texts as text."""
    _hostile_pages(tmp_path)
    pages = sorted((tmp_path / "sessions").glob("*.html"))
    own = [p for p in pages if not p.name.startswith("shared-") and "__pwned" in p.read_text(encoding="utf-8")]
    shared = [p for p in pages if p.name.startswith("shared-") and "__pwned" in p.read_text(encoding="utf-8")]
    assert own and shared
    for p in (own[0], shared[-1]):
        pg = page.open(p)
        assert pg.evaluate("typeof window.__pwned") == "undefined", p.name
        assert pg.evaluate("document.querySelectorAll('img, u, q, iframe, object, embed').length") == 0, p.name
        assert pg.evaluate("[...document.querySelectorAll('*')].filter(e => [...e.attributes]"
                           ".some(a => a.name.startsWith('on'))).length") == 0, p.name
        text = pg.evaluate("document.body.innerText")
        assert PWN1 in text and NOSPACE in text, p.name
    assert page.errors() == [], page.errors()
    _no_network(page)


def test_a_container_cell_unquotes_plain_words_only():
    """A list or dict cell (reports.html._container) writes plain words without quotes and keeps them on any
    string that could read otherwise: spaces, separators, numbers, literals, quotes, a trailing colon."""
    from reports.html import _value
    answers = [{"name": "www.example.org", "type": "CNAME", "ttl": 300, "data": "edge.cdn.example.net"},
               {"name": "x", "type": "MX", "data": "10 mx1.example.org"}]
    assert _value(answers) == ('[{name: www.example.org, type: CNAME, ttl: 300, data: edge.cdn.example.net}, '
                               '{name: x, type: MX, data: "10 mx1.example.org"}]')
    tricky = {"Content-Type": "text/html; charset=utf-8", "a": "x, type: A", "n": "300", "t": "true", "q": 'say "hi"',
              "e": "", "ip6": "fe80::1", "k:": "v:", "nul": None, "NaN": "NaN", "ünï": "ok"}
    assert _value(tricky) == ('{Content-Type: "text/html; charset=utf-8", a: "x, type: A", n: "300", t: "true", '
                              'q: "say \\"hi\\"", e: "", ip6: fe80::1, "k:": "v:", nul: null, "NaN": "NaN", "ünï": ok}')
    long = [{"name": f"host{i}.example.org", "data": f"192.0.2.{i}"} for i in range(40)]
    cell = _value(long)
    text = json.dumps(long, ensure_ascii=False)
    note = f"… ({len(text):,} characters of JSON)"
    assert cell.startswith('[{name: host0.example.org, data: "192.0.2.0"}, {name: host1.example.org, data: "192.0.2.1"}')
    assert cell.endswith(note) and len(cell) == 300 + len(note)
    assert _value([{"a": "b" * 700}]) == '[{a: "' + "b" * 294 + f"… ({len(json.dumps([{'a': 'b' * 700}])):,} characters of JSON)"


def test_a_shared_page_says_once_what_its_sections_share():
    """_common_notes: a note of every section and the most common closing reason go to the page's top; a
    section with another reason keeps its own, every other note stays in its section."""
    from reports.html import _common_notes

    idle, end = "wiretale closed the flow because of: idle timeout.", "wiretale closed the flow because of: end of capture."
    gap = "12 bytes are missing from the capture (1 gap(s))."
    sections = [{"notes": ["A", idle], "error": ""}, {"notes": ["A", gap, idle], "error": ""},
                {"notes": ["A", end], "error": ""}, {"c": {}, "error": "boom"}]
    top = _common_notes(sections)
    assert top == ["A", "wiretale closed each flow below because of: idle timeout, unless its section gives "
                        "another reason."]
    assert [s.get("notes") for s in sections] == [[], [gap], [end], None]
    # a section without a closing reason: the reason is not said once for the page
    sections = [{"notes": [idle], "error": ""}, {"notes": [], "error": ""}]
    assert _common_notes(sections) == [] and sections[0]["notes"] == [idle]
