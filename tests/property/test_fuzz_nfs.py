"""Hypothesis fuzzing of the XDR reader (its bounds: string and opaque lengths, array counts, list
lengths, nesting) and of the RPC dissector over UDP and TCP: only items come out, never an exception,
and file streams stay well formed."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decoder.model import Expect, Limits, Transport
from dissectors._xdr import XdrBounds, XdrError, XdrLimit, XdrReader
from dissectors.nfs import RpcDissector
from decoder.model import ORIG, RESP
from tests.conversation import check_item_stream, ctx
from tests.dissectors.rpc_build import call, opaque, post_op_attr, reply, rm, string, u32, u64

FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
BOUNDS = XdrBounds(max_string=64, max_opaque=256, max_array=8, max_depth=3)

OPS = ("u32", "i32", "u64", "boolean", "fixed", "opaque", "bulk", "string", "array", "optional", "chain")


def _op(r: XdrReader, name: str, depth: int = 0):
    if name == "fixed":
        return r.fixed(5)
    if name == "bulk":
        return r.opaque(bulk=True)
    if name == "array":
        return r.array(lambda x: _op(x, "u32") if depth else _op(x, "array", depth + 1))
    if name == "optional":
        return r.optional(lambda x: _op(x, "optional", depth + 1))     # nests until the data says no
    if name == "chain":
        return r.chain(XdrReader.u32)
    return getattr(r, name)()


@FUZZ
@given(st.binary(max_size=400), st.lists(st.sampled_from(OPS), max_size=30))
def test_reader_raises_only_xdr_errors_and_never_reads_past_the_end(data: bytes, ops: list[str]) -> None:
    r = XdrReader(data, bounds=BOUNDS)
    for name in ops:
        before = r.pos
        try:
            v = _op(r, name)
        except XdrError:
            assert r.depth == 0          # nesting unwinds on errors
            break
        assert before <= r.pos <= len(data)
        if isinstance(v, (bytes, str)):
            assert len(v) <= (BOUNDS.max_opaque if name == "bulk" else BOUNDS.max_string)
        if isinstance(v, list):
            assert len(v) <= BOUNDS.max_array


@FUZZ
@given(st.integers(0, 2 ** 32 - 1))
def test_length_bounds(n: int) -> None:
    data = u32(n) + b"x" * 300
    r = XdrReader(data, bounds=BOUNDS)
    if n > BOUNDS.max_string:
        with pytest.raises(XdrLimit) as e:
            r.opaque()
        assert e.value.kind == "too_long"
    else:
        assert r.opaque() == b"x" * n
    r = XdrReader(data, bounds=BOUNDS)
    if n > BOUNDS.max_array:
        with pytest.raises(XdrLimit) as e:
            r.array(XdrReader.u32)
        assert e.value.kind == "too_many"


@FUZZ
@given(st.integers(0, 20))
def test_nesting_and_list_bounds(depth: int) -> None:
    nested = u32(1) * depth + u32(0)        # optional(optional(…)) depth levels deep
    r = XdrReader(nested, bounds=BOUNDS)

    def item(x: XdrReader):
        return x.optional(item)
    if depth > BOUNDS.max_depth:
        with pytest.raises(XdrLimit) as e:
            item(r)
        assert e.value.kind == "too_deep" and r.depth == 0
    else:
        item(r)
    chain = u32(1, 7) * depth + u32(0)
    r = XdrReader(chain, bounds=BOUNDS)
    if depth > BOUNDS.max_array:
        with pytest.raises(XdrLimit) as e:
            r.chain(XdrReader.u32)
        assert e.value.kind == "too_many"
    else:
        assert r.chain(XdrReader.u32) == [7] * depth


# ---------------------------------------------------------------- the dissector
NFS = 100003
FH = b"H" * 12
valid = st.sampled_from([
    call(1, NFS, 3, 3, opaque(FH) + string("a")),
    reply(1, u32(0) + opaque(b"K" * 8) + post_op_attr(10) + post_op_attr(None)),
    call(2, NFS, 3, 6, opaque(b"K" * 8) + u64(0) + u32(10)),
    reply(2, u32(0) + post_op_attr(10) + u32(10, 1) + opaque(b"0123456789")),
    call(3, NFS, 3, 7, opaque(b"K" * 8) + u64(4) + u32(3, 0) + opaque(b"abc")),
    call(4, 100000, 2, 3, u32(100005, 3, 6, 0)), reply(4, u32(20048)),
    call(5, 100005, 3, 1, string("/e")), reply(5, u32(0) + opaque(FH) + u32(1, 1)),
])
message = st.one_of(valid, st.binary(max_size=120),
                    st.builds(lambda m, cut: m[:cut], valid, st.integers(0, 200)),
                    st.builds(lambda m, i, b: m[:i] + bytes([b]) + m[i + 1:], valid, st.integers(0, 150),
                              st.integers(0, 255)))
LIMITS = Limits(xdr_max_string=64, xdr_max_array=8, xdr_max_depth=3, rpc_max_record=512, nfs_max_files=2,
                nfs_max_handles=2, nfs_reorder_buffer=64, max_pending_requests=3)


def _check(items: list, opened: set, closed: set) -> None:
    for e in items:
        if isinstance(e, Expect):
            assert e.service in ("nfs", "mount") and 0 < e.resp_p < 65536
    check_item_stream([i for i in items if not isinstance(i, Expect)], opened, closed)


@FUZZ
@given(st.booleans(), st.lists(st.tuples(st.booleans(), message, st.integers(1, 4)), max_size=20),
       st.integers(0, 50))
def test_dissector_never_raises(is_tcp: bool, steps, split: int) -> None:
    c = ctx(Transport.TCP if is_tcp else Transport.UDP, limits=LIMITS)
    d = RpcDissector(c)
    opened: set = set()
    closed: set = set()
    for is_orig, msg, frags in steps:
        direction = ORIG if is_orig else RESP
        if is_tcp:
            data = rm(msg, frags)
            for piece in (data[:split], data[split:]):
                _check(d.feed(direction, piece, 1.0), opened, closed)
        else:
            _check(d.feed(direction, msg, 1.0), opened, closed)
    _check(d.close(2.0), opened, closed)
    assert closed == opened
