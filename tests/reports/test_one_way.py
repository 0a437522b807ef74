"""Issue 22: the report's path is one way and pandas-free.

``wiretale read`` with the report writes the tables once and feeds each row to the report as it
is written; nothing on that path makes a DataFrame, so pandas is never imported. The report of a
collector fed row by row equals the report of the same rows given at once.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import SAMPLES

ROOT = Path(__file__).resolve().parents[2]


def test_read_with_report_imports_no_pandas(tmp_path):
    out = tmp_path / "out"
    code = ("import sys, json\n"
            "from decoder.cli import main\n"
            f"rc = main(['read', {str(SAMPLES / 'ftp.pcapng')!r}, '-o', {str(out)!r}])\n"
            "print(json.dumps({'rc': rc, 'pandas': 'pandas' in sys.modules}))\n")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout.strip().splitlines()[-1])
    assert res == {"rc": 0, "pandas": False}
    assert (out / "index.html").is_file()
    pages = list((out / "sessions").glob("*.html"))
    conn = (out / "tables" / "conn.jsonl").read_text().splitlines()
    assert pages and len(pages) <= len(conn)
    assert not (out / ".report-spill").exists()


def test_timeline_rows_carry_the_event_fields():
    from decoder.api import analyze

    with analyze(SAMPLES / "telnet.pcapng", strict=True) as a:
        neg = [r for r in a.rows["timeline"] if r["kind"] == "TelnetNegotiation"]
    assert neg and all(set(r["fields"]) == {"verb", "option", "name"} for r in neg)
    assert any(r["fields"]["verb"] == "WILL" and r["fields"]["option"] == 1 and r["direction"] == "resp"
               and r["summary"] == "server WILL ECHO" for r in neg)


# ----------------------------------------------------------------------------- bounded session pages
def _big_http(path: Path, body_len: int = 50_000) -> None:
    from tests.builders import Conn, write_pcap

    c = Conn(c=("198.51.100.7", 41000), s=("203.0.113.80", 80))
    pk = c.handshake()
    pk.append(c.client(b"GET /big HTTP/1.1\r\nHost: www.example.test\r\n\r\n"))
    body = bytes(range(256)) * (body_len // 256)
    msg = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    for i in range(0, len(msg), 1400):
        pk.append(c.server(msg[i:i + 1400]))
    pk.extend(c.close())
    write_pcap(path, pk)


def _raw_chunks(page: str) -> list[dict]:
    """The raw views' chunks a page carries as JSON (reports.html._raw_row), in order, by name (raw_chunk)."""
    import re

    from reports.html import raw_chunk
    return [raw_chunk(r) for block in re.findall(r'<script type="application/json" class="raw-data">(.*?)</script>',
                                                 page, re.S)
            for r in json.loads(block)]


def test_session_page_shows_a_bounded_start_of_each_direction(tmp_path):
    from reports.html import VIEW_BYTES
    from tests.reports.conftest import render

    cap = tmp_path / "big.pcap"
    _big_http(cap)
    out = tmp_path / "out"
    a = render(cap, out)
    [conn] = a.rows["conn"]
    page = (out / "sessions" / f"{conn['uid']}.html").read_text(encoding="utf-8")
    assert conn["resp_bytes"] > 10 * VIEW_BYTES
    assert f"of the {conn['resp_bytes'] / 1024:.1f} KiB the server sent" in page
    assert f'href="../streams/{conn["uid"]}.bin"' in page and (out / "streams" / f"{conn['uid']}.bin").is_file()
    assert f"wiretale follow CAPTURE {conn['uid']} --raw" in page
    from reports.html import printable   # the text view is drawn from these bytes (see the browser test below)
    chunks = [r for r in _raw_chunks(page) if "gap" not in r]
    # the request travels as text, the binary body as base64 (whichever is smaller: reports.html.raw_text)
    assert [r["text"] for r in chunks] == [True, False]
    shown = sum(len(r["data"]) for r in chunks)
    assert shown == min(conn["orig_bytes"], VIEW_BYTES) + VIEW_BYTES
    text = printable(b"".join(r["data"] for r in chunks if r["d"] == 1))
    assert text.startswith("HTTP/1.1 200 OK") and len(text) < 4 * VIEW_BYTES
    assert len(page) < 60_000


def test_sessions_without_application_data_get_no_page(tmp_path):
    from tests.reports.conftest import render
    from tests.reports.scale_captures import write_scan

    cap = tmp_path / "scan.pcap"
    write_scan(cap, hosts=1, ports=5)
    out = tmp_path / "out"
    a = render(cap, out)
    empty = {c["uid"] for c in a.rows["conn"] if not (c["orig_bytes"] or c["resp_bytes"])}
    pages = {p.stem for p in (out / "sessions").glob("*.html")}
    assert len(empty) == 5 and len(a.rows["conn"]) == 7
    assert pages == {c["uid"] for c in a.rows["conn"]} - empty
    index = (out / "index.html").read_text(encoding="utf-8")
    for u in empty:
        assert u in index and f"sessions/{u}.html" not in index


def test_browser_hex_view_is_drawn_from_the_shown_bytes(page, tmp_path):
    from tests.reports.conftest import render

    cap = tmp_path / "big.pcap"
    _big_http(cap, body_len=5000)
    out = tmp_path / "out"
    a = render(cap, out)
    pg = page.open(out / "sessions" / f"{a.rows['conn'][0]['uid']}.html")
    assert pg.locator("#hexview pre.hex").first.inner_text() == ""
    pg.click("#hexview summary")
    pg.wait_for_function("() => document.querySelector('#hexview pre.hex').textContent.length > 0")  # toggle is async
    first = pg.locator("#hexview pre.hex").first.inner_text()
    assert first.startswith("00000000  47 45 54 20 2f 62 69 67")       # "GET /big"
    server = pg.locator("#hexview .chunk.d1 pre.hex").first.inner_text()
    assert server.startswith("00000000  48 54 54 50 2f 31 2e 31")      # "HTTP/1.1"
    assert page.errors() == []


#: bytes whose text view is easy to get wrong: every byte value, invalid UTF-8 (lone continuation bytes,
#: overlong forms, encoded surrogates, truncated sequences, F5..FF, past U+10FFFF) and valid characters the
#: report makes visible (C1 controls, bidirectional overrides, line separators, noncharacters) or keeps
TRICKY = (bytes(range(256)) + b"\r\n\t|" + b"\xc0\xaf\xe0\x80\xaf\xed\xa0\x80\xed\x9f\xbf\xe2\x82|\xe2\x82\xac"
          + b"\xf4\x90\x80\x80\xf4\x8f\xbf\xbf\xf0\x9f\x98\x80\xf0\x8f\xbf\xbf\xc2\x85\xc2\xa0"
          + "\u202e\u2028\u2029\u200e\u200f\u202d\ufdd0\ufdef\ufdf0\ufffe\uffff\U0001fffe\U0010ffff é<&>".encode()
          + b"\xef\xbf\xbe\xf0\x9f\x98" + b"end")


TEXT = b"250 the message <b>was</b> accepted & 'queued' for delivery \\ \"done\"\r\n\t" * 40   # (text, mostly)


def test_browser_text_view_is_what_printable_shows(page, tmp_path):
    """The page's script draws the text view from the chunk's bytes exactly as reports.html.printable does, from
    either form a chunk travels in (base64 for the client's binary-heavy bytes, text for the server's)."""
    from reports.html import printable
    from tests.builders import Conn, write_pcap
    from tests.reports.conftest import render

    c = Conn(c=("198.51.100.7", 41000), s=("203.0.113.80", 7777))
    pk = c.handshake()
    pk.append(c.client(TRICKY))
    pk.append(c.server(TRICKY[::-1] + TEXT))
    pk.extend(c.close())
    cap = tmp_path / "tricky.pcap"
    write_pcap(cap, pk)
    out = tmp_path / "out"
    a = render(cap, out)
    path = out / "sessions" / f"{a.rows['conn'][0]['uid']}.html"
    rows = _raw_chunks(path.read_text(encoding="utf-8"))
    assert [r["text"] for r in rows] == [False, True]
    chunks = [r["data"] for r in rows]
    assert chunks == [TRICKY, TRICKY[::-1] + TEXT]
    pg = page.open(path)
    drawn = pg.eval_on_selector_all("#raw pre.raw", "els => els.map(e => e.textContent)")
    assert drawn == [printable(b) for b in chunks]
    assert "\\x00" in drawn[0] and "\\u202e" in drawn[0] and "\\xed\\xa0\\x80" in drawn[0] and "é<&>" in drawn[0]
    assert page.errors() == []


def test_a_flood_of_spoofed_hosts_is_one_group_and_hosts_are_capped(tmp_path, monkeypatch):
    import reports.collect as rc
    from tests.reports.conftest import render
    from tests.reports.scale_captures import write_flood

    monkeypatch.setattr(rc, "MAX_HOSTS", 50)
    cap = tmp_path / "flood.pcap"
    write_flood(cap, 300)
    out = tmp_path / "out"
    render(cap, out)
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "300 hosts connected to 203.0.113.80:80/tcp: 300 connections unanswered" in index
    assert index.count('<g class="lane probe"') == 1 and '<tr class="srow"' not in index
    assert "appearances in sessions are not itemised here" in index
    assert not list((out / "sessions").glob("*.html"))


def test_browser_raw_view_headings_say_gaps_segments_and_cuts(page, tmp_path):
    """The raw view's chunk headings, drawn from the compact rows (reports.html._raw_row): a run of segments with its
    frames and byte count, the part shown of a direction cut at VIEW_BYTES, and bytes missing from the capture."""
    from reports.html import VIEW_BYTES
    from tests.builders import Conn, write_pcap
    from tests.reports.conftest import render

    c = Conn(c=("198.51.100.7", 41000), s=("203.0.113.80", 80))
    pk = c.handshake()
    pk.append(c.client(b"GET /big HTTP/1.1\r\nHost: www.example.test\r\n\r\n"))
    body = b"line of text\n" * 900
    msg = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    server = [c.server(msg[i:i + 1000]) for i in range(0, len(msg), 1000)]
    del server[1]                       # 1,000 bytes the capture missed
    pk.extend(server)
    pk.extend(c.close())
    cap = tmp_path / "gap.pcap"
    write_pcap(cap, pk)
    out = tmp_path / "out"
    a = render(cap, out)
    [conn] = a.rows["conn"]
    chunks = _raw_chunks((out / "sessions" / f"{conn['uid']}.html").read_text(encoding="utf-8"))
    assert [("gap" in r, r["d"]) for r in chunks] == [(False, 0), (False, 1), (True, 1), (False, 1)]
    pg = page.open(out / "sessions" / f"{conn['uid']}.html")
    heads = pg.eval_on_selector_all("#raw .chunk .meta", "els => els.map(e => e.textContent)")
    assert heads[0].startswith("client → server · ") and heads[0].endswith(" bytes")
    assert heads[1].endswith(" · 1,000 bytes") and "segments" not in heads[1]
    assert heads[2] == f"{chunks[2]['t']} · frame {chunks[2]['f']}"
    gap = pg.eval_on_selector_all("#raw .chunk.gap", "els => els.map(e => e.textContent)")
    assert gap == [f"{chunks[2]['t']} · frame {chunks[2]['f']} 1,000 bytes missing from the server (not in the capture)"]
    shown = VIEW_BYTES - 1000
    segs = f"{chunks[3]['s']:,} segments, " if chunks[3]["s"] > 1 else ""
    assert heads[3].endswith(f" · {segs}{chunks[3]['n']:,} bytes (the first {shown:,} shown)") and chunks[3]["c"] == shown
    assert page.errors() == []
