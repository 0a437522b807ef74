"""dissectors.mime fast paths against the standard parser they stand in for: header blocks
split directly (``_plain_fields``) give the fields ``email.feedparser`` stores, and hand
everything odd over to it; the parameters of a part parsed once give what the stdlib
getters give; the blank line found in the first 8 KiB is the first one of the part.
Whole messages come out of :func:`explode` the same either way."""
from __future__ import annotations

from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import collapse_rfc2231_value

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from decoder.model import Limits
from dissectors import mime as _mime
from dissectors.mime import explode, parse_headers, split_header_block
from tests.property.test_fuzz_smtp import MIME_TOKENS

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
STDLIB = BytesHeaderParser(policy=compat32)


def stdlib_block(block: bytes) -> Message:
    return STDLIB.parsebytes(block, headersonly=True)


def reference_blank_line(data: bytes) -> tuple[bytes, bytes]:
    """Header block and body around the first empty line, found by two whole scans (as
    split_header_block did before it looked in the first 8 KiB first)."""
    found = [c for c in [(data.find(b"\n\r\n"), 3), (data.find(b"\n\n"), 2)] if c[0] >= 0]
    if not found:
        return data, b""
    k, n = min(found)
    return data[:k + 1], data[k + n:]


LINE_PIECES = [b"Subject: hi", b"To: a@b, \"c, d\" <e@f>", b"X-Empty:", b"X-Sp:   lead", b"X-Tab:\tv\t",
               b" folded", b"\tfolded by tab", b"From x@y Mon Jan 1", b"From: a@b", b"From :x", b": no name",
               b"no colon", b"Content-Type: text/plain; charset*=utf-8''%e2%82%ac", b"X-Latin: caf\xe9",
               b"X-Nul: a\x00b", b"X-Cr: a\rb", b"X-Colons: a:b::c", b"", b" ", b"\xff: odd name", b"A:"]
ENDS = [b"\r\n", b"\n", b"\r", b"\r\r\n", b""]


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(LINE_PIECES), st.sampled_from(ENDS)), max_size=8))
def test_plain_fields_are_what_the_stdlib_parser_stores(lines):
    block = b"".join(a + b for a, b in lines)
    text = block.decode("ascii", "surrogateescape")
    fields = _mime._plain_fields(text)
    ref = stdlib_block(block)
    if fields is not None:
        assert fields == list(ref.raw_items())
        assert ref.defects == [] and ref.get_unixfrom() is None
    # either way the message the module works with has the stdlib's fields and defects
    msg = _mime._parse_block(block)
    assert list(msg.raw_items()) == list(ref.raw_items())
    assert [type(d) for d in msg.defects] == [type(d) for d in ref.defects]


@pytest.mark.parametrize("block", [
    b"Subject: a\r\n b\r\n\tc\r\nTo: x\r\n", b"A: 1\nB:2\n", b"A: no end", b"A:\r\n", b"A: b\r\n \r\n",
    b"A: trailing \t\r\n", b"A: b\r\n c \r\n",
])
def test_plain_blocks_take_the_fast_path(block):
    fields = _mime._plain_fields(block.decode("ascii", "surrogateescape"))
    assert fields is not None and fields == list(stdlib_block(block).raw_items())


@pytest.mark.parametrize("block", [
    b" leading continuation\r\nA: b\r\n", b"From x Mon\r\nA: b\r\n", b"A: b\r\nno colon\r\n",
    b": no name\r\n", b"A: b\rc\r\n", b"A : b\r\n", b"A: b\r\r\n", b"\xe9: b\r\n",
])
def test_odd_blocks_go_to_the_parser(block):
    assert _mime._plain_fields(block.decode("ascii", "surrogateescape")) is None


@pytest.mark.parametrize("ct,cd", [
    ("text/plain; charset=UTF-8; name=\"a.txt\"", None),
    ("text/plain; name*=x; name*0=y", "attachment; filename*=a; filename*0=b"),   # stdlib raises
    ("text/plain; name=ok", "attachment; filename*=a; filename*0=b"),
    ("text/plain; charset*=us-ascii'en'%41", "inline; filename=\"\""),
    ("multipart/mixed; boundary*0=\"ab\"; boundary*1=\"cd\"", None),
    ("charset=utf-8", None),
])
def test_parameters_parsed_once_give_what_the_stdlib_getters_give(ct, cd):
    block = f"Content-Type: {ct}\r\n".encode() + (f"Content-Disposition: {cd}\r\n".encode() if cd else b"")
    ours, ref = _mime._parse_block(block), stdlib_block(block)

    def getters(m: Message) -> list:
        out = []
        for f in (_mime._filename, _mime._charset, _mime._boundary, _mime._disposition,
                  lambda m: m.get_content_type()):
            out.append(f(m))
            out.append(f(m))       # asked again: the kept result, or the same error again
        return out
    assert getters(ours) == getters(ref)
    assert _mime._filename(ours) == reference_filename(ref)


def reference_filename(msg: Message) -> str | None:
    """_filename as it was: Content-Type's name asked again whenever get_filename found none."""
    try:
        name = msg.get_filename()
    except Exception:
        name = None
    if name is None:
        try:
            p = msg.get_param("name")
            if p is not None:
                name = collapse_rfc2231_value(p)
        except Exception:
            name = None
    return None if name is None else _mime.decode_words(str(name))


@pytest.mark.parametrize("where", [0, 100, 8180, 8188, 8189, 8190, 8191, 8192, 8193, 9000, None])
@pytest.mark.parametrize("blank", [b"\n\n", b"\r\n\r\n", b"\n\r\n"])
def test_blank_line_found_inside_and_beyond_the_first_8_kib(where, blank):
    head = b"Subject: x\r\n" + b"X-Long: " + b"a" * 9000 + b"\r\n"
    if where is None:
        data = head + b"body"          # no blank line at all
    else:
        data = head[:12 + where] + blank + b"body\n\nmore\r\n\r\n"
    assert split_header_block(data, 1 << 30) == (*reference_blank_line(data), False)


ODD_TOKENS = [b"Content-Type: text/plain; charset=utf-8; name*=x; name*0=y\r\n", b"From x Mon\r\n",
              b" folded\r\n", b": x\r\n", b"\r", b"X-Cr: a\rb\r\n"]
LIMITS = [Limits(), Limits(max_mime_depth=2, max_mime_parts=4, max_file_size=10, max_header_block=30)]


@pytest.mark.parametrize("limits", LIMITS)
@SETTINGS
@given(chunks=st.lists(st.one_of(st.sampled_from(MIME_TOKENS + ODD_TOKENS), st.binary(max_size=20)),
                       max_size=40))
def test_explode_is_the_same_with_the_stdlib_parser_alone(limits, chunks):
    data = b"".join(chunks)
    fast = explode(data, limits), parse_headers(data)
    saved = _mime._parse_block
    _mime._parse_block = stdlib_block       # the standard parser for every block, no kept parameters
    try:
        slow = explode(data, limits), parse_headers(data)
    finally:
        _mime._parse_block = saved
    assert fast == slow
