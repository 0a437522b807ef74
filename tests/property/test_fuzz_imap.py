"""Hypothesis fuzzing of the IMAP dissector: whatever the bytes, only items come out
(no exception, no internal-error anomaly) and file streams stay well formed."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decoder.model import (
    ORIG, RESP, FileClose, FileData, Limits,
)
from dissectors.imap import ImapDissector
from tests.conversation import check_item_stream, ctx


FRAGMENTS = [
    b"* OK", b"* PREAUTH", b"* BYE", b"* 1 FETCH (", b"BODY[] ", b"BODY[HEADER] ", b"RFC822 ",
    b"BODY[TEXT] ", b"BODY[]<0> ", b"{5}", b"{0}", b"{3+}", b"~{4}", b"{4294967295}", b")", b"+ ",
    b"+", b"\r\n", b"\n", b"a1 ", b"a2 ", b"OK", b"NO", b"BAD", b"LOGIN a b", b"LOGIN {3}",
    b"AUTHENTICATE PLAIN", b"AUTHENTICATE LOGIN", b"AGFubmEAc2VjcmV0", b"*", b"SELECT INBOX",
    b"APPEND INBOX ", b"IDLE", b"DONE", b"STARTTLS", b"COMPRESS DEFLATE", b"UID FETCH 1 BODY[]",
    b"LOGOUT", b"hello", b"\"q\\\"\" ", b"\x00", b"\xff", b" ",
]

chunk = st.one_of(
    st.binary(max_size=64),
    st.lists(st.sampled_from(FRAGMENTS), max_size=12).map(b"".join),
)
step = st.one_of(
    st.tuples(st.sampled_from(["C", "S"]), chunk),
    st.tuples(st.sampled_from(["GC", "GS"]), st.integers(min_value=1, max_value=5000)),
)
limits = st.sampled_from([Limits(), Limits(max_line=16, max_literal=40, max_header_block=64, max_pending_requests=3)])


check = check_item_stream


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, max_size=25), lim=limits, greet=st.booleans())
def test_imap_fuzz(steps, lim, greet):
    d = ImapDissector(ctx(resp=("10.0.0.2", 143), limits=lim))
    opened: set = set()
    closed: set = set()
    ts = 0.0
    if greet:   # a confirmed flow reaches deeper states
        check(d.feed(RESP, b"* OK IMAP4rev1 ready\r\n", ts), opened, closed)
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
@given(body=st.binary(max_size=300), split=st.integers(min_value=0, max_value=400))
def test_fetch_literal_roundtrip(body, split):
    """Any literal body comes back exactly, wherever the stream is split."""
    wire = b"* 1 FETCH (BODY[] {%d}\r\n" % len(body) + body + b")\r\na1 OK done\r\n"
    k = min(split, len(wire))
    d = ImapDissector(ctx(resp=("10.0.0.2", 143)))
    items = d.feed(RESP, b"* OK IMAP4rev1 ready\r\n", 0.0) + d.feed(ORIG, b"a1 FETCH 1 BODY[]\r\n", 1.0)
    items += d.feed(RESP, wire[:k], 2.0) + d.feed(RESP, wire[k:], 2.0) + d.close(3.0)
    data = b"".join(i.data for i in items if isinstance(i, FileData))
    assert data == body
    assert [i.complete for i in items if isinstance(i, FileClose)] == [True]
