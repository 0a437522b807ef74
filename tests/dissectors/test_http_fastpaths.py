"""HTTP dissector fast paths (whole header block in one regex pass, body segments stored as they
came) against the tolerant line-by-line path: the same items whatever the split, for well-formed
blocks and for every odd line the fast path must hand over."""
from __future__ import annotations

import gzip
from urllib.parse import parse_qsl

import pytest

from decoder.model import ORIG, RESP, Anomaly, FileData, Limits
from dissectors.http import HttpDissector, HttpRequest, HttpResponse, HttpTransaction
from tests.conversation import C, S, ctx, normalize, of_type, run, run_all_ways


def make(limits: Limits | None = None):
    return lambda: HttpDissector(ctx(resp=("10.0.0.2", 80), limits=limits))


def reply(*lines: bytes, body: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\n" + b"".join(lines) + b"\r\n" + body


ODD_LINES = [
    b"X-Bare: lf\n",                    # bare LF line end
    b" folded onto the previous\r\n",    # obs-fold
    b"X-Space : before colon\r\n",       # white space before the colon
    b"no colon at all\r\n",              # no name and colon
    b": empty name\r\n",                 # colon first
    b"\tX-Tab: leading tab\r\n",         # continuation by tab
    b"X-Cr: inner\rcarriage\r\n",        # a CR inside the value
    b"X-Trail: value \t \r\n",           # white space after the value
    b"X-Empty:\r\n",                     # empty value
    b"X-Colons: a:b::c\r\n",             # more colons in the value
    b"X-Latin: caf\xe9\r\n",             # latin-1 byte
]


@pytest.mark.parametrize("odd", ODD_LINES)
@pytest.mark.parametrize("where", [0, 1, 2])
def test_odd_header_line_anywhere_in_the_block_same_all_ways(odd, where):
    lines = [b"Host: h\r\n", b"X-A: 1\r\n"]
    lines.insert(where, odd)
    request = b"GET /x HTTP/1.1\r\n" + b"".join(lines) + b"\r\n"
    convo = [C(request, ts=1.0), S(reply(b"Content-Length: 2\r\n", body=b"ok"), ts=2.0)]
    items = run_all_ways(make(), convo)
    (tx,) = of_type(items, HttpTransaction)
    assert tx.uri == "/x" and tx.status_code == 200 and tx.response_body_len == 2
    # one header at a time (the tolerant path) gives the same as the whole block
    one_by_one = ([C(b"GET /x HTTP/1.1\r\n", ts=1.0)] + [C(x, ts=1.0) for x in lines]
                  + [C(b"\r\n", ts=1.0)] + convo[1:])
    assert normalize(run(make(), one_by_one)) == items


def test_well_formed_block_values_are_stripped_as_by_the_tolerant_path():
    block = (b"Host:   example.com  \r\nX-Tabs:\t\ta\tb\t\r\nX-Empty:\r\nX-Spaces:    \r\n"
             b"X-Colon: a:b\r\nX-Cr: a\r\r\n")
    convo = [C(b"GET / HTTP/1.1\r\n" + block + b"\r\n"), S(reply(b"Content-Length: 0\r\n"))]
    items = run_all_ways(make(), convo)
    (req,) = of_type(items, HttpRequest)
    assert req.headers == (("Host", "example.com"), ("X-Tabs", "a\tb"), ("X-Empty", ""),
                           ("X-Spaces", ""), ("X-Colon", "a:b"), ("X-Cr", "a\r"))


def test_header_block_over_its_limit_whatever_the_split():
    """Regression: once the tolerant path had taken lines past the block limit, a later segment
    starting near the front of the buffer let the fast path search with a negative end (counted
    from the end of the buffer) and take the skipped rest of the block."""
    lim = Limits(max_line=40, max_header_block=120)
    head = (b"HTTP/1.0 200\r\nContent-Encoding: x\r\nUser-Agent: spaced\r\nContent-Type: a\r\n"
            b"X-Foo: tab\r\nUpgrade: v\r\n folded continuation\r\n")
    rest = b"Content-Range: x=1; y=2\r\nCookie: a b\r\n\r\n" + b"body" * 25
    expect = ["Content-Encoding", "User-Agent", "Content-Type", "X-Foo", "Upgrade"]
    for cut in range(len(rest)):
        convo = [C(b"GET / HTTP/1.0\r\n\r\n"), S(head), S(rest[:cut]), S(rest[cut:])]
        items = run(make(lim), convo)
        (resp,) = of_type(items, HttpResponse)
        assert [k for k, _ in resp.headers] == expect, cut
        assert [a.name for a in items if isinstance(a, Anomaly)] == [
            "http_obs_fold", "http_header_block_too_long", "http_unknown_content_encoding"], cut
        assert b"".join(i.data for i in items if isinstance(i, FileData)) == b"body" * 25, cut


def test_long_well_formed_block_with_short_lines():
    lim = Limits(max_line=64)
    many = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 40) for i in range(50))   # block far over max_line
    items = run_all_ways(make(lim), [C(b"GET / HTTP/1.1\r\n" + many + b"\r\n"),
                                     S(reply(b"Content-Length: 0\r\n"))])
    (req,) = of_type(items, HttpRequest)
    assert len(req.headers) == 50 and not [a for a in items if getattr(a, "name", "").startswith("http_")]


def test_trailers_join_the_record_response_fields():
    body = b"2\r\nok\r\n0\r\nLocation: /moved\r\nSet-Cookie: t=1\r\n\r\n"
    convo = [C(b"GET / HTTP/1.1\r\n\r\n"),
             S(reply(b"Transfer-Encoding: chunked\r\nSet-Cookie: a=1\r\n", body=body))]
    items = run_all_ways(make(), convo)
    (tx,) = of_type(items, HttpTransaction)
    (resp,) = of_type(items, HttpResponse)
    assert ("Location", "/moved") not in resp.headers          # the event: the header block only
    assert tx.location == "/moved" and tx.set_cookies == ["a=1", "t=1"]
    assert {"name": "Location", "value": "/moved"} in tx.response_headers


def test_body_end_and_next_status_line_in_one_segment_keep_their_times():
    convo = [C(b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n", ts=1.0),
             S(reply(b"Content-Length: 10\r\n", body=b"0123"), ts=2.0),
             S(b"456789HTTP/1.1 20", ts=3.0),                      # body ends, next response starts
             S(b"4 No Content\r\n\r\n", ts=4.0)]
    items = run_all_ways(make(), convo)
    t1, t2 = of_type(items, HttpTransaction)
    assert t1.response_body_len == 10 and t1.response_end_ts == 3.0
    assert t2.status_code == 204 and t2.response_ts == 3.0
    assert [r.ts for r in of_type(items, HttpResponse)] == [2.0, 3.0]


@pytest.mark.parametrize("kind", [bytearray, memoryview])
def test_body_segments_of_other_buffer_types_are_stored_as_bytes(kind):
    d = make()()
    d.feed(ORIG, b"GET / HTTP/1.1\r\n\r\n", 1.0)
    d.feed(RESP, reply(b"Content-Length: 6\r\n"), 1.0)
    out = d.feed(RESP, kind(b"abc"), 1.1) + d.feed(RESP, kind(b"defHTTP/1.1 204 x\r\n\r\n"), 1.2)
    data = [i.data for i in out if isinstance(i, FileData)]
    # the body's segments are held and handed on as one FileData, at the first one's time (dissectors._held)
    assert data == [b"abcdef"] and all(type(x) is bytes for x in data)
    assert [i.ts for i in out if isinstance(i, FileData)] == [1.1]


@pytest.mark.parametrize("qs", ["a=1&b=2", "a&b=", "=x&&y=1=2", "a=%20b&c+d=e", "k=v#frag", "é=ü;x=1", ""])
def test_query_string_as_parse_qsl(qs):
    uri = "/p?" + qs
    items = run_all_ways(make(), [C(f"GET {uri} HTTP/1.1\r\n\r\n".encode("latin-1")),
                                  S(reply(b"Content-Length: 0\r\n"))])
    (tx,) = of_type(items, HttpTransaction)
    expect = [{"name": k, "value": v} for k, v in
              parse_qsl(qs.split("#")[0], keep_blank_values=True, errors="replace")]
    assert tx.query_string == expect


def _segments(data: bytes, size: int) -> list:
    return [S(data[i:i + size], ts=2.0) for i in range(0, len(data), size)]


@pytest.mark.parametrize("size", [1, 7, 1460, 20000])
@pytest.mark.parametrize("damage", ["none", "second member", "corrupt", "trailing bytes", "cut"])
def test_gzip_body_in_segments_same_as_whole(size, damage):
    """Pieces decoded in one call each (the usual case) or by the general loop (first bytes,
    beyond one input step, a second gzip member, corrupt data) give the same object."""
    raw = b" ".join(b"word%d" % (i * 7919 % 1000) for i in range(20000))
    body = gzip.compress(raw)
    if damage == "second member":
        body += gzip.compress(b"and more")
    elif damage == "corrupt":
        body = body[:len(body) // 2] + b"\xff" * 8 + body[len(body) // 2 + 8:]
    elif damage == "trailing bytes":
        body += b"\x00junk"
    elif damage == "cut":
        body = body[:len(body) * 2 // 3]
    head = reply(b"Content-Encoding: gzip\r\nContent-Length: %d\r\n" % len(body))
    request = C(b"GET /z HTTP/1.1\r\n\r\n", ts=1.0)
    whole = normalize(run(make(), [request, S(head + body, ts=2.0)]))
    assert normalize(run(make(), [request, S(head, ts=2.0)] + _segments(body, size))) == whole
    data = b"".join(i.data for i in whole if isinstance(i, FileData))
    if damage in ("none", "trailing bytes"):
        assert data == raw
    elif damage == "second member":
        assert data == raw + b"and more"
