"""Transfer captions say what moved (issue 23): kind (sniffed), size and the name on the wire, on the ladder
of the control session, read in headless Chromium.

* a real zip archive (made with :mod:`zipfile`) stored over a crafted FTP session: "zip archive, N bytes: up.zip";
* samples/ftp.pcapng: listings are "directory listing (LIST), 193 bytes", a fetched binary file
  "binary data, 65,536 bytes: report.bin";
* samples/tftp.pcapng: "text, 39 bytes: hello.txt" on the request's ladder.
"""
from __future__ import annotations

import io
import zipfile

from decoder.model import describe_object
from tests.conftest import SAMPLES
from tests.decoder.test_data_connections import _ftp_capture
from tests.reports.conftest import render


def _ladder_text(page, out, uid: str) -> str:
    pg = page.open(out / "sessions" / f"{uid}.html")
    return pg.locator("#ladder-svg").text_content()


def test_describe_object():
    assert describe_object("application/zip", 333580, "IP and ICMP Statistics.zip") == \
        "zip archive, 333,580 bytes: IP and ICMP Statistics.zip"
    assert describe_object("application/x-unheard-of", 5) == "application/x-unheard-of, 5 bytes"
    assert describe_object(None, 0, "empty.txt") == "empty object: empty.txt"


def test_ladder_captions(page, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("secret.txt", "the flag is here\n" * 20)
    payload = buf.getvalue()
    cap = tmp_path / "stor-zip.pcap"
    _ftp_capture(cap, b"226 Transfer complete.\r\n", payload, name=b"up.zip")
    a = render(cap, tmp_path / "zip")
    ctrl = next(c["uid"] for c in a.rows["conn"] if c["service"] == "ftp")
    text = _ladder_text(page, tmp_path / "zip", ctrl)
    assert f"zip archive, {len(payload):,} bytes: up.zip" in text
    assert "a file or directory listing" not in text

    a = render(SAMPLES / "ftp.pcapng", tmp_path / "ftp")
    ctrl = next(c["uid"] for c in a.rows["conn"] if c["service"] == "ftp" and
                sum(k["parent_uid"] == c["uid"] for k in a.rows["conn"]) == 8)
    text = _ladder_text(page, tmp_path / "ftp", ctrl)
    for want in ("directory listing (LIST), 193 bytes", "directory listing (NLST), 28 bytes",
                 "binary data, 65,536 bytes: report.bin", "text, 3,551 bytes: notes.txt"):
        assert want in text

    a = render(SAMPLES / "tftp.pcapng", tmp_path / "tftp")
    req = next(r["uid"] for r in a.rows["tftp"] if r["fname"] == "hello.txt")
    assert "text, 39 bytes: hello.txt" in _ladder_text(page, tmp_path / "tftp", req)
    assert page.errors() == []


def test_ladder_in_frame_order(page, tmp_path):
    """The ladder of samples/ftp.pcapng's main session, with its eight data connections, reads in frame order
    (issue 23: transfer ends at their last data packet, not piled up at the connection's close)."""
    a = render(SAMPLES / "ftp.pcapng", tmp_path / "ftp")
    ctrl = next(c["uid"] for c in a.rows["conn"] if c["service"] == "ftp" and
                sum(k["parent_uid"] == c["uid"] for k in a.rows["conn"]) == 8)
    pg = page.open(tmp_path / "ftp" / "sessions" / f"{ctrl}.html")
    frames = [int(t.lstrip("#")) for t in pg.locator("#ladder-svg text.mono").all_text_contents()
              if t.startswith("#")]
    conn = {c["uid"]: c for c in a.rows["conn"]}
    kids = [c for c in a.rows["conn"] if c["parent_uid"] == ctrl]
    assert len(frames) > 100 and frames == sorted(frames)
    # the script places the arrows down the page as reports.html worked out the diagram's height: the TCP
    # ones 26 apart, a full one 46 below its predecessor (14 more after a TCP one), the last 20 above the end
    ys = [float(v) for v in pg.locator("#ladder-svg > g > line").evaluate_all("ls => ls.map(l => l.getAttribute('y1'))")]
    kinds = pg.locator("#ladder-svg > g").evaluate_all("gs => gs.map(g => g.getAttribute('class') || '')")
    assert len(ys) == len(kinds) > 100 and ys == sorted(ys) and ys[0] == 96
    gaps = {b - a for a, b in zip(ys, ys[1:])}
    assert gaps <= {26, 40, 46} and 46 in gaps, gaps
    height = float(pg.locator("#ladder-svg").get_attribute("height"))
    assert height == ys[-1] + (26 if "tcpctl" in kinds[-1] else 46) + 20
    # each data connection's summary is at one of its own packets, before its last
    for k in kids:
        [s] = [e for e in a.rows["timeline"] if e["uid"] == k["uid"] and e["kind"] == "FtpDataSummary"]
        assert conn[k["uid"]]["first_frame"] < s["frame"] < conn[k["uid"]]["last_frame"]
    assert page.errors() == []
