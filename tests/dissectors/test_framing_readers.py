"""The framing readers on their own (dissectors/_http_framing.py, dissectors/_smtp_framing.py): each gives
the same content whatever the split of its input (Hypothesis), says where its framing ends, and reports
odd framing as flaws; the dissectors' conversation tests check the same through HTTP and SMTP."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from dissectors import _http_framing as hf
from dissectors._lines import LineBuffer
from dissectors._smtp_framing import BdatReader, DotStuffedReader

SETTINGS = settings(max_examples=150, deadline=None)


def _splits(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:])]


def _read_body(reader, pieces: list[bytes]) -> tuple[bytes, list, object, bytes]:
    """Feed ``pieces`` one at a time; (body, flaws, how it ended, what is left in the buffer)."""
    buf, body, flaws, end = LineBuffer(200), bytearray(), [], None
    for p in pieces:
        buf.push(p)
        while end is None:
            got = reader(buf, flaws)
            if got is None:
                break
            if type(got) is bytes:
                body += got
            else:
                end = got
    return bytes(body), flaws, end, buf.pending()


CHUNKED = b"5\r\nhello\r\n0006;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\nGET / HTTP/1.1\r\n"


@SETTINGS
@given(st.lists(st.integers(0, 200), max_size=12))
def test_chunked_reader_is_split_independent(cuts):
    body, flaws, end, rest = _read_body(hf.READERS["chunked"](0), _splits(CHUNKED, cuts))
    assert (body, flaws, end) == (b"hello world", [], hf.TRAILERS)
    assert rest.startswith(b"Trailer: x\r\n")       # the trailer section is the dissector's to read


@SETTINGS
@given(st.lists(st.integers(0, 200), max_size=12))
def test_content_length_reader_stops_at_its_length(cuts):
    data = b"0123456789GET /next"
    body, flaws, end, rest = _read_body(hf.READERS["length"](10), _splits(data, cuts))
    assert (body, flaws, end, rest) == (b"0123456789", [], hf.END, b"GET /next")


def test_chunked_flaws_and_lost_framing():
    body, flaws, end, _ = _read_body(hf.ChunkedReader(), [b"\r\n 3 \r\nabcX\r\n"])
    assert body == b"abc" and [n for n, _ in flaws] == [
        "http_chunk_extra_crlf", "http_chunk_size_spacing", "http_chunk_missing_crlf", "http_bad_chunk_size"]
    assert end == hf.Lost("bad chunk size")
    _, flaws, end, _ = _read_body(hf.ChunkedReader(), [b"1" * 17 + b"\r\n"])
    assert flaws[0][0] == "http_chunk_size_too_long" and end == hf.Lost("chunk size overflow")


def test_gaps_and_eof_by_framing():
    r = hf.ContentLengthReader(10)
    assert r.gap(4) == ((4,), hf.GO_ON) and r.gap(6) == ((6,), hf.ENDED)
    assert hf.ContentLengthReader(5).gap(8) == ((5,), hf.GAP_PAST_END)
    assert hf.ContentLengthReader(7).eof() == 7
    c = hf.ChunkedReader()
    assert c.gap(3) == ((3,), hf.GAP_IN_FRAMING) and c.eof() == 0
    _read_body(c, [b"4\r\nab"])
    assert c.remaining == 2 and c.gap(5) == ((2, 3), hf.GAP_PAST_END)
    u = hf.UntilCloseReader()
    assert u.gap(9) == ((9,), hf.GO_ON) and u.eof() is None and u.remaining == 0


MESSAGE = b"Subject: x\r\n\r\n..leading dot\r\n.\r\nnot the end\r\n.\r\nQUIT\r\n"


@SETTINGS
@given(st.lists(st.integers(0, 200), max_size=12))
def test_dot_stuffed_reader_is_split_independent(cuts):
    r, content, rest, ended = DotStuffedReader(), bytearray(), b"", False
    for p in _splits(MESSAGE, cuts):
        if ended:
            rest += p
            continue
        got, ended, after = r(p)
        content += got
        rest += after
    assert ended and bytes(content) == b"Subject: x\r\n\r\n.leading dot\r\n"
    assert rest == b"not the end\r\n.\r\nQUIT\r\n"


def test_dot_stuffed_reader_gap_and_eof():
    r = DotStuffedReader()
    assert r(b"line\r\n.") == (b"line\r\n", False, b"")       # "." held: the end line, or a stuffed dot?
    assert r.gap() == b"" and not r.bol                        # a gap: the held dot was text
    r = DotStuffedReader()
    r(b"a\r\n.\r")
    assert r.eof() == b".\r"


def test_bdat_reader_takes_exactly_its_size():
    buf = LineBuffer()
    buf.push(b"abcdeMAIL FROM:<x>\r\n")
    r = BdatReader(5, last=True)
    assert r(buf) == b"abcde" and r.remaining == 0 and buf.pending() == b"MAIL FROM:<x>\r\n"
    r = BdatReader(4)
    assert r.gap(6) == (4, True) and r.remaining == 0
