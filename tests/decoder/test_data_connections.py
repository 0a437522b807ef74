"""FTP data connections the way real captures bring them (issue 24).

* A capture that starts after the data connections' handshakes: ``samples/ftp.pcapng`` with every packet
  of each data connection before its first data removed (SYN, SYN-ACK, the ACK after them). The data
  connections are found from the PASV/PORT announcements: same roles, same services, the same files
  (sha256) as from the whole sample, ``data_channel.handshake_seen`` false; and every object
  ``tshark --export-objects ftp-data`` exports from the cut capture is one of ours, byte for byte.
* ``complete`` of a transferred file is true only when the bytes add up and the server's final reply
  says the transfer succeeded: a STOR refused with 425 after 512 bytes crossed the wire is not complete,
  and ``close_reason`` says why (crafted control and data connections; the whole conversation is
  RFC 959's, only the verdicts differ).
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import dpkt
import pytest

from tests.builders import Conn, write_pcap
from tests.conftest import SAMPLES

CONTROL_PORT = 21         # samples/ftp.pcapng's server


def _cut_handshakes(src: Path, dst: Path) -> int:
    """Copy ``src`` without the packets of each data connection that come before its first data."""
    dropped = 0
    started: set[frozenset] = set()
    with open(src, "rb") as fh, open(dst, "wb") as out:
        r = dpkt.pcapng.Reader(fh)
        w = dpkt.pcap.Writer(out, linktype=r.datalink(), snaplen=262144)
        for ts, buf in r:
            t = getattr(dpkt.ethernet.Ethernet(buf).data, "data", None)
            if isinstance(t, dpkt.tcp.TCP) and CONTROL_PORT not in (t.sport, t.dport):
                k = frozenset((t.sport, t.dport))
                if t.flags & dpkt.tcp.TH_SYN:
                    started.discard(k)          # a port used again: a new connection
                if k not in started and not t.data:
                    dropped += 1
                    continue
                started.add(k)
            w.writepkt(buf, ts)
    return dropped


def _files(a, out: Path) -> dict[str, dict]:
    return {hashlib.sha256((out / f["path"]).read_bytes()).hexdigest(): f for f in a.rows.get("files", [])}


def test_data_connections_without_their_handshake(tmp_path):
    from decoder.api import analyze

    cut = tmp_path / "ftp-late.pcap"
    assert _cut_handshakes(SAMPLES / "ftp.pcapng", cut) == 30       # 10 data connections, 3 packets each
    whole = analyze(SAMPLES / "ftp.pcapng", out_dir=tmp_path / "whole")
    late = analyze(cut, out_dir=tmp_path / "late")

    def data_conns(a):
        return sorted((c["orig_p"], c["resp_p"], c["service"], c["roles_guessed"])
                      for c in a.rows["conn"] if c["resp_p"] != CONTROL_PORT)

    assert data_conns(late) == data_conns(whole)
    assert all(s == "ftp-data" and not g for _o, _r, s, g in data_conns(late))
    assert all("S" not in c["history"] and "h" not in c["history"]
               for c in late.rows["conn"] if c["service"] == "ftp-data")
    wf, lf = _files(whole, tmp_path / "whole"), _files(late, tmp_path / "late")
    assert len(lf) == 10 and set(lf) == set(wf)
    assert {(f["filename"], f["complete"]) for f in lf.values()} == {(f["filename"], f["complete"]) for f in wf.values()}

    def transfers(a):
        return [(r["command"], r["arg"], r["data_status"], r["file_size"], (r["data_channel"] or {}).get("handshake_seen"))
                for r in a.rows["ftp"] if r["data_token"]]

    assert [t[:4] for t in transfers(late)] == [t[:4] for t in transfers(whole)]
    assert {t[4] for t in transfers(whole)} == {True} and {t[4] for t in transfers(late)} == {False}
    assert all(t[2] == "complete" for t in transfers(late))
    late.close()
    whole.close()

    if not shutil.which("tshark"):
        pytest.skip("tshark is not installed")
    exported = tmp_path / "tshark"
    exported.mkdir()
    subprocess.run(["tshark", "-n", "-r", str(cut), "-d", f"tcp.port=={CONTROL_PORT},ftp", "-q",
                    "--export-objects", f"ftp-data,{exported}"], capture_output=True, check=True)
    objects = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in exported.iterdir()}
    assert objects, "tshark exported nothing"
    for name, digest in objects.items():
        assert digest in lf and lf[digest]["filename"] == name


def _ftp_capture(path: Path, final: bytes, data: bytes, announce: bytes = b"", name: bytes = b"up.bin") -> None:
    """A passive STOR of ``name``: ``data`` crosses the data connection, then the server says ``final``."""
    ctl = Conn(("10.0.0.1", 40000), ("10.0.0.2", 21))
    dat = Conn(("10.0.0.1", 40001), ("10.0.0.2", 50000), cisn=7000, sisn=9000)
    pkts = ctl.handshake()
    pkts += [ctl.server(b"220 ready\r\n"), ctl.client(b"USER u\r\n"), ctl.server(b"331 pass\r\n"),
             ctl.client(b"PASS p\r\n"), ctl.server(b"230 ok\r\n"), ctl.client(b"TYPE I\r\n"),
             ctl.server(b"200 binary\r\n"), ctl.client(b"PASV\r\n"),
             ctl.server(b"227 Entering Passive Mode (10,0,0,2,195,80).\r\n")]
    pkts += dat.handshake()
    pkts += [ctl.client(b"STOR " + name + b"\r\n"), ctl.server(b"150 Ok to send data" + announce + b".\r\n")]
    pkts += [dat.client(data[i:i + 256]) for i in range(0, len(data), 256)]
    pkts += dat.close()
    if final:            # else the capture ends before the server's verdict
        pkts += [ctl.server(final), ctl.client(b"QUIT\r\n"), ctl.server(b"221 bye\r\n")] + ctl.close()
    write_pcap(path, pkts)


@pytest.mark.parametrize("final, data, announce, status, complete, reason", [
    (b"226 Transfer complete.\r\n", b"x" * 512, b"", "complete", True, ""),
    (b"425 Can't open data connection.\r\n", b"x" * 512, b"", "aborted", False,
     "the server replied 425 Can't open data connection."),
    (b"552 Quota exceeded.\r\n", b"x" * 512, b"", "aborted", False, "the server replied 552 Quota exceeded."),
    (b"226 Transfer complete.\r\n", b"x" * 512, b" (2048 bytes)", "partial", False, "512 of the 2048 bytes announced"),
    (b"", b"x" * 512, b"", None, False, "the capture holds no final reply from the server"),
], ids=["226", "425", "552", "short", "no-reply"])
def test_complete_needs_the_bytes_and_the_servers_word(tmp_path, final, data, announce, status, complete, reason):
    from decoder.api import analyze

    cap = tmp_path / "stor.pcap"
    _ftp_capture(cap, final, data, announce)
    with analyze(cap, out_dir=tmp_path / "out") as a:
        stor = [r for r in a.rows["ftp"] if r["command"] == "STOR"]
        files = a.rows["files"]
    assert len(stor) == 1 and stor[0]["data_status"] == status and stor[0]["fuid"] == files[0]["fuid"]
    assert len(files) == 1 and files[0]["seen_bytes"] == 512 and files[0]["filename"] == "up.bin"
    assert files[0]["complete"] is complete and files[0]["close_reason"] == reason


def test_tftp_transfer_without_its_first_blocks(tmp_path):
    """samples/tftp.pcapng without the OACK, ACK 0 and DATA 1 of image.bin (curl, blksize 1024): the transfer's
    first datagram seen is the client's ACK 1. It is still the transfer its RRQ announced (roles from the
    request, linked to it), the block size is learnt from the data, and the file is the whole sample's but
    for its first 1024 bytes, which are a gap, never zeros."""
    from decoder.api import analyze

    with open(SAMPLES / "tftp.pcapng", "rb") as fh:
        recs = list(dpkt.pcapng.Reader(fh))
    tftp = [bytes(dpkt.ethernet.Ethernet(buf).data.data.data) for _, buf in recs]
    first = next(i for i, d in enumerate(tftp) if d[:2] == b"\x00\x06")    # the first OACK: image.bin's
    assert tftp[first + 1] == b"\x00\x04\x00\x00" and tftp[first + 2][:4] == b"\x00\x03\x00\x01"
    cut = tmp_path / "tftp-late.pcap"
    with open(cut, "wb") as out:
        w = dpkt.pcap.Writer(out, linktype=1, snaplen=262144)
        for i, (ts, buf) in enumerate(recs):
            if i not in (first, first + 1, first + 2):        # OACK, ACK 0, DATA 1 of image.bin
                w.writepkt(buf, ts)
    with analyze(SAMPLES / "tftp.pcapng", out_dir=tmp_path / "whole") as whole, \
            analyze(cut, out_dir=tmp_path / "late") as late:
        [wrow] = [r for r in whole.rows["tftp"] if r["fname"] == "image.bin"]
        [lrow] = [r for r in late.rows["tftp"] if r["fname"] == "image.bin"]
        conn = {c["uid"]: c for c in late.rows["conn"]}[lrow["uid_data"]]
        assert (conn["service"], conn["parent_uid"], conn["roles_guessed"]) == ("tftp", lrow["uid"], False)
        assert (conn["orig_p"], conn["resp_p"]) == next((c["orig_p"], c["resp_p"]) for c in whole.rows["conn"]
                                                        if c["uid"] == wrow["uid_data"])
        [wf] = [f for f in whole.rows["files"] if f["fuid"] == wrow["fuid"]]
        [lf] = [f for f in late.rows["files"] if f["fuid"] == lrow["fuid"]]
        assert (lf["seen_bytes"], lf["missing_bytes"], lf["complete"]) == (100_000 - 1024, 1024, False)
        assert lrow["size"] == 100_000 - 1024 and lrow["complete"] is False
        assert (tmp_path / "late" / lf["path"]).read_bytes() == (tmp_path / "whole" / wf["path"]).read_bytes()[1024:]
