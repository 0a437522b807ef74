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
    from decoder.pipeline import analyze

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
