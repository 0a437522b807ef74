"""Hypothesis: the radiotap / PPI / 802.11 parsers stay inside the frame whatever the bytes claim.

Any frame either yields ``(4 or 6, offset)`` with the offset inside the frame, or raises ``Skip`` (never
another exception, never an index past the end); lengths in radiotap and PPI headers that point past the
frame are refused as malformed; a well-formed data frame behind any radiotap header is found at the
offset the headers add up to.
"""
from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from decoder.link import Skip, l3

FUZZ = settings(max_examples=300, deadline=None)
LLC_IP = b"\xaa\xaa\x03\x00\x00\x00\x08\x00" + b"\x45" + b"\x00" * 19


def _outcome(link: int, data: bytes):
    try:
        v, off = l3(link, data)
    except Skip as e:
        assert e.reason
        return None
    assert v in (4, 6) and 0 <= off <= len(data)
    assert data[off] >> 4 == v
    return off


@FUZZ
@given(st.sampled_from([105, 127, 192]), st.binary(max_size=200))
def test_any_bytes_are_decoded_or_skipped(link, data):
    _outcome(link, data)


@FUZZ
@given(st.integers(0, 0xFFFF), st.lists(st.integers(0, 0xFFFFFFFF), min_size=1, max_size=4),
       st.binary(max_size=40))
def test_radiotap_lengths_never_reach_past_the_frame(it_len, present, rest):
    frame = struct.pack("<BBH", 0, 0, it_len) + b"".join(struct.pack("<I", p) for p in present) + rest
    off = _outcome(127, frame)
    if it_len > len(frame) or it_len < 8:
        assert off is None


@FUZZ
@given(st.binary(max_size=60), st.booleans(), st.booleans(), st.booleans())
def test_a_data_frame_is_found_behind_any_radiotap_header(fields, qos, four_addr, htc):
    present = 0b100                         # Rate only: no Flags, so no FCS verdict
    rt = struct.pack("<BBHI", 0, 0, 8 + len(fields), present) + fields
    fc0 = 0x88 if qos else 0x08
    fc1 = (0x03 if four_addr else 0x01) | (0x80 if htc else 0)
    hdr = bytes([fc0, fc1]) + b"\x00\x00" + b"\x02" * 18 + b"\x10\x00" + (b"\x02" * 6 if four_addr else b"")
    if qos:
        hdr += b"\x00\x00" + (b"\x00" * 4 if htc else b"")
    assert _outcome(127, rt + hdr + LLC_IP) == len(rt) + len(hdr) + 8
