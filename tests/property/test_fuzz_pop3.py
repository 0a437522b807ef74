"""Hypothesis fuzzing of the POP3 dissector: whatever the bytes, only items come out
(no exception, no internal-error anomaly) and file streams stay well formed."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decoder.model import (
    ORIG, RESP, FileClose, FileData, Limits,
)
from dissectors.pop3 import Pop3Dissector
from tests.conversation import check_item_stream, ctx


FRAGMENTS = [
    b"+OK", b"-ERR", b"+ ", b"\r\n", b"\n", b".", b"..", b"\r\n.\r\n", b"USER a", b"PASS b",
    b"APOP x 0123", b"AUTH PLAIN", b"AUTH LOGIN", b"AUTH", b"AGFubmEAc2VjcmV0", b"*", b"CAPA",
    b"STAT", b"LIST", b"LIST 1", b"UIDL", b"RETR 1", b"TOP 1 0", b"DELE 1", b"STLS", b"QUIT",
    b"Subject: x", b" octets", b"12", b"\x00", b"\xff", b" ",
]

chunk = st.one_of(
    st.binary(max_size=64),
    st.lists(st.sampled_from(FRAGMENTS), max_size=12).map(b"".join),
)
step = st.one_of(
    st.tuples(st.sampled_from(["C", "S"]), chunk),
    st.tuples(st.sampled_from(["GC", "GS"]), st.integers(min_value=1, max_value=5000)),
)
limits = st.sampled_from([Limits(), Limits(max_line=16, max_message=40, max_pending_requests=3)])


check = check_item_stream


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, max_size=25), lim=limits, greet=st.booleans())
def test_pop3_fuzz(steps, lim, greet):
    d = Pop3Dissector(ctx(resp=("10.0.0.2", 110), limits=lim))
    opened: set = set()
    closed: set = set()
    ts = 0.0
    if greet:   # a confirmed flow reaches deeper states
        check(d.feed(RESP, b"+OK ready\r\n", ts), opened, closed)
    for kind, val in steps:
        ts += 1.0
        if kind == "C":
            items = d.feed(ORIG, val, ts)
        elif kind == "S":
            items = d.feed(RESP, val, ts)
        else:
            items = d.gap(ORIG if kind == "GC" else RESP, val, ts)
        assert isinstance(items, list)
        check(items, opened, closed)
    final = d.close(ts + 1)
    check(final, opened, closed)
    assert closed == opened      # every object is closed when the flow ends


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=300))
def test_retr_roundtrip(body):
    """Any body, byte-stuffed per RFC 1939 section 3, comes back exactly."""
    msg = body.replace(b"\r", b"").replace(b"\n", b"\r\n")
    if msg and not msg.endswith(b"\r\n"):
        msg += b"\r\n"
    stuffed = b"\r\n".join((b"." + ln if ln.startswith(b".") else ln) for ln in msg.split(b"\r\n"))
    d = Pop3Dissector(ctx(resp=("10.0.0.2", 110)))
    items = d.feed(RESP, b"+OK ready\r\n", 0.0) + d.feed(ORIG, b"RETR 1\r\n", 1.0)
    items += d.feed(RESP, b"+OK\r\n" + stuffed + b".\r\n", 2.0) + d.close(3.0)
    data = b"".join(i.data for i in items if isinstance(i, FileData))
    assert data == msg
    assert [i.complete for i in items if isinstance(i, FileClose)] == [True]
