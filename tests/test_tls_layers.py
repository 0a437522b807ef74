"""TLS around the other protocols, through the whole engine, with sessions made by real OpenSSL endpoints
in memory (tests/tlsfixtures.py) written into captures: FTP after AUTH TLS (control decoded, data
connections under PROT P not followed), IMAP and POP3 on their implicit-TLS ports 993 and 995 (the
inner protocol chosen by the port), and TLS on an unusual port found by content."""
from __future__ import annotations

import pytest

from decoder.model import ORIG
from tests.builders import Conn, write_pcap
from tests.tlsfixtures import tls_conversation


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("layers")


def _capture(path, port: int, clear: list[tuple[int, bytes]], steps) -> None:
    c = Conn(s=("10.0.0.2", port))
    pkts = c.handshake()
    for d, data in clear:
        pkts.append(c.client(data) if d == 0 else c.server(data))
    pkts += [c.client(s.data) if s.direction is ORIG else c.server(s.data) for s in steps]
    write_pcap(path, pkts + c.close())


def _analyze(path, keys: str, tmp_path):
    from decoder.api import analyze

    (tmp_path / "keys.log").write_text(keys)
    return analyze(path, strict=True, keylogs=[tmp_path / "keys.log"])


def test_ftp_auth_tls_control_and_protected_data_decrypted(folder, tmp_path):
    """AUTH TLS on the control connection, PROT P, PASV and RETR inside it; the data connection is a TLS session
    of its own (RFC 4217): with both sessions' keys the file is extracted and joined to its RETR."""
    import hashlib

    inside = [(b"USER anna\r\n", b"331 password please\r\n"), (b"PASS s3cret\r\n", b"230 logged in\r\n"),
              (b"PBSZ 0\r\n", b"200 ok\r\n"), (b"PROT P\r\n", b"200 protected\r\n"),
              (b"PASV\r\n", b"227 Entering Passive Mode (10,0,0,2,117,48)\r\n"),
              (b"RETR report.bin\r\n", b"150 sending\r\n"), (b"", b"226 done\r\n"), (b"QUIT\r\n", b"221 bye\r\n")]
    report = bytes(range(256)) * 40
    steps, keys = tls_conversation(folder, inside, "1.2", "ECDHE-RSA-AES128-GCM-SHA256")
    data_steps, data_keys = tls_conversation(folder, [(b"", report)], "1.3")
    control = Conn(s=("10.0.0.2", 21))
    data = Conn(c=("10.0.0.1", 40001), s=("10.0.0.2", 30000))
    pkts = control.handshake()
    for d, b in [(1, b"220 FTP ready\r\n"), (0, b"AUTH TLS\r\n"), (1, b"234 AUTH TLS ok\r\n")]:
        pkts.append(control.client(b) if d == 0 else control.server(b))
    pkts += [control.client(s.data) if s.direction is ORIG else control.server(s.data) for s in steps]
    pkts += data.handshake() + [data.client(s.data) if s.direction is ORIG else data.server(s.data)
                                for s in data_steps] + data.close()
    write_pcap(tmp_path / "ftps.pcap", pkts + control.close())
    with _analyze(tmp_path / "ftps.pcap", keys + data_keys, tmp_path) as a:
        tls = {r["starttls"]: r for r in a.rows["tls"]}
        assert tls["ftp"]["decrypted"] and tls["ftp"]["inner"] == "ftp"
        assert tls["ftp-data"]["decrypted"] and tls["ftp-data"]["inner"] == "ftp-data"
        assert [(r["command"], r["reply_code"]) for r in a.rows["ftp"]] == [
            ("AUTH", 234), ("USER", 331), ("PASS", 230), ("PBSZ", 200), ("PROT", 200), ("PASV", 227),
            ("RETR", 226), ("QUIT", 221)]
        assert [(c["username"], c["secret"]) for c in a.rows["credentials"]] == [("anna", "s3cret")]
        assert sorted(r["service"] for r in a.rows["conn"]) == ["ftp", "ftp-data"]
        (f,) = a.rows["files"]
        assert f["sha256"] == hashlib.sha256(report).hexdigest() and f["complete"]
        retr = next(r for r in a.rows["ftp"] if r["command"] == "RETR")
        assert retr["fuid"] == f["fuid"] and f["filename"] == "report.bin"      # joined to its RETR
    without = _analyze(tmp_path / "ftps.pcap", keys, tmp_path)      # the data session's keys missing
    with without as b:
        assert not b.rows.get("files")
        assert {r["starttls"]: r["decrypted"] for r in b.rows["tls"]} == {"ftp": True, "ftp-data": False}
    assert retr["path"].endswith("report.bin")


@pytest.mark.parametrize("port,inner,exchange", [
    (993, "imap", (b"a1 LOGIN bob pw\r\n", b"* OK ready\r\na1 OK logged in\r\n")),
    (995, "pop3", (b"USER bob\r\n", b"+OK ready\r\n+OK send PASS\r\n")),
])
def test_implicit_tls_ports(folder, tmp_path, port, inner, exchange):
    steps, keys = tls_conversation(folder, [exchange], "1.3")
    _capture(tmp_path / "implicit.pcap", port, [], steps)
    with _analyze(tmp_path / "implicit.pcap", keys, tmp_path) as a:
        (tls,) = a.rows["tls"]
        assert tls["inner"] == inner and tls["decrypted"] and not tls["starttls"]
        assert [r["service"] for r in a.rows["conn"]] == ["ssl"]
        assert a.rows.get(inner)


def test_tls_on_an_unusual_port_is_found_by_content(folder, tmp_path):
    steps, keys = tls_conversation(folder, [(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                                             b"HTTP/1.1 204 No Content\r\n\r\n")], "1.3", alpn="http/1.1")
    _capture(tmp_path / "odd.pcap", 4433, [], steps)
    with _analyze(tmp_path / "odd.pcap", keys, tmp_path) as a:
        assert [r["service"] for r in a.rows["conn"]] == ["ssl"]
        assert [r["status_code"] for r in a.rows["http"]] == [204]


def test_h2c_upgrade_from_http11(tmp_path):
    """RFC 7540 s.3.2 with the h2 library's endpoints: an HTTP/1.1 request with Upgrade: h2c, 101, then HTTP/2
    both ways; stream 1 answers the HTTP/1.1 request, stream 3 is a new one."""
    import h2.config
    import h2.connection

    from decoder.api import analyze

    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    s = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    settings = c.initiate_upgrade_connection()
    s.initiate_upgrade_connection(settings)
    req = (b"GET /first HTTP/1.1\r\nHost: h2c.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
           b"HTTP2-Settings: " + settings + b"\r\n\r\n")
    resp = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n" + s.data_to_send()
    s.send_headers(1, [(":status", "200"), ("content-type", "text/plain")])
    s.send_data(1, b"first over h2c", end_stream=True)
    resp += s.data_to_send()
    c_bytes = c.data_to_send()                    # the client's preface and SETTINGS
    c.receive_data(resp[resp.index(b"\r\n\r\n") + 4:])
    c.send_headers(3, [(":method", "GET"), (":path", "/second"), (":scheme", "http"), (":authority", "h2c.test")],
                   end_stream=True)
    c_bytes += c.data_to_send()
    s.receive_data(c_bytes)
    s.send_headers(3, [(":status", "404")], end_stream=True)
    conn = Conn(s=("10.0.0.2", 80))
    pkts = conn.handshake() + [conn.client(req), conn.server(resp), conn.client(c_bytes), conn.server(s.data_to_send())]
    write_pcap(tmp_path / "h2c.pcap", pkts + conn.close())
    with analyze(tmp_path / "h2c.pcap", strict=True) as a:
        rows = [(r["method"], r["uri"], r["status_code"], r["version"], r["stream_id"]) for r in a.rows["http"]]
        flags = [r["flags"] for r in a.rows["http"]]
    assert rows == [("GET", "/first", 101, "1.1", None), (None, None, 200, "2", 1), ("GET", "/second", 404, "2", 3)]
    assert any("h2c-upgrade" in f for f in flags[1])


def test_websocket_inside_tls(folder, tmp_path):
    """wss://: the HTTP/1.1 upgrade and the WebSocket frames travel inside TLS; decrypted, the inner HTTP
    dissector hands over to WebSocket as the engine would in the clear."""
    from websockets.frames import Frame, Opcode

    req = (b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    resp = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
            + Frame(Opcode.TEXT, b"hello over wss").serialize(mask=False))
    steps, keys = tls_conversation(folder, [(req, resp), (Frame(Opcode.TEXT, b"thanks").serialize(mask=True), b"")],
                                   "1.3", alpn="http/1.1")
    _capture(tmp_path / "wss.pcap", 443, [], steps)
    with _analyze(tmp_path / "wss.pcap", keys, tmp_path) as a:
        assert [r["status_code"] for r in a.rows["http"]] == [101]
        assert [(r["direction"], r["text"]) for r in a.rows["websocket"]] == [("resp", "hello over wss"),
                                                                              ("orig", "thanks")]
