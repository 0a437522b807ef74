"""Hypothesis fuzzing of WebSocket framing: whatever the bytes (random, assembled from frame pieces, or
real frames of the websockets library mutated), only items come out and file streams stay well formed."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import Frame, Opcode

from decoder.model import ORIG, RESP, Limits
from dissectors.websocket import WebSocketDissector
from tests.conversation import ctx, feed_checked

BITS = [b"\x81", b"\x82", b"\x01", b"\x80", b"\x88", b"\x89", b"\x8a", b"\xc1", b"\x7e\x00\x10", b"\x7f" + b"\x00" * 7 +
        b"\x20", b"\xfe\xff\xff", b"\x00\x00\x00\x00", b"\x85", b"\x05", b"\x03\xe8"]
chunk = st.one_of(st.binary(max_size=80), st.lists(st.sampled_from(BITS), max_size=12).map(b"".join))
REAL = (Frame(Opcode.TEXT, b"hello " * 40).serialize(mask=True, extensions=[PerMessageDeflate(False, False, 15, 15)])
        + Frame(Opcode.BINARY, bytes(range(200)), fin=False).serialize(mask=True)
        + Frame(Opcode.CONT, b"tail").serialize(mask=True) + Frame(Opcode.CLOSE, b"\x03\xe8bye").serialize(mask=True))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.tuples(st.sampled_from([ORIG, RESP]), st.one_of(chunk, st.integers(1, 500))),
                      max_size=20),
       lim=st.sampled_from([Limits(), Limits(max_message=64, max_decompressed=100)]))
def test_websocket_fuzz(steps, lim):
    feed_checked(WebSocketDissector(ctx(resp=("10.0.0.2", 80), limits=lim)), steps)


@settings(max_examples=200, deadline=None)
@given(pos=st.integers(0, len(REAL) - 1), xor=st.integers(1, 255), cut=st.integers(1, len(REAL)))
def test_mutated_real_frames(pos, xor, cut):
    raw = bytearray(REAL)
    raw[pos] ^= xor
    feed_checked(WebSocketDissector(ctx(resp=("10.0.0.2", 80))), [(ORIG, bytes(raw[:cut])), (ORIG, bytes(raw[cut:]))])
