"""Bulk delivery (issue 26; decoder.model.BulkDissector, DissectorHost.deliver): inside a body, a chunk,
a literal or a data connection the host feeds a run of segments in one call, and every table and file
is what per-segment feeding gives — the same rows at the same times and frames, the same bytes.

The captures are built (tests.builders) to hold what could tell the two apart: long bodies in 1460-byte
segments with ACKs between them, a segment overtaken by the next one, a retransmission, a hole the peer
ACKs past (a gap inside a body), a body that ends at the close (HTTP/1.0, FTP data), a chunked body, a
request body, an IMAP literal, the other direction speaking mid-body, and, with a small
``max_file_size``, bodies that cross the store's cap (``file_size_capped`` keeps its segment's frame).
Each is read with the dissectors' ``bulk`` and without it (removed from their classes: the host then
feeds every segment), by the real engine."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from decoder.model import Limits
from dissectors.ftp import FtpDataDissector
from dissectors.http import HttpDissector
from dissectors.imap import ImapDissector
from dissectors.pop3 import Pop3Dissector
from dissectors.smtp import SmtpDissector
from tests.builders import A, Conn, F, P, write_pcap

BULK_CLASSES = (HttpDissector, FtpDataDissector, ImapDissector, SmtpDissector, Pop3Dissector)
SEG = 1460


def _body(n: int, seed: int) -> bytes:
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(b"%d-%d" % (seed, i)).digest()
        i += 1
    return bytes(out[:n])


def _server_segments(c: Conn, data: bytes, *, swap_at: int | None = None, resend_at: int | None = None,
                     drop_at: int | None = None) -> list[bytes]:
    """``data`` from the server in SEG-byte segments, the client ACKing every second one; one pair
    swapped, one segment sent twice, one never sent (the client then ACKs past it: a gap)."""
    segs = [c.server(data[i:i + SEG]) for i in range(0, len(data), SEG)]
    out: list[bytes] = []
    k = 0
    while k < len(segs):
        if k == swap_at and k + 1 < len(segs):
            out += [segs[k + 1], segs[k]]
            k += 2
            continue
        if k != drop_at:
            out.append(segs[k])
        if k == resend_at:
            out.append(segs[k])
        if k % 2:
            out.append(c.client_ack())
        k += 1
    return out


def _talk(c: Conn, *lines: bytes, client_first: bool = False) -> list[bytes]:
    """Command lines by turns (the server's first unless ``client_first``), each one segment ending in CRLF."""
    return [(c.server if (i + client_first) % 2 == 0 else c.client)(line + b"\r\n") for i, line in enumerate(lines)]


def _http(c: Conn) -> list[bytes]:
    pk = c.handshake()
    body = _body(100_000, 1)
    pk.append(c.client(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n"))
    pk.append(c.server(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
                       % len(body) + body[:700]))
    pk += _server_segments(c, body[700:], swap_at=7, resend_at=20)
    # chunked, the client sending its next request while the body still comes
    chunks = b"".join(b"%x\r\n" % len(p) + p + b"\r\n" for p in (_body(9000, 2), _body(20_000, 3), _body(4000, 4)))
    pk.append(c.client(b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n"))
    pk.append(c.server(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"))
    half = len(chunks) // 2
    pk += _server_segments(c, chunks[:half])
    pk.append(c.client(b"GET /c HTTP/1.1\r\nHost: h\r\n\r\n"))
    pk += _server_segments(c, chunks[half:] + b"0\r\n\r\n")
    pk.append(c.server(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
    # a request body
    post = _body(30_000, 5)
    pk.append(c.client(b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % len(post)))
    pk += [c.client(post[i:i + SEG]) for i in range(0, len(post), SEG)]
    pk.append(c.server(b"HTTP/1.1 204 No Content\r\n\r\n"))
    return pk + c.close()


def _http10_with_hole(c: Conn) -> list[bytes]:
    pk = c.handshake()
    body = _body(60_000, 6)
    pk.append(c.client(b"GET /old HTTP/1.0\r\n\r\n"))
    pk.append(c.server(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"))
    pk += _server_segments(c, body, drop_at=12)
    return pk + c.close()


def _ftp(ctl: Conn, data: Conn) -> list[bytes]:
    pk = ctl.handshake()
    pk += _talk(ctl, b"220 ready", b"USER u", b"331 pass", b"PASS p", b"230 in", b"TYPE I", b"200 ok", b"PASV",
                b"227 Entering Passive Mode (10,0,0,2,195,80).", b"RETR f.bin", b"150 here")
    pk += data.handshake()
    pk += _server_segments(data, _body(80_000, 7), swap_at=30, resend_at=3)
    pk += data.close()
    return pk + _talk(ctl, b"226 done", b"QUIT", b"221 bye") + ctl.close()


def _imap(c: Conn) -> list[bytes]:
    pk = c.handshake()
    msg = b"From: a@b\r\nTo: c@d\r\nSubject: s\r\n\r\n" + _body(50_000, 8).hex().encode()[:50_000] + b"\r\n"
    pk += _talk(c, b"* OK ready", b"a1 LOGIN u p", b"a1 OK", b"a2 SELECT INBOX", b"* 1 EXISTS\r\na2 OK",
                b"a3 FETCH 1 BODY[]")
    pk += _server_segments(c, b"* 1 FETCH (BODY[] {%d}\r\n" % len(msg) + msg + b")\r\na3 OK done\r\n",
                           swap_at=9)
    return pk + _talk(c, b"a4 LOGOUT", b"* BYE\r\na4 OK", client_first=True) + c.close()


def _message(seed: int) -> bytes:
    """An e-mail of 76-character lines, some starting with a dot (stuffed on the wire), one of them a
    lone dot's look-alike (".." then CRLF)."""
    lines = [b"From: a@b", b"To: c@d", b"Subject: bulk", b""]
    for i in range(900):
        line = _body(38, seed * 1000 + i).hex().encode()
        lines.append(b"." + line[1:] if i % 300 == 5 else b"." if i == 400 else line)
    return b"\r\n".join(lines) + b"\r\n"


def _stuffed(msg: bytes) -> bytes:
    return msg.replace(b"\r\n.", b"\r\n..") + b".\r\n"


def _client_segments(c: Conn, data: bytes) -> list[bytes]:
    out: list[bytes] = []
    for k, i in enumerate(range(0, len(data), SEG)):
        out.append(c.client(data[i:i + SEG]))
        if k % 2:
            out.append(c.server_ack())
    return out


def _smtp(c: Conn) -> list[bytes]:
    pk = c.handshake()
    pk += _talk(c, b"220 mx ESMTP", b"EHLO me", b"250 mx", b"MAIL FROM:<a@b>", b"250 ok", b"RCPT TO:<c@d>",
                b"250 ok", b"DATA", b"354 go")
    pk += _client_segments(c, _stuffed(_message(9)))
    return pk + _talk(c, b"250 queued", b"QUIT", b"221 bye") + c.close()


def _smtp_pipelined_end(c: Conn) -> list[bytes]:
    """The end-of-data line alone in the segment after the message's last line (which ends its segment), QUIT
    pipelined behind it: the end marker LF "." lies across the boundary of two segments."""
    pk = c.handshake()
    pk += _talk(c, b"220 mx ESMTP", b"EHLO me", b"250-mx\r\n250 PIPELINING", b"MAIL FROM:<a@b>", b"250 ok",
                b"RCPT TO:<c@d>", b"250 ok", b"DATA", b"354 go")
    msg = _stuffed(_message(11))[:-3]                              # without its end-of-data line
    pk += _client_segments(c, msg[:len(msg) - 9 * SEG - 700])     # the last segment ends mid-line
    pk += _client_segments(c, msg[len(msg) - 9 * SEG - 700:])     # ... and this one with the last line's CRLF
    pk += [c.client(b".\r\n"), c.client(b"QUIT\r\n"), c.server(b"250 queued\r\n"), c.server(b"221 bye\r\n")]
    return pk + c.close()


def _pop3(c: Conn) -> list[bytes]:
    pk = c.handshake()
    msg = _message(10)
    pk += _talk(c, b"+OK ready", b"USER u", b"+OK", b"PASS p", b"+OK in", b"RETR 1")
    pk += _server_segments(c, b"+OK %d octets\r\n" % len(msg) + _stuffed(msg), swap_at=11, resend_at=30)
    return pk + _talk(c, b"QUIT", b"+OK bye", client_first=True) + c.close()


@pytest.fixture(scope="module")
def capture(tmp_path_factory) -> Path:
    pk = _http(Conn(c=("10.0.0.1", 40001), s=("10.0.0.2", 80)))
    pk += _http10_with_hole(Conn(c=("10.0.0.1", 40002), s=("10.0.0.2", 80)))
    pk += _ftp(Conn(c=("10.0.0.1", 40003), s=("10.0.0.2", 21)), Conn(c=("10.0.0.1", 40004), s=("10.0.0.2", 50000)))
    pk += _imap(Conn(c=("10.0.0.1", 40005), s=("10.0.0.2", 143)))
    pk += _smtp(Conn(c=("10.0.0.1", 40006), s=("10.0.0.2", 25)))
    pk += _pop3(Conn(c=("10.0.0.1", 40007), s=("10.0.0.2", 110)))
    pk += _smtp_pipelined_end(Conn(c=("10.0.0.1", 40008), s=("10.0.0.2", 25)))
    path = tmp_path_factory.mktemp("bulk") / "bulk.pcap"
    write_pcap(path, pk)
    return path


def _read(capture: Path, out: Path, limits: Limits, monkeypatch, bulk: bool) -> tuple[dict, dict, int]:
    """Rows of every table, the extracted files (path → sha256) and the dissectors' feed calls."""
    from decoder.api import analyze

    calls = [0]
    with monkeypatch.context() as m:
        for cls in BULK_CLASSES:
            feed = cls.feed

            def counted(self, d, data, ts, _feed=feed):
                calls[0] += 1
                return _feed(self, d, data, ts)
            m.setattr(cls, "feed", counted)
            if not bulk:
                m.delattr(cls, "bulk")
        a = analyze(capture, out_dir=out, limits=limits, strict=True)
        rows = {name: list(rs) for name, rs in a.rows.items()}
        files = {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
                 for p in sorted(out.rglob("*")) if p.is_file() and "files" in p.parts}
        a.close()
    return rows, files, calls[0]


@pytest.mark.parametrize("cap", [None, 20_000], ids=["whole", "capped"])
def test_bulk_delivery_changes_no_row_and_no_byte(capture, tmp_path, monkeypatch, cap):
    limits = Limits() if cap is None else Limits(max_file_size=cap)
    rows, files, calls = _read(capture, tmp_path / "bulk", limits, monkeypatch, bulk=True)
    rows0, files0, calls0 = _read(capture, tmp_path / "per-segment", limits, monkeypatch, bulk=False)
    assert rows == rows0
    assert files == files0
    # what the capture holds: every kind of run, the gap and (capped) the cap
    assert {r["uri"] for r in rows["http"]} >= {"/a", "/b", "/c", "/up", "/old"}
    assert any(r["name"] == "tcp_gap" or "gap" in r["name"] for r in rows["anomalies"])
    assert len(files) >= 9 and len(rows["smtp"]) == 2 and len(rows["pop3"]) >= 1
    if cap is not None:
        capped = [r for r in rows["anomalies"] if r["name"] == "file_size_capped"]
        assert len(capped) >= 4 and len({r["frame"] for r in capped}) == len(capped)
    # ~400 body segments fed one by one before; runs of up to 64 KiB now (calls left: commands, run ends)
    assert calls0 > 250 and calls * 2 < calls0, (calls, calls0)
