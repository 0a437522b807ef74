"""HTTP/1.x dissector: conversation fixtures (whole, byte by byte, random splits) and
negative cases (limits, malformed input, gaps, truncation)."""
from __future__ import annotations

import base64
import gzip
import hashlib
import tracemalloc
import zlib

import brotli
import pytest

from decoder.model import (
    ORIG, RESP, Anomaly, Confirm, Credential, FileClose, FileData, FileGap, FileOpen, Limits,
    StopParsing, Verdict, Violation,
)
from dissectors import http
from dissectors.http import HttpBody, HttpDissector, HttpRequest, HttpResponse, HttpTransaction
from tests.conversation import C, Gap, S, ctx, of_type, run, run_all_ways


def make(limits: Limits | None = None):
    return lambda: HttpDissector(ctx(resp=("10.0.0.2", 80), limits=limits))


def files(items) -> dict[str, bytes]:
    """handle -> stored bytes (FileData joined)."""
    out: dict[str, bytes] = {}
    for it in items:
        if isinstance(it, FileOpen):
            out.setdefault(it.handle, b"")
        elif isinstance(it, FileData):
            out[it.handle] = out.get(it.handle, b"") + it.data
    return out


def names(items) -> set[str]:
    return {a.name for a in of_type(items, Anomaly)}


def txs(items) -> list[HttpTransaction]:
    return of_type(items, HttpTransaction)


def resp(body: bytes, *headers: str, status: str = "200 OK", version: str = "1.1") -> bytes:
    h = "".join(f"{x}\r\n" for x in headers)
    return f"HTTP/{version} {status}\r\n{h}\r\n".encode() + body


def get(uri: str = "/", *headers: str, method: str = "GET") -> bytes:
    h = "".join(f"{x}\r\n" for x in headers)
    return f"{method} {uri} HTTP/1.1\r\nHost: example.com\r\n{h}\r\n".encode()


# ---------------------------------------------------------------- basics
def test_keep_alive_two_transactions_and_objects():
    page = b"<html>hello</html>"
    img = bytes(range(256)) * 4
    convo = [
        C(get("/index.html", "User-Agent: curl/8.0", "Referer: http://r.example/",
              "Cookie: sid=abc; theme=dark", "Origin: http://o.example")),
        S(resp(page, "Content-Type: text/html; charset=utf-8", f"Content-Length: {len(page)}",
               "Set-Cookie: sid=new; Path=/")),
        C(get("/img/logo.png?size=2&x=%20y")),
        S(resp(img, "Content-Type: image/png", f"Content-Length: {len(img)}")),
    ]
    items = run_all_ways(make(), convo)
    assert isinstance(items[0], Confirm)
    t1, t2 = txs(items)
    c = ctx(resp=("10.0.0.2", 80))
    assert (t1.trans_depth, t1.method, t1.host, t1.uri, t1.version) == (1, "GET", "example.com", "/index.html", "1.1")
    assert (t1.user_agent, t1.referrer, t1.origin) == ("curl/8.0", "http://r.example/", "http://o.example")
    assert (t1.status_code, t1.status_msg, t1.response_body_len) == (200, "OK", len(page))
    assert t1.cookies == ["sid=abc", "theme=dark"] and t1.set_cookies == ["sid=new; Path=/"]
    assert t1.resp_mime_types == ["text/html"] and t1.resp_filenames == []
    assert t1.complete and t1.flags == []
    assert t2.trans_depth == 2 and t2.query_string == [{"name": "size", "value": "2"}, {"name": "x", "value": " y"}]
    opens = of_type(items, FileOpen)
    assert [o.name_hint for o in opens] == ["index.html", "logo.png"]
    assert [o.total_size for o in opens] == [len(page), len(img)]
    assert t2.resp_fuids == [c.fuid(opens[1].handle)]
    assert list(files(items).values()) == [page, img]
    assert all(fc.complete for fc in of_type(items, FileClose))
    # timing for HAR: request start <= response first byte <= response end
    assert t1.ts <= t1.response_ts <= t1.response_end_ts
    assert t1.request_headers[0] == {"name": "Host", "value": "example.com"}
    req = of_type(items, HttpRequest)[0]
    assert req.summary().startswith("GET /index.html HTTP/1.1") and "transfer" in req.meaning()
    rsp = of_type(items, HttpResponse)[0]
    assert rsp.summary().startswith("200 OK") and rsp.meaning().startswith("OK")


def test_pipelining_pairs_in_order():
    convo = [
        C(get("/a") + get("/b") + get("/c")),
        S(resp(b"A", "Content-Length: 1") + resp(b"", status="404 Not Found", *["Content-Length: 0"])
          + resp(b"CC", "Content-Length: 2")),
    ]
    items = run_all_ways(make(), convo)
    got = [(t.uri, t.status_code, t.response_body_len) for t in txs(items)]
    assert got == [("/a", 200, 1), ("/b", 404, 0), ("/c", 200, 2)]


def test_chunked_with_trailers_and_extensions():
    body = b"5;name=val\r\nhello\r\n7\r\n, world\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"
    convo = [C(get("/c")), S(resp(body, "Transfer-Encoding: chunked")), C(get("/next")),
             S(resp(b"ok", "Content-Length: 2"))]
    items = run_all_ways(make(), convo)
    t1, t2 = txs(items)
    assert list(files(items).values()) == [b"hello, world", b"ok"]
    assert {"name": "X-Checksum", "value": "abc"} in t1.response_headers
    assert t1.response_body_len == 12 and t2.status_code == 200
    assert not names(items) & {"http_bad_chunk_size", "http_resync"}


def test_version_is_the_replys_as_in_zeek():
    """Zeek 7.0 http.log: ``version`` is "the version portion of the reply"; the request
    line's version has its own column, ``request_version``."""
    convo = [C(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n"),
             S(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"),
             C(b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n")]
    answered, unanswered = txs(run_all_ways(make(), convo))
    assert (answered.version, answered.request_version) == ("1.0", "1.1")
    assert (unanswered.version, unanswered.request_version) == (None, "1.1")


def test_close_delimited_body_ends_at_close():
    convo = [C(b"GET /old HTTP/1.0\r\n\r\n"), S(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nline1\nline2\n")]
    items = run_all_ways(make(), convo)
    (t,) = txs(items)
    assert t.version == "1.0" and t.status_code == 200 and t.complete
    assert list(files(items).values()) == [b"line1\nline2\n"]
    assert of_type(items, FileClose)[0].complete


def test_100_continue_is_not_the_final_response():
    data = b"x" * 100
    convo = [
        C(b"PUT /up.bin HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\n"),
        S(b"HTTP/1.1 100 Continue\r\n\r\n"),
        C(data),
        S(resp(b"", status="201 Created", *["Content-Length: 0"])),
    ]
    items = run_all_ways(make(), convo)
    (t,) = txs(items)
    assert (t.info_code, t.info_msg, t.status_code) == (100, "Continue", 201)
    assert t.request_body_len == 100 and len(t.orig_fuids) == 1
    assert [r.status_code for r in of_type(items, HttpResponse)] == [100, 201]
    assert of_type(items, HttpResponse)[0].meaning().startswith("continue")


def test_head_204_304_have_no_body():
    convo = [
        C(get("/h", method="HEAD") + get("/n") + get("/m", "If-None-Match: \"x\"") + get("/last")),
        S(resp(b"", "Content-Length: 1234") + resp(b"", "Content-Length: 10", status="204 No Content")
          + resp(b"", "Content-Length: 99", status="304 Not Modified")
          + resp(b"body", "Content-Length: 4")),
    ]
    items = run_all_ways(make(), convo)
    assert [(t.method, t.status_code, t.response_body_len) for t in txs(items)] == [
        ("HEAD", 200, 0), ("GET", 204, 0), ("GET", 304, 0), ("GET", 200, 4)]
    assert list(files(items).values()) == [b"body"]


@pytest.mark.parametrize("coding,encode", [
    ("gzip", gzip.compress),
    ("x-gzip", gzip.compress),
    ("deflate", zlib.compress),                                  # zlib-wrapped (RFC 9110)
    ("deflate", lambda b: zlib.compress(b)[2:-4]),                # raw deflate (common in practice)
    ("br", brotli.compress),
    ("gzip, br", lambda b: brotli.compress(gzip.compress(b))),   # two codings, undone in reverse
])
def test_content_encoding_decoded(coding, encode):
    plain = b"The quick brown fox jumps over the lazy dog. " * 300
    enc = encode(plain)
    convo = [C(get("/t.txt")), S(resp(enc, f"Content-Encoding: {coding}", f"Content-Length: {len(enc)}",
                                      "Content-Type: text/plain"))]
    items = run_all_ways(make(), convo)
    assert list(files(items).values()) == [plain]
    (t,) = txs(items)
    assert t.response_body_len == len(plain) and t.response_body_wire_len == len(enc)
    assert of_type(items, FileOpen)[0].total_size is None     # Content-Length is of the encoded body
    assert not [a for a in of_type(items, Anomaly)]
    body_ev = of_type(items, HttpBody)[0]
    assert body_ev.complete and "->" in body_ev.summary()


def test_multipart_upload_parts_are_objects():
    f1 = b"%PDF-1.4 fake pdf\r\n--not-a-boundary\r\n" + bytes(range(256))
    f2 = b"second file\n"
    bnd = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
    body = (f"--{bnd}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n"
            f"--{bnd}\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"report.pdf\"\r\n"
            f"Content-Type: application/pdf\r\n\r\n").encode() + f1 + (
            f"\r\n--{bnd}\r\nContent-Disposition: form-data; name=\"f2\"; filename*=UTF-8''na%C3%AFve.txt\r\n"
            f"Content-Type: text/plain\r\n\r\n").encode() + f2 + f"\r\n--{bnd}--\r\n".encode()
    convo = [C(f"POST /upload HTTP/1.1\r\nHost: h\r\nContent-Type: multipart/form-data; boundary={bnd}\r\n"
               f"Content-Length: {len(body)}\r\n\r\n".encode() + body),
             S(resp(b"", "Content-Length: 0"))]
    items = run_all_ways(make(), convo)
    c = ctx(resp=("10.0.0.2", 80))
    opens = of_type(items, FileOpen)
    parent = opens[0]
    assert parent.mime_type == "multipart/form-data"
    parts = [o for o in opens if o.parent_fuid == c.fuid(parent.handle)]
    assert [(p.name_hint, p.mime_type) for p in parts] == [("report.pdf", "application/pdf"),
                                                            ("naïve.txt", "text/plain")]
    stored = files(items)
    assert stored[parent.handle] == body
    assert [stored[p.handle] for p in parts] == [f1, f2]
    (t,) = txs(items)
    assert t.orig_fuids == [c.fuid(o.handle) for o in opens]
    assert t.orig_filenames == ["report.pdf", "naïve.txt"]


def test_basic_and_digest_credentials():
    basic = base64.b64encode(b"anna:s3cr:et").decode()
    digest = ('Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", '
              'algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, '
              'cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, '
              'response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", '
              'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"')
    convo = [
        C(get("/private", f"Authorization: Basic {basic}")),
        S(resp(b"", "Content-Length: 0")),
        C(get("/dir/index.html", f"Authorization: {digest}")),
        S(resp(b"", "Content-Length: 0", status="401 Unauthorized")),
    ]
    items = run_all_ways(make(), convo)
    creds = of_type(items, Credential)
    assert [(c.username, c.secret, c.kind, c.success) for c in creds] == [
        ("anna", "s3cr:et", "basic", True),
        ("Mufasa", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", "digest", False)]
    assert [t.username for t in txs(items)] == ["anna", "Mufasa"]
    assert all(c.protocol == "http" for c in creds)


def test_form_password_becomes_credential():
    body = b"log=admin&pwd=hunter2&submit=Log+In"
    convo = [C(b"POST /wp-login.php HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body) + body),
             S(resp(b"", "Content-Length: 0", "Location: /wp-admin/", status="302 Found"))]
    items = run_all_ways(make(), convo)
    (cred,) = of_type(items, Credential)
    assert (cred.username, cred.secret, cred.kind) == ("admin", "hunter2", "form")
    (t,) = txs(items)
    assert t.location == "/wp-admin/" and t.status_code == 302


def test_range_206_partial_object_flagged():
    convo = [C(get("/big.iso", "Range: bytes=0-9")),
             S(resp(b"0123456789", "Content-Length: 10", "Content-Range: bytes 0-9/1000",
                    status="206 Partial Content"))]
    items = run_all_ways(make(), convo)
    (t,) = txs(items)
    assert t.partial and t.range == "bytes=0-9" and t.content_range == "bytes 0-9/1000"
    (fc,) = of_type(items, FileClose)
    assert not fc.complete and "partial" in fc.reason
    assert files(items) == {of_type(items, FileOpen)[0].handle: b"0123456789"}


def test_connect_tunnel_stops_parsing():
    tls = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(40)
    convo = [C(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n" + tls),
             S(b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03\x00\x10")]
    items = run_all_ways(make(), convo)
    (t,) = txs(items)
    assert (t.method, t.uri, t.status_code) == ("CONNECT", "example.com:443", 200)
    assert isinstance(items[-1], StopParsing) and "tunnel" in items[-1].reason
    assert not of_type(items, Violation) and "http_bad_request_line" not in names(items)


def test_refused_connect_goes_on_with_http():
    convo = [C(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
             S(resp(b"", "Content-Length: 0", status="407 Proxy Authentication Required")),
             C(get("/next")), S(resp(b"ok", "Content-Length: 2"))]
    items = run_all_ways(make(), convo)
    assert [(t.method, t.status_code) for t in txs(items)] == [("CONNECT", 407), ("GET", 200)]
    assert not of_type(items, StopParsing)


def test_upgrade_101_stops_parsing():
    convo = [C(get("/chat", "Upgrade: websocket", "Connection: Upgrade")),
             S(resp(b"\x81\x05hello", "Upgrade: websocket", "Connection: Upgrade",
                    status="101 Switching Protocols"))]
    items = run_all_ways(make(), convo)
    (t,) = txs(items)
    assert t.status_code == 101
    assert isinstance(items[-1], StopParsing) and "websocket" in items[-1].reason


def test_http_09():
    convo = [C(b"GET /old.html\r\n"), S(b"<html>ancient</html>\n")]
    items = run_all_ways(make(), convo)
    (t,) = txs(items)
    assert (t.method, t.uri, t.request_version, t.version) == ("GET", "/old.html", "0.9", "0.9")
    assert list(files(items).values()) == [b"<html>ancient</html>\n"]


# ---------------------------------------------------------------- tolerance
def test_malformed_headers_are_anomalies_not_lost_sessions():
    convo = [
        C(b"GET  /odd   HTTP/1.1\nHost : example.com\nX-Folded: first\n  second\nthis line has no colon\n\n"),
        S(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        C(get("/fine")), S(resp(b"", "Content-Length: 0")),
    ]
    items = run_all_ways(make(), convo)
    assert {"http_request_line_spacing", "http_bare_lf", "http_header_space_before_colon",
            "http_obs_fold", "http_bad_header_line"} <= names(items)
    t1, t2 = txs(items)
    assert (t1.uri, t1.host, t1.status_code) == ("/odd", "example.com", 200)
    assert {"name": "X-Folded", "value": "first second"} in t1.request_headers
    assert t2.uri == "/fine"


@pytest.mark.parametrize("value", ["\xb2", "1\xb3", "\xb9\xb9"])
def test_content_length_of_non_ascii_digits_is_bad_not_a_crash(value):
    """Regression: str.isdigit() accepts the latin-1 superscripts (0xB2, 0xB3, 0xB9) that int()
    refuses, so such a Content-Length stopped the dissector with a ValueError."""
    cl = f"Content-Length: {value}".encode("latin-1")
    convo = [C(b"POST /u HTTP/1.1\r\nHost: h\r\n" + cl + b"\r\n\r\n"),
             S(b"HTTP/1.1 200 OK\r\n" + cl + b"\r\n\r\nuntil close")]
    items = run_all_ways(make(), convo)
    assert "http_bad_content_length" in names(items)
    (t,) = txs(items)
    assert (t.uri, t.status_code, t.request_body_len, t.response_body_len) == ("/u", 200, 0, 11)


def test_bad_chunk_size_and_overflow_resync():
    for size in (b"zz", b"FFFFFFFFFFFFFFFFFFFF"):
        convo = [C(get("/a") + get("/b")),
                 S(resp(b"5\r\nhello\r\n" + size + b"\r\ngarbage\r\n", "Transfer-Encoding: chunked")),
                 S(resp(b"ok", "Content-Length: 2"))]
        items = run_all_ways(make(), convo)
        expect = "http_bad_chunk_size" if size == b"zz" else "http_chunk_size_too_long"
        assert {expect, "http_resync"} <= names(items)
        t1, t2 = txs(items)
        assert t1.status_code == 200 and "response_body_incomplete" in t1.flags and not t1.complete
        assert t2.uri == "/b" and t2.status_code == 200 and t2.response_body_len == 2
        fc = of_type(items, FileClose)[0]
        assert not fc.complete and files(items)[fc.handle] == b"hello"


def test_header_block_over_limit():
    lim = Limits(max_header_block=1024)
    many = "".join(f"X-H{i}: {'v' * 30}\r\n" for i in range(100))
    convo = [C(f"GET /big HTTP/1.1\r\nHost: h\r\n{many}\r\n".encode() + get("/after")),
             S(resp(b"", "Content-Length: 0") * 2)]
    items = run_all_ways(make(lim), convo)
    assert "http_header_block_too_long" in names(items)
    t1, t2 = txs(items)
    assert t1.uri == "/big" and len(t1.request_headers) < 100
    assert t2.uri == "/after" and t2.status_code == 200


def test_header_line_over_limit():
    lim = Limits(max_line=200)
    convo = [C(b"GET /x HTTP/1.1\r\nHost: h\r\nX-Long: " + b"a" * 1000 + b"\r\n\r\n"),
             S(resp(b"", "Content-Length: 0"))]
    items = run_all_ways(make(lim), convo)
    assert "http_header_line_too_long" in names(items)
    (t,) = txs(items)
    assert t.host == "h" and t.status_code == 200


def test_response_without_request_is_kept_and_flagged():
    convo = [S(resp(b"orphan", "Content-Length: 6"))]
    items = run_all_ways(make(), convo)
    (t,) = txs(items)
    assert t.method is None and t.status_code == 200 and "response_without_request" in t.flags
    assert not t.complete and "http_response_without_request" in names(items)
    assert list(files(items).values()) == [b"orphan"]


def test_body_cut_by_end_of_capture():
    convo = [C(get("/cut.bin")), S(resp(b"x" * 400, "Content-Length: 1000"))]
    items = run_all_ways(make(), convo)
    gaps = of_type(items, FileGap)
    assert [g.length for g in gaps] == [600]
    (fc,) = of_type(items, FileClose)
    assert not fc.complete and "end of the capture" in fc.reason
    (t,) = txs(items)
    assert "response_body_incomplete" in t.flags and t.response_body_len == 400
    assert "http_body_truncated" in names(items)


def test_gap_inside_body_counts_missing_and_keeps_pairing():
    convo = [C(get("/a") + get("/b")),
             S(resp(b"x" * 100, "Content-Length: 300")), Gap(RESP, 150), S(b"y" * 50),
             S(resp(b"ok", "Content-Length: 2"))]
    items = run_all_ways(make(), convo)
    assert [g.length for g in of_type(items, FileGap)] == [150]
    t1, t2 = txs(items)
    assert t1.response_body_len == 150 and "response_body_incomplete" in t1.flags
    assert (t2.uri, t2.status_code, t2.response_body_len) == ("/b", 200, 2)
    fc = of_type(items, FileClose)[0]
    assert not fc.complete and of_type(items, HttpBody)[0].missing_bytes == 150


def test_gap_in_headers_resyncs_on_next_request_line():
    convo = [C(b"GET /lost HTTP/1.1\r\nHost: h\r\nUser-Ag"), Gap(ORIG, 500),
             C(b"ent: x\r\nAccept: */*\r\n\r\n" + get("/found")),
             S(resp(b"", "Content-Length: 0") + resp(b"", "Content-Length: 0"))]
    items = run_all_ways(make(), convo)
    assert {"http_gap", "http_resync"} <= names(items)
    t = txs(items)
    assert [x.uri for x in t] == ["/lost", "/found"]
    assert "request_headers_gap" in t[0].flags and t[1].status_code == 200


def test_gap_inside_gzip_body_stops_decoding():
    enc = gzip.compress(b"".join(hashlib.sha256(b"%d" % i).digest() for i in range(2000)))
    convo = [C(get("/z")), S(resp(enc[:1000], "Content-Encoding: gzip", f"Content-Length: {len(enc)}")),
             Gap(RESP, 500), S(enc[1500:])]
    items = run_all_ways(make(), convo)
    assert "http_content_encoding_gap" in names(items)
    (t,) = txs(items)
    assert not t.complete and t.response_body_wire_len == len(enc) - 500


def test_pending_requests_capped():
    lim = Limits(max_pending_requests=3)
    convo = [C(b"".join(get(f"/{i}") for i in range(5)))]
    items = run_all_ways(make(lim), convo)
    assert "http_pending_requests_too_many" in names(items)
    assert len(txs(items)) == 5 and all("no_response" in t.flags for t in txs(items))


def test_binary_garbage_before_confirmation_is_a_violation():
    items = run(lambda: HttpDissector(ctx(resp=("10.0.0.2", 4444))), [C(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\n")])
    assert of_type(items, Violation) and not txs(items)


def test_corrupt_gzip_is_stored_as_sent():
    bogus = b"this is not gzip at all"
    convo = [C(get("/x")), S(resp(bogus, "Content-Encoding: gzip", f"Content-Length: {len(bogus)}"))]
    items = run_all_ways(make(), convo)
    assert "http_content_encoding_error" in names(items)
    assert list(files(items).values()) == [bogus]


# ---------------------------------------------------------------- bombs
def _gzip_bomb_1gb() -> bytes:
    """1 GiB of zeros, gzip'd (about 1 MB): identical full-flushed 1 MiB blocks."""
    z = b"\0" * (1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    first = c.compress(z) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(z) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.flush()[:-8]
    crc = 0
    for _ in range(1024):
        crc = zlib.crc32(z, crc)
    return first + block * 1022 + block + tail + crc.to_bytes(4, "little") + (0).to_bytes(4, "little")


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return _gzip_bomb_1gb()


def _feed_bomb(bomb: bytes, limits: Limits) -> tuple[list, int]:
    d = HttpDissector(ctx(resp=("10.0.0.2", 80), limits=limits))
    items = d.feed(ORIG, get("/bomb"), 1.0)
    hdr = resp(b"", "Content-Encoding: gzip", f"Content-Length: {len(bomb)}")
    tracemalloc.start()
    items += d.feed(RESP, hdr, 1.1)
    stored = 0
    for i in range(0, len(bomb), 65536):
        for it in d.feed(RESP, bomb[i:i + 65536], 1.2):
            if isinstance(it, FileData):
                stored += len(it.data)
            else:
                items.append(it)
    items += d.close(2.0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return items, peak, stored


def test_gzip_bomb_ratio_cap_bounded_memory(bomb):
    items, peak, stored = _feed_bomb(bomb, Limits())
    assert "http_decompression_ratio_limit" in names(items)
    assert stored <= 2 * 1024 * 1024
    assert peak < 16 * 1024 * 1024, peak
    (t,) = txs(items)
    assert not t.complete and t.response_body_wire_len == len(bomb)
    assert not of_type(items, FileClose)[0].complete


def test_gzip_bomb_output_cap_bounded_memory(bomb):
    lim = Limits(max_decompressed=8 * 1024 * 1024, max_decompression_ratio=10 ** 9)
    items, peak, stored = _feed_bomb(bomb, lim)
    assert "http_decompression_capped" in names(items)
    assert stored == 8 * 1024 * 1024
    assert peak < 24 * 1024 * 1024, peak


# ---------------------------------------------------------------- probe, spec, tables
@pytest.mark.parametrize("data,verdict", [
    (b"GET /index.html HTTP/1.1\r\nHost: x\r\n", Verdict.YES),
    (b"PROPFIND /dav/ HTTP/1.1\r\n", Verdict.YES),
    (b"HTTP/1.1 200 OK\r\n", Verdict.YES),
    (b"HTTP/1.0 404", Verdict.MAYBE),
    (b"GET /old\r\n", Verdict.YES),
    (b"GET /inde", Verdict.MAYBE),
    (b"\x16\x03\x01\x00\xa5", Verdict.NO),
    (b"220 mail.example.com ESMTP\r\n", Verdict.NO),
    (b"SSH-2.0-OpenSSH_9.6\r\n", Verdict.NO),
    (b"USER anna\r\n", Verdict.NO),
])
def test_probe(data, verdict):
    assert http.probe(ORIG, data) is verdict


def test_spec_and_meanings():
    (spec,) = http.SPECS
    assert spec.service_name == "http" and {80, 8080, 8000, 8008, 3128} <= spec.ports
    assert http.STATUS[304].startswith("not modified") and "RFC 9110" in http.STATUS[404]
    assert HttpResponse(0.0, RESP, status_code=599).meaning().startswith("server error")
    assert HttpRequest(0.0, ORIG, method="BREW").meaning() == ""


def test_sha256_of_objects_equals_served_bytes():
    payload = hashlib.sha256(b"seed").digest() * 5000
    enc = gzip.compress(payload)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(enc[i:i + 999]), enc[i:i + 999])
                       for i in range(0, len(enc), 999)) + b"0\r\n\r\n"
    convo = [C(get("/p.bin")), S(resp(chunked, "Transfer-Encoding: chunked", "Content-Encoding: gzip"))]
    items = run_all_ways(make(), convo)
    (data,) = files(items).values()
    assert hashlib.sha256(data).digest() == hashlib.sha256(payload).digest()


def test_capture_starting_inside_a_body_on_port_80_resyncs():
    convo = [S(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8 + b"\n"),
             C(get("/next")), S(resp(b"ok", "Content-Length: 2"))]
    items = run_all_ways(make(), convo)
    assert not of_type(items, Violation)
    (t,) = txs(items)
    assert (t.uri, t.status_code) == ("/next", 200)


def test_binary_on_another_port_is_a_violation():
    items = run(lambda: HttpDissector(ctx(resp=("10.0.0.2", 4444))), [S(b"\x00\x01\x02garbage\r\n")])
    assert of_type(items, Violation)


def test_bare_lf_end_right_after_a_crlf_line_ends_headers_once():
    """Regression (found by fuzz.mutate_many seed 23637): "Host: a\r\n\n\r\n" ended the header block
    twice (the fast path split at the later "\n\r\n") and the second end met no message."""
    items = run_all_ways(make(), [C(b"GET / HTTP/1.1\r\nHost: a\r\n\n\r\n"),
                                S(b"HTTP/1.1 204 No Content\r\n\r\n")])
    [rec] = txs(items)
    assert rec.host == "a" and rec.status_code == 204
    assert "http_bare_lf" in names(items)


def test_assemble_asks_for_objects_whose_ranges_cover_them():
    from dissectors.http import assemble

    def row(uid, rng, fuid, host="h", uri="/f.bin", status=206):
        return dict(ts=float(len(uid)), uid=uid, orig_h="10.0.0.1", orig_p=1, resp_h="10.0.0.2", resp_p=80,
                    host=host, uri=uri, status_code=status, content_range=rng, resp_fuids=[fuid])

    http = [row("a", "bytes 0-99/250", "F1"), row("bb", "bytes 100-199/250", "F2"),
            row("ccc", "bytes 150-249/250", "F3"),                            # overlaps F2, ends the object
            row("d", "bytes 0-99/500", "F4", uri="/hole.bin"), row("ee", "bytes 200-499/500", "F5", uri="/hole.bin"),
            row("f", "bytes 0-99/100", "F6", host="other"),                    # one part covering it all
            row("g", "bytes */100", "F7", uri="/x"), row("h", None, "F8", uri="/y", status=200)]
    before = [dict(r) for r in http]
    out = {k: list(v) for k, v in assemble({"http": http}).items()}
    assert http == before
    got = {(o["uri"] if "uri" in o else o["name_hint"], o["total_bytes"]): o["parts"] for o in out["assembled_objects"]}
    assert got == {("f.bin", 250): [("F1", 0, 100), ("F2", 100, 100), ("F3", 150, 100)],
                   ("f.bin", 100): [("F6", 0, 100)]}
    assert all(o["uid"] in ("a", "f") and o["direction"] == "resp" for o in out["assembled_objects"])
