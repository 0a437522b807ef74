"""HTTP/2 dissector: conversations between the h2 library's client and server (tests/tlsfixtures.py) fed
whole, byte by byte and at random split points; one http row per stream; the limits."""
from __future__ import annotations

import gzip

from decoder.model import ORIG, RESP, Anomaly, Confirm, FileData, Limits, Violation
from dissectors.http import HttpTransaction
from dissectors.http2 import Http2Control, Http2Dissector, Http2Request, Http2Response
from dissectors.probes.http2 import PREFACE
from tests.conversation import C, Gap, S, ctx, of_type, run, run_all_ways
from tests.tlsfixtures import h2_conversation

GET = [(":method", "GET"), (":path", "/a/page.html?x=1&y=two"), (":scheme", "https"),
       (":authority", "www.example.test"), ("user-agent", "test-agent/1"), ("cookie", "a=1; b=2")]
POST = [(":method", "POST"), (":path", "/form"), (":scheme", "https"), (":authority", "www.example.test"),
        ("content-type", "application/x-www-form-urlencoded")]
BIG = bytes(range(256)) * 200          # 51,200 bytes: several DATA frames


def _d(lim: Limits | None = None):
    return lambda: Http2Dissector(ctx(resp=("10.0.0.2", 443), limits=lim))


def _bodies(items) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for it in of_type(items, FileData):
        out[it.handle] = out.get(it.handle, b"") + it.data
    return out


def test_streams_become_http_rows_with_their_bodies():
    steps = h2_conversation(
        [(GET, b""), (POST, b"name=alice&x=1"), (GET, b"")],
        [([(":status", "200"), ("content-type", "text/html"), ("set-cookie", "s=1")], b"<html>hi</html>"),
         ([(":status", "201"), ("location", "/done")], b""),
         ([(":status", "200"), ("content-type", "application/octet-stream"), ("content-encoding", "gzip")],
          gzip.compress(BIG, mtime=0))])
    items = run_all_ways(_d(), steps)
    assert isinstance(items[0], Confirm)
    rows = of_type(items, HttpTransaction)
    assert [(r.stream_id, r.method, r.status_code, r.version) for r in rows] == \
        [(1, "GET", 200, "2"), (3, "POST", 201, "2"), (5, "GET", 200, "2")]
    first = rows[0]
    assert first.host == "www.example.test" and first.uri == "/a/page.html?x=1&y=two"
    assert first.user_agent == "test-agent/1" and first.cookies == ["a=1", "b=2"]
    assert first.set_cookies == ["s=1"] and first.query_string == [{"name": "x", "value": "1"},
                                                                   {"name": "y", "value": "two"}]
    assert rows[1].request_body_len == 14 and rows[1].location == "/done"
    assert rows[2].content_encoding == "gzip" and rows[2].response_body_len == len(BIG)
    assert rows[2].response_body_wire_len == len(gzip.compress(BIG, mtime=0))
    bodies = _bodies(items)
    assert bodies["s1r"] == b"<html>hi</html>" and bodies["s3q"] == b"name=alice&x=1" and bodies["s5r"] == BIG
    assert [e.summary() for e in of_type(items, Http2Request)][0] == "GET /a/page.html?x=1&y=two (stream 1)"
    assert [e.status for e in of_type(items, Http2Response)] == [200, 201, 200]
    assert any(c.frame == "GOAWAY" for c in of_type(items, Http2Control))


def test_not_the_preface_is_a_violation():
    items = run(_d(), [C(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")])
    assert of_type(items, Violation)


def test_frame_larger_than_the_receiver_allows():
    big_frame = (70000).to_bytes(3, "big") + b"\x00\x00\x00\x00\x00\x01"
    items = run(_d(), [C(PREFACE + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00" + big_frame)])
    assert [a.name for a in of_type(items, Anomaly)] == ["http2_malformed"]


def test_header_block_over_the_cap():
    steps = h2_conversation([(GET + [("x-long", "v" * 3000)], b"")], [([(":status", "204")], b"")])
    items = run(_d(Limits(max_header_block=1024)), steps)
    names = [a.name for a in of_type(items, Anomaly)]
    assert "http2_hpack_error" in names or "http2_header_block_too_long" in names
    assert not of_type(items, HttpTransaction) or of_type(items, HttpTransaction)[0].method is None


def test_gap_is_said_and_the_stream_left_incomplete():
    steps = h2_conversation([(GET, b"")], [([(":status", "200")], BIG)])
    last = max(i for i, s in enumerate(steps) if s.direction is RESP)    # headers and the 51 KB body
    data = steps[last].data
    convo = steps[:last] + [S(data[:20000]), Gap(RESP, 1000), S(data[21000:])] + steps[last + 1:]
    items = run(_d(), convo)
    assert "http2_gap" in [a.name for a in of_type(items, Anomaly)]
    rows = of_type(items, HttpTransaction)
    assert rows and not rows[0].complete and rows[0].status_code == 200
    assert 0 < len(_bodies(items)["s1r"]) < 20000


def test_hpack_garbage_is_an_anomaly_not_a_crash():
    headers = b"\x00\x00\x05\x01\x05\x00\x00\x00\x01" + b"\xff\xff\xff\xff\xff"
    items = run(_d(), [C(PREFACE + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00" + headers)])
    assert "http2_hpack_error" in [a.name for a in of_type(items, Anomaly)]
    assert not of_type(items, HttpTransaction)
    assert all(i.direction is ORIG for i in of_type(items, Anomaly))


def test_prior_knowledge_in_the_clear_is_found_by_content(tmp_path):
    """h2c with prior knowledge on port 8080 (RFC 9113 s.3.3): the preface, not the port, chooses HTTP/2."""
    from decoder.api import analyze
    from tests.builders import Conn, write_pcap

    steps = h2_conversation([(GET, b"")], [([(":status", "200"), ("content-type", "text/plain")], b"plain h2c")])
    c = Conn(s=("10.0.0.2", 8080))
    pkts = c.handshake() + [c.client(s.data) if s.direction is ORIG else c.server(s.data) for s in steps] + c.close()
    write_pcap(tmp_path / "h2c.pcap", pkts)
    with analyze(tmp_path / "h2c.pcap", strict=True) as a:
        assert [r["service"] for r in a.rows["conn"]] == ["http2"]
        assert [(r["uri"], r["status_code"], r["stream_id"]) for r in a.rows["http"]] == \
            [("/a/page.html?x=1&y=two", 200, 1)]


def test_probe_rules_out_other_servers_at_once():
    """A server's first bytes that cannot be a SETTINGS frame say NO (other flows are not kept waiting)."""
    from decoder.model import Verdict
    from dissectors.probes.http2 import probe

    assert probe(RESP, b"220 mail ESMTP\r\n") is Verdict.NO
    assert probe(RESP, b"HTTP/1.1 200 OK\r\n") is Verdict.NO
    assert probe(RESP, b"\x00\x00\x12\x04\x00\x00\x00\x00\x00") is Verdict.MAYBE
    assert probe(RESP, b"\x00\x00\x12\x04\x00\x00\x00\x00\x01") is Verdict.NO
    assert probe(ORIG, PREFACE) is Verdict.YES and probe(ORIG, PREFACE[:5]) is Verdict.MAYBE
    assert probe(ORIG, b"GET / HTTP/1.1\r\n") is Verdict.NO
    steps = h2_conversation([(GET, b"")], [([(":status", "204")], b"")])
    assert probe(RESP, next(s.data for s in steps if s.direction is RESP)) is Verdict.MAYBE
