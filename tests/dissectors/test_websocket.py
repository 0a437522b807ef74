"""WebSocket dissector: frames made by the websockets library's own serializer (masking, fragmentation,
permessage-deflate), fed whole, byte by byte and at random split points; limits and hostile frames;
the engine's hand-over from HTTP 101 with the bytes behind it."""
from __future__ import annotations

from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import Close, Frame, Opcode

from decoder.model import ORIG, Anomaly, FileData, Limits
from dissectors.websocket import WebSocketDissector, WsControl, WsMessageRecord
from tests.conversation import C, Gap, S, ctx, of_type, run, run_all_ways

BLOB = bytes(range(256)) * 300      # 76,800 bytes: a 64-bit length


def _f(opcode, data: bytes, fin: bool = True, client: bool = True, ext=None) -> bytes:
    return Frame(opcode, data, fin).serialize(mask=client, extensions=ext or [])


def _d(lim: Limits | None = None):
    return lambda: WebSocketDissector(ctx(resp=("10.0.0.2", 80), limits=lim))


def test_messages_fragments_and_controls():
    convo = [C(_f(Opcode.TEXT, "héllo".encode())), S(_f(Opcode.TEXT, b"HELLO", client=False)),
             C(_f(Opcode.BINARY, BLOB[:1000], fin=False) + _f(Opcode.CONT, BLOB[1000:], fin=True)),
             C(_f(Opcode.PING, b"p")), S(_f(Opcode.PONG, b"p", client=False)),
             C(_f(Opcode.CLOSE, Close(1001, "away").serialize())),
             S(_f(Opcode.CLOSE, Close(1001, "away").serialize(), client=False))]
    items = run_all_ways(_d(), convo)
    rows = of_type(items, WsMessageRecord)
    assert [(r.direction, r.opcode, r.length, r.frames, r.text) for r in rows] == [
        ("orig", "text", 6, 1, "héllo"), ("resp", "text", 5, 1, "HELLO"), ("orig", "binary", len(BLOB), 2, None)]
    assert b"".join(i.data for i in of_type(items, FileData)) == BLOB
    ctl = of_type(items, WsControl)
    assert [(c.opcode, c.code) for c in ctl] == [("ping", None), ("pong", None), ("close", 1001), ("close", 1001)]
    assert "going away" in ctl[2].meaning()
    assert not of_type(items, Anomaly)


def test_permessage_deflate_both_ways_with_context_takeover():
    client = PerMessageDeflate(False, False, 15, 15)
    server = PerMessageDeflate(False, False, 15, 15)
    texts = ["the same words again " * 20, "the same words again " * 21, "different"]
    convo = []
    for t in texts:
        convo.append(C(_f(Opcode.TEXT, t.encode(), ext=[client])))
        convo.append(S(_f(Opcode.TEXT, t.upper().encode(), client=False, ext=[server])))
    items = run_all_ways(_d(), convo)
    rows = of_type(items, WsMessageRecord)
    assert [r.text for r in rows] == [x for t in texts for x in (t, t.upper())]
    assert all(r.compressed for r in rows)


def test_limits_and_hostile_frames():
    items = run(_d(Limits(max_message=1000)), [C(_f(Opcode.BINARY, BLOB[:5000]))])
    assert [a.name for a in of_type(items, Anomaly)] == ["websocket_message_too_long"]
    items = run(_d(Limits(max_message=1000)), [C(_f(Opcode.BINARY, BLOB[:600], fin=False)
                                                 + _f(Opcode.CONT, BLOB[600:1500]))])
    (row,) = of_type(items, WsMessageRecord)
    assert row.length == 1000 and not row.complete
    assert "websocket_message_too_long" in [a.name for a in of_type(items, Anomaly)]
    items = run(_d(), [C(b"\x8f\x00")])                      # opcode 15 does not exist
    assert [a.name for a in of_type(items, Anomaly)] == ["websocket_malformed"]
    items = run(_d(), [C(_f(Opcode.TEXT, b"x", client=False))])   # a client must mask
    assert "websocket_unmasked_client_frame" in [a.name for a in of_type(items, Anomaly)]
    items = run(_d(), [C(_f(Opcode.CONT, b"x"))])
    assert [a.name for a in of_type(items, Anomaly)] == ["websocket_malformed"]
    items = run(_d(), [C(b"\xc1\x85" + b"\x00" * 4 + b"\xff" * 5)])   # RSV1 with garbage: inflate fails
    assert "websocket_inflate_error" in [a.name for a in of_type(items, Anomaly)]


def test_gap_ends_the_direction_and_the_message_is_incomplete():
    convo = [C(_f(Opcode.BINARY, BLOB[:100], fin=False)), Gap(ORIG, 50), C(_f(Opcode.CONT, BLOB[100:200]))]
    items = run(_d(), convo)
    (row,) = of_type(items, WsMessageRecord)
    assert not row.complete and row.length == 100
    assert "websocket_gap" in [a.name for a in of_type(items, Anomaly)]


def test_engine_hands_over_after_101_with_the_bytes_behind_it(tmp_path):
    """A real capture made with dpkt: HTTP upgrade, the 101 and the first WebSocket frame in one segment."""
    from tests.builders import Conn, write_pcap

    req = (b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    resp = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n" + _f(Opcode.TEXT, b"welcome", client=False))
    c = Conn(s=("10.0.0.2", 8080))
    path = tmp_path / "ws.pcap"
    write_pcap(path, c.handshake() + [c.client(req), c.server(resp), c.client(_f(Opcode.TEXT, b"thanks"))]
               + c.close())
    from decoder.api import analyze

    with analyze(path, strict=True) as a:
        assert [r["status_code"] for r in a.rows["http"]] == [101]
        assert [(r["direction"], r["text"]) for r in a.rows["websocket"]] == [("resp", "welcome"), ("orig", "thanks")]
