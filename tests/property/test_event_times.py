"""Every event at the time and frame of the packet that carried it (issue 23).

Over every sample and every capture in ../shared/captures, each ``timeline`` row:

* lies within its session's first and last packet (``conn.ts`` … ``conn.ts + duration``);
* names a frame that is a packet of that session (its endpoints, read by tshark, are the session's,
  and it lies between the session's first and last frame);
* carries that frame's own capture time (tshark's ``frame.time_epoch``): a transfer's end is stamped at
  its last data packet, a Telnet line at its first keystroke, not at the FIN or the capture's end.

tshark is the oracle for the frames; without it only the first property is checked.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import SAMPLES, shared_captures
from tests.oracle.tshark import frame_packets

CAPTURES = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".pcap", ".pcapng")) + shared_captures("*")


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_timeline_rows_lie_in_their_session(capture: Path) -> None:
    from decoder.api import analyze

    with analyze(capture) as a:
        conns = {c["uid"]: c for c in a.rows.get("conn", [])}
        rows = a.rows.get("timeline", [])
    frames = frame_packets(str(capture)) if shutil.which("tshark") else None
    wrong = []
    for r in rows:
        c = conns[r["uid"]]
        why = ""
        if not c["ts"] - 1e-6 <= r["ts"] <= c["ts"] + c["duration"] + 1e-6:
            why = f"time {r['ts'] - c['ts']:+.6f} s outside the session's {c['duration']} s"
        elif frames is not None:
            pkt = frames.get(r["frame"])
            ends = {(c["orig_h"], c["orig_p"]), (c["resp_h"], c["resp_p"])}
            if pkt is None or {pkt[1], pkt[2]} != ends or not c["first_frame"] <= r["frame"] <= c["last_frame"]:
                why = f"frame {r['frame']} is not a packet of the session ({pkt and pkt[1:]})"
            elif abs(pkt[0] - r["ts"]) > 2e-6:
                why = f"frame {r['frame']} was captured at {pkt[0]:.6f}, the row says {r['ts']:.6f}"
        if why:
            wrong.append(f"{r['uid']} {r['kind']} {r['summary'][:60]!r}: {why}")
    assert not wrong, f"{len(wrong)} of {len(rows)} rows:\n" + "\n".join(wrong[:20])


def test_telnet_lines_at_their_first_keystroke(tmp_path):
    """A login, a password and a 61-key command typed one key at a time (echoed, but the password): each
    TelnetLine row carries the time and frame of its first keystroke, except the long command, older than
    the 64 packets the engine remembers per flow: it goes to the oldest packet remembered, time and frame
    of that one packet (docs/REPORT.md says so)."""
    from decoder.api import analyze
    from tests.builders import Conn, write_pcap

    c = Conn(("10.0.0.1", 40000), ("10.0.0.2", 23))
    pkts = c.handshake() + [c.server(b"login: ")]
    first = {}
    for line, echo in ((b"student\r", True), (b"secret\r", False), (b"echo " + b"x" * 55 + b"\r", True)):
        if line.startswith(b"secret"):
            pkts.append(c.server(b"Password: "))
        elif line.startswith(b"echo"):
            pkts.append(c.server(b"\r\nLast login: today\r\n$ "))
        first[line[:4]] = len(pkts) + 1          # frame numbers start at 1
        for ch in line:
            pkts.append(c.client(bytes([ch])))
            if echo:
                pkts.append(c.server(b"\r\n" if ch == 13 else bytes([ch])))
    pkts += [c.server(b"x\r\n$ ")] + c.close()
    cap = tmp_path / "typed.pcap"
    write_pcap(cap, pkts, t0=1_700_000_000.0, step=0.01)
    with analyze(cap) as a:
        lines = [r for r in a.rows["timeline"] if r["kind"] == "TelnetLine"]
    times = {i + 1: 1_700_000_000.0 + i * 0.01 for i in range(len(pkts))}
    assert [r["frame"] for r in lines[:2]] == [first[b"stud"], first[b"secr"]]
    assert lines[2]["frame"] > first[b"echo"]
    for r in lines:
        assert abs(r["ts"] - times[r["frame"]]) < 1e-6
