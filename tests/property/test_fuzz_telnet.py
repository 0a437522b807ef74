"""Hypothesis fuzzing of the Telnet dissector: only items come out, never an exception."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from decoder.model import (
    ORIG, RESP, Anomaly, Confirm, Event, Record, Violation,
)
from dissectors.telnet import TelnetDissector, TelnetRecord
from tests.conversation import ctx

FRAGMENTS = [
    b"\xff\xfb\x01", b"\xff\xfd\x01", b"\xff\xfc\x01", b"\xff\xfe\x01", b"\xff\xfa\x18\x00",
    b"\xff\xfa\x1f\x00\x50\x00\x18", b"\xff\xf0", b"\xff\xff", b"\xff", b"\xff\xfa",
    b"\xff\xfa\x27\x00\x00USER\x01bob", b"\xff\xfa\x22\x01\x03", b"\xff\xfa\x25\x02",
    b"\xff\xfa\x26\x07", b"login: ", b"Password: ", b"root", b"\r\x00", b"\r\n", b"\r",
    b"\x7f", b"\x08 \x08", b"Login incorrect\r\n", b"$ ", b"\x1b[A", b"\x15",
]
chunk = st.one_of(st.binary(max_size=64), st.sampled_from(FRAGMENTS))
step = st.tuples(st.sampled_from([ORIG, RESP, "gap"]), chunk, st.integers(1, 5000))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, max_size=40))
def test_fuzz_telnet(steps):
    lim = ctx().limits.replace(max_line=64)
    d = TelnetDissector(ctx(resp=("10.0.0.2", 23), limits=lim))
    out = []
    ts = 0.0
    for direction, data, n in steps:
        ts += 0.01
        if direction == "gap":
            out += d.gap(ORIG if n % 2 else RESP, n, ts)
        else:
            out += d.feed(direction, data, ts)
    out += d.close(ts + 1)
    assert all(isinstance(i, (Event, Record, Anomaly, Confirm, Violation)) for i in out)
    for e in out:
        if isinstance(e, Event):
            assert isinstance(e.summary(), str) and isinstance(e.meaning(), str)
    recs = [r for r in out if isinstance(r, TelnetRecord)]
    assert len(recs) <= 1
    if recs:
        # at most max_line bytes per line (a non-UTF-8 byte shows as 4 characters)
        assert all(len(c) <= 4 * 64 for c in recs[0].commands)
    assert d.close(ts + 2) == []          # idempotent
