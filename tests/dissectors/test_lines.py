"""dissectors._lines.LineBuffer: the shared read loop (lines, over-long lines reported once,
halting on a prefix) gives the same lines whatever the split, and takes hand data back
without losing or repeating a byte."""
from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from decoder.model import ORIG, RESP, Anomaly
from dissectors._lines import TOO_LONG, LineBuffer

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reference_lines(data: bytes, max_line: int) -> list[bytes | None]:
    """Lines of ``data`` (None for an over-long one) by splitting the whole at once."""
    out: list[bytes | None] = []
    parts = data.split(b"\n")
    tail = parts.pop()
    for p in parts:
        out.append(None if len(p) > max_line else p[:-1] if p.endswith(b"\r") else p)
    if len(tail) > max_line:
        out.append(None)
    return out


def read_all(chunks: list[bytes], max_line: int) -> list[bytes | None]:
    got: list[bytes | None] = []
    lb = LineBuffer(max_line, "x_line_too_long", RESP, on_too_long=lambda: got.append(None))
    out: list = []
    for c in chunks:
        lb.push(c)
        got.extend(lb.lines(0.0, out))
    assert out == [Anomaly(0.0, "x_line_too_long", f"server line longer than {max_line} bytes", RESP)
                   ] * got.count(None)
    return got


def splits(data: bytes, rng: random.Random) -> list[list[bytes]]:
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, 5))) if len(data) > 1 else []
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
    return [[data], [data[i:i + 1] for i in range(len(data))], pieces]


@SETTINGS
@given(st.lists(st.sampled_from([b"abc", b"\r", b"\n", b"\r\n", b"x" * 9, b"", b"\x16\x03"]), max_size=30),
       st.integers(0, 2**32))
def test_lines_are_the_same_whatever_the_split(tokens, seed):
    data = b"".join(tokens)
    want = reference_lines(data, 8)
    for chunks in splits(data, random.Random(seed)):
        assert read_all(chunks, 8) == want


def test_an_over_long_line_is_reported_once_and_skipped_up_to_its_end():
    lost = []
    lb = LineBuffer(5, "p_line_too_long", ORIG, on_too_long=lambda: lost.append(1))
    out: list = []
    for piece in (b"ok\r\n0123", b"456789", b"abc", b"\r\nnext\r\n"):
        lb.push(piece)
        assert list(lb.lines(1.0, out)) == ([b"ok"] if piece.startswith(b"ok") else
                                            [b"next"] if piece.endswith(b"next\r\n") else [])
    assert out == [Anomaly(1.0, "p_line_too_long", "client line longer than 5 bytes", ORIG)]
    assert lost == [1]


def test_the_caller_may_stop_at_any_line_and_go_on_later():
    lb = LineBuffer(100, "x", ORIG)
    lb.push(b"a\r\nb\r\nBODYc\r\n")
    it = lb.lines(0.0, [])
    assert next(it) == b"a"
    assert next(it) == b"b"
    del it                                   # a body starts: bytes are taken as they are
    assert lb.take(4) == b"BODY"
    assert list(lb.lines(0.0, [])) == [b"c"]


def test_halt_stops_before_a_line_that_starts_with_the_prefix():
    lb = LineBuffer(100, "x", ORIG)
    lb.push(b"STARTTLS\r\n\x16\x03\x01\x00\x05hello\n")
    assert list(lb.lines(0.0, [], halt=b"\x16\x03")) == [b"STARTTLS"]
    assert lb.startswith(b"\x16\x03") and len(lb) == 11


@pytest.mark.parametrize("pieces", [[b"hello world"], [b"hello", b" world"], [b"he", b"llo", b" world"]])
def test_takes_hand_back_every_byte_once(pieces):
    lb = LineBuffer(100)
    for p in pieces:
        lb.push(p)
    assert lb.take(3) + lb.take(0) + lb.take(-1) + lb.take(100) + lb.take_all() == b"hello world"
    assert len(lb) == 0


def test_a_chunk_pushed_into_an_empty_buffer_is_handed_back_as_it_is():
    lb = LineBuffer(100)
    data = b"x" * 1000
    lb.push(data)
    assert lb.take(5000) is data
    lb.push(bytearray(b"ab"))
    assert type(lb.take_all()) is bytes


def test_next_line_reports_too_long_without_an_anomaly():
    lb = LineBuffer(3)
    lb.push(b"abcdef\nxy\r\n")
    assert lb.next_line() is TOO_LONG
    assert lb.next_line() == b"xy"
    assert lb.next_line() is None
