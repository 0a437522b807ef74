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
    from decoder.pipeline import analyze

    (tmp_path / "keys.log").write_text(keys)
    return analyze(path, strict=True, keylogs=[tmp_path / "keys.log"])


def test_ftp_auth_tls_control_decrypted(folder, tmp_path):
    inside = [(b"USER anna\r\n", b"331 password please\r\n"), (b"PASS s3cret\r\n", b"230 logged in\r\n"),
              (b"PBSZ 0\r\n", b"200 ok\r\n"), (b"PROT P\r\n", b"200 protected\r\n"),
              (b"PASV\r\n", b"227 Entering Passive Mode (10,0,0,2,117,48)\r\n"), (b"QUIT\r\n", b"221 bye\r\n")]
    steps, keys = tls_conversation(folder, inside, "1.2", "ECDHE-RSA-AES128-GCM-SHA256")
    _capture(tmp_path / "ftps.pcap", 21, [(1, b"220 FTP ready\r\n"), (0, b"AUTH TLS\r\n"),
                                          (1, b"234 AUTH TLS ok\r\n")], steps)
    with _analyze(tmp_path / "ftps.pcap", keys, tmp_path) as a:
        (tls,) = a.rows["tls"]
        assert tls["starttls"] == "ftp" and tls["decrypted"] and tls["inner"] == "ftp"
        assert [(r["command"], r["reply_code"]) for r in a.rows["ftp"]] == [
            ("AUTH", 234), ("USER", 331), ("PASS", 230), ("PBSZ", 200), ("PROT", 200), ("PASV", 227), ("QUIT", 221)]
        assert [(c["username"], c["secret"]) for c in a.rows["credentials"]] == [("anna", "s3cret")]
        assert "ftp_data_protected" in [x["name"] for x in a.rows["anomalies"]]
        assert [r["service"] for r in a.rows["conn"]] == ["ftp"]


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
