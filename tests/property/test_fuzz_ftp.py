"""Hypothesis fuzzing of the FTP control and data dissectors: whatever the bytes,
only items come out (never an exception), and assemble() accepts what they make."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from decoder.model import (
    ORIG, RESP, Anomaly, Confirm, Event, Expect, ExpectationMatch, FileClose,
    FileData, FileGap, FileOpen, Record, StopParsing, Violation,
)
from dissectors.ftp import FtpDataDissector, FtpDissector, assemble
from tests.conversation import ctx

ITEM_TYPES = (Event, Record, Anomaly, FileOpen, FileData, FileGap, FileClose, Expect,
              Confirm, Violation, StopParsing)

# FTP-shaped fragments mixed with raw bytes, so the fuzzer reaches deep states
FRAGMENTS = [
    b"220 FTP ready\r\n", b"USER anna\r\n", b"PASS x\r\n", b"331 ok\r\n", b"230 ok\r\n",
    b"PASV\r\n", b"227 Entering Passive Mode (10,0,0,2,4,1)\r\n", b"EPSV\r\n",
    b"229 Entering Extended Passive Mode (|||6446|)\r\n", b"EPRT |2|::1|5282|\r\n",
    b"PORT 10,0,0,1,4,1\r\n", b"200 ok\r\n", b"RETR f\r\n", b"150 ok (12 bytes)\r\n",
    b"226 done\r\n", b"426 aborted\r\n", b"211-Features\r\n", b" EPSV\r\n", b"211 End\r\n",
    b"PWD\r\n", b'257 "/a""b"\r\n', b"CWD ..\r\n", b"250 ok\r\n", b"AUTH TLS\r\n",
    b"234 go\r\n", b"\xff\xf4\xff\xf2", b"\r\n", b"\n", b"-", b"1", b"\x00",
]
chunk = st.one_of(st.binary(max_size=64), st.sampled_from(FRAGMENTS))
step = st.tuples(st.sampled_from([ORIG, RESP, "gap"]), chunk, st.integers(1, 5000))


def _run(d, steps):
    out = []
    ts = 0.0
    for direction, data, n in steps:
        ts += 0.01
        if direction == "gap":
            out += d.gap(ORIG if n % 2 else RESP, n, ts)
        else:
            out += d.feed(direction, data, ts)
    out += d.close(ts + 1)
    assert all(isinstance(i, ITEM_TYPES) for i in out)
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, max_size=30))
def test_fuzz_control(steps):
    lim = ctx().limits.replace(max_line=128, max_header_block=512, max_pending_requests=8)
    out = _run(FtpDissector(ctx(resp=("10.0.0.2", 21), limits=lim)), steps)
    for e in out:
        if isinstance(e, Event):
            assert isinstance(e.summary(), str) and isinstance(e.meaning(), str)
    # feed the records through assemble as plain dicts
    import dataclasses
    rows = [dataclasses.asdict(r) | {"uid": "Cctl"} for r in out
            if isinstance(r, Record) and r.TABLE == "ftp"]
    conn = [dict(uid="Cd", service="ftp-data", parent_uid="Cctl", expect_token=e.token)
            for e in out if isinstance(e, Expect)]
    out = {k: list(v) for k, v in assemble({"ftp": rows, "conn": conn, "files": [], "ftp_listing": []}).items()}
    assert len(out["ftp"]) == len(rows)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, max_size=30), st.booleans())
def test_fuzz_data(steps, linked):
    exp = ExpectationMatch("Cctl", "T1", "ftp-data", {}) if linked else None
    out = _run(FtpDataDissector(ctx(expectation=exp)), steps)
    opened = {i.handle for i in out if isinstance(i, FileOpen)}
    closed = {i.handle for i in out if isinstance(i, FileClose)}
    assert opened == closed
    for i in out:
        if isinstance(i, (FileData, FileGap)):
            assert i.handle in opened
