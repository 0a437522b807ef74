"""Hypothesis fuzzing of the HTTP dissector: whatever the bytes (random, or a valid
conversation mutated), only items come out — never an exception — and feeding
whole, byte by byte or at random splits gives the same items."""
from __future__ import annotations

import gzip

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decoder.model import (
    ORIG, RESP, Anomaly, Confirm, Credential, Event, FileClose, FileData, FileGap, FileOpen, Limits,
    Record, StopParsing, Violation,
)
from dissectors.http import HttpDissector, probe
from tests.conversation import C, Gap, S, ctx, normalize, run

ITEM_TYPES = (Event, Record, Anomaly, Credential, FileOpen, FileData, FileGap, FileClose, Confirm,
              Violation, StopParsing)
SMALL = Limits(max_line=256, max_header_block=1024, max_pending_requests=8, max_decompressed=4096,
               max_decompression_ratio=50, max_message=2048)
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_BODY = gzip.compress(b"hello fuzz " * 40)
SEED = [
    C(b"GET /a?x=1 HTTP/1.1\r\nHost: h\r\nAuthorization: Basic YTpi\r\nCookie: a=b\r\n\r\n"
      b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Type: multipart/form-data; boundary=XX\r\n"
      b"Content-Length: 75\r\n\r\n--XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\nabc\r\n--XX--\r\n"),
    S(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
      + b"%x\r\n" % len(_BODY) + _BODY + b"\r\n0\r\nX-T: 1\r\n\r\n"),
    S(b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-3/9\r\nContent-Length: 4\r\n\r\nabcd"),
    C(b"HEAD / HTTP/1.0\r\n\r\nGET /09\r\n"),
    S(b"HTTP/1.0 200 OK\r\nContent-Length: 50\r\n\r\nHTTP/1.0 304 Not Modified\r\n\r\nbody until close"),
]


def _factory(limits: Limits):
    return lambda: HttpDissector(ctx(resp=("10.0.0.2", 80), limits=limits))


def _check(items) -> None:
    for it in items:
        assert isinstance(it, ITEM_TYPES), it
        if isinstance(it, Event):
            assert isinstance(it.summary(), str)
            if hasattr(it, "meaning"):
                assert isinstance(it.meaning(), str)
        if isinstance(it, FileData):
            assert it.data


steps = st.lists(
    st.one_of(
        st.builds(C, st.binary(max_size=200)),
        st.builds(S, st.binary(max_size=200)),
        st.builds(Gap, st.sampled_from([ORIG, RESP]), st.integers(1, 5000)),
    ),
    max_size=12,
)


@SETTINGS
@given(steps, st.booleans())
def test_random_bytes_only_items(convo, small):
    items = run(_factory(SMALL if small else Limits()), convo, "random", seed=7)
    _check(items)


def _mutate(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    b = bytearray(data)
    for kind, pos, val in edits:
        if not b:
            break
        pos %= len(b)
        if kind == 0:
            b[pos] = val
        elif kind == 1:
            del b[pos:pos + 1 + val % 8]
        else:
            b[pos:pos] = bytes([val]) * (1 + val % 3)
    return bytes(b)


edits = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 10_000), st.integers(0, 255)), max_size=6)


@SETTINGS
@given(st.lists(edits, min_size=len(SEED), max_size=len(SEED)), st.booleans())
def test_mutated_conversations_same_all_ways(all_edits, small):
    convo = [type(s)(s.direction, _mutate(s.data, e)) for s, e in zip(SEED, all_edits)]
    factory = _factory(SMALL if small else Limits())
    whole = normalize(run(factory, convo, "whole"))
    _check(whole)
    assert normalize(run(factory, convo, "bytes")) == whole
    assert normalize(run(factory, convo, "random", seed=3)) == whole


@SETTINGS
@given(st.binary(max_size=300), st.sampled_from([ORIG, RESP]))
def test_probe_never_raises(data, direction):
    assert probe(direction, data) in {v for v in type(probe(direction, b""))}
