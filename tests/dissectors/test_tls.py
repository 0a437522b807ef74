"""TLS dissector: conversations made by real OpenSSL endpoints in memory (tests/tlsfixtures.py), fed whole,
byte by byte and at random split points; every cipher family we decrypt; the limits and hostile inputs."""
from __future__ import annotations

import dataclasses
import struct

import pytest

from decoder.keylog import Keyring
from decoder.model import ORIG, RESP, Anomaly, Confirm, Limits, Violation
from dissectors.http import HttpTransaction
from dissectors.tls import TlsAlert, TlsDissector, TlsMessage, TlsSession
from tests.conversation import C, Gap, S, ctx, of_type, run, run_all_ways
from tests.tlsfixtures import tls_conversation

REQ = b"GET /hello.txt HTTP/1.1\r\nHost: test.example\r\n\r\n"
RESP_ = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world"
SUITES = [("1.3", None, True), ("1.2", "ECDHE-RSA-AES128-GCM-SHA256", True),
          ("1.2", "ECDHE-RSA-AES256-GCM-SHA384", True), ("1.2", "ECDHE-RSA-CHACHA20-POLY1305", True),
          ("1.2", "AES256-SHA256", True), ("1.2", "ECDHE-RSA-AES256-SHA384", False), ("1.2", "AES128-SHA", False),
          ("1.1", "AES256-SHA", True), ("1.0", "AES128-SHA", False)]


def _dissector(keys: str | None, port: int = 443, lim: Limits | None = None):
    secrets = None
    if keys is not None:
        secrets = Keyring()
        secrets.add_text(keys, "test key log")
    return lambda: TlsDissector(dataclasses.replace(ctx(resp=("10.0.0.2", port), limits=lim), secrets=secrets))


def _row(items) -> TlsSession:
    (row,) = of_type(items, TlsSession)
    return row


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("tls")


@pytest.mark.parametrize("version,cipher,etm", SUITES, ids=lambda x: str(x))
def test_decrypted_http_inside_equals_what_was_sent(folder, version, cipher, etm):
    steps, keys = tls_conversation(folder, [(REQ, RESP_), (REQ, RESP_)], version, cipher, "http/1.1", etm)
    items = run_all_ways(_dissector(keys), steps)
    row = _row(items)
    assert row.version == {"1.0": "TLSv10", "1.1": "TLSv11", "1.2": "TLSv12", "1.3": "TLSv13"}[version]
    assert row.decrypted and row.inner == "http" and row.records_undecrypted == 0
    assert row.next_protocol == "http/1.1" and row.established and row.last_alert == "close_notify"
    assert row.subject == "CN=test.example" and row.server_name == "test.example"
    tx = of_type(items, HttpTransaction)
    assert [(t.method, t.uri, t.status_code, t.response_body_len) for t in tx] == [("GET", "/hello.txt", 200, 11)] * 2
    body = b"".join(i.data for i in items if type(i).__name__ == "FileData")
    assert body == b"hello world" * 2


@pytest.mark.parametrize("version,cipher,etm", SUITES[:2] + SUITES[-1:], ids=lambda x: str(x))
def test_without_keys_the_handshake_and_nothing_more(folder, version, cipher, etm):
    steps, _ = tls_conversation(folder, [(REQ, RESP_)], version, cipher, "http/1.1", etm)
    items = run_all_ways(_dissector(None), steps)
    row = _row(items)
    assert not row.decrypted and row.inner is None and row.records_undecrypted > 0
    assert set(row.undecrypted_reasons) == {"no key for this session"}
    assert not of_type(items, HttpTransaction)
    assert isinstance(items[0], Confirm)
    names = [m.message for m in of_type(items, TlsMessage)]
    assert names[0] == "client_hello" and "server_hello" in names
    if version == "1.3":   # encrypted: no certificate, no ALPN, no alert content
        assert row.subject is None and row.next_protocol is None and row.last_alert is None
        assert "encrypted_handshake" in names and "certificate" not in names
    else:
        assert row.subject == "CN=test.example" and row.next_protocol == "http/1.1"


def test_a_key_for_another_session_decrypts_nothing(folder):
    steps, _ = tls_conversation(folder, [(REQ, RESP_)])
    _, other = tls_conversation(folder, [(REQ, RESP_)])
    row = _row(run(_dissector(other), steps))
    assert not row.decrypted and set(row.undecrypted_reasons) == {"no key for this session"}


def test_inner_protocol_by_content_on_an_unknown_port(folder):
    """No ALPN, port 9999: the decrypted bytes are recognised by the registry's content probes."""
    steps, keys = tls_conversation(folder, [(REQ, RESP_)], "1.3")
    items = run(_dissector(keys, port=9999), steps)
    assert _row(items).inner == "http" and of_type(items, HttpTransaction)


def test_gap_ends_the_direction_and_is_said(folder):
    steps, keys = tls_conversation(folder, [(REQ, RESP_), (REQ, RESP_)], "1.3")
    # drop the server's last application record: a gap in the server direction
    last_s = max(i for i, s in enumerate(steps) if s.direction is RESP)
    convo = steps[:last_s] + [Gap(RESP, len(steps[last_s].data))] + steps[last_s + 1:]
    items = run(_dissector(keys), convo)
    gaps = [a for a in of_type(items, Anomaly) if a.name == "tls_gap"]
    assert len(gaps) == 1 and gaps[0].direction is RESP


def _record(ctype: int, body: bytes, version: int = 0x0303) -> bytes:
    return struct.pack("!BHH", ctype, version, len(body)) + body


def _hello(mtype: int, body: bytes) -> bytes:
    return _record(22, bytes([mtype]) + len(body).to_bytes(3, "big") + body)


def test_not_tls_is_a_violation_before_anything_was_read():
    items = run(_dissector(None), [C(b"GET / HTTP/1.1\r\n\r\n")])
    assert of_type(items, Violation)


def test_record_too_long():
    items = run(_dissector(None), [C(_hello(1, b"\x03\x03" + b"\x00" * 40)), S(b"\x16\x03\x03\xff\xff")])
    assert [a.name for a in of_type(items, Anomaly)] == ["tls_record_too_long"]


def test_handshake_message_over_the_cap():
    lim = Limits(max_header_block=16)     # cap = 4 × 16 bytes
    items = run(_dissector(None, lim=lim), [C(_hello(1, b"\x03\x03" + b"\x00" * 200))])
    assert "tls_handshake_too_long" in [a.name for a in of_type(items, Anomaly)]


def test_truncated_client_hello_is_malformed_and_said():
    body = b"\x03\x03" + b"\x11" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" + b"\x00\x10\x00\x00\x00\x20"
    items = run(_dissector(None), [C(_hello(1, body))])
    bad = [a for a in of_type(items, Anomaly) if a.name == "tls_handshake_malformed"]
    assert bad and "extension" in bad[0].detail
    assert [m.message for m in of_type(items, TlsMessage)] == ["client_hello"]


def test_hostile_certificate_is_reported_not_guessed():
    sh = b"\x03\x03" + b"\x22" * 32 + b"\x00" + b"\xc0\x2f" + b"\x00"
    junk = b"\x30\x82\xff\xff" + b"\x00" * 20
    cert = (len(junk) + 3).to_bytes(3, "big") + len(junk).to_bytes(3, "big") + junk
    ch = b"\x03\x03" + b"\x11" * 32 + b"\x00" + b"\x00\x02\xc0\x2f" + b"\x01\x00"
    items = run(_dissector(None), [C(_hello(1, ch)), S(_hello(2, sh) + _hello(11, cert))])
    assert "tls_certificate_unreadable" in [a.name for a in of_type(items, Anomaly)]
    row = _row(items)
    assert row.subject is None and len(row.cert_chain_fps) == 1


def test_alerts_in_the_clear():
    ch = b"\x03\x03" + b"\x11" * 32 + b"\x00" + b"\x00\x02\xc0\x2f" + b"\x01\x00"
    items = run(_dissector(None), [C(_hello(1, ch)), S(_record(21, b"\x02\x28"))])
    (alert,) = of_type(items, TlsAlert)
    assert (alert.level, alert.description, alert.direction) == ("fatal", "handshake_failure", RESP)
    assert _row(items).last_alert == "handshake_failure" and not _row(items).established


def test_ftp_inside_tls_announces_protected_data_connections_as_tls():
    """After PROT P (RFC 4217) a data connection is a TLS session of its own: its expectation says so."""
    from decoder.model import Expect
    from dissectors.ftp import FtpDissector

    c = dataclasses.replace(ctx(resp=("10.0.0.2", 21)), decrypted=True)
    convo = [C(b"USER a\r\n"), S(b"331 ok\r\n"), C(b"PASS b\r\n"), S(b"230 ok\r\n"), C(b"PBSZ 0\r\n"),
             S(b"200 ok\r\n"), C(b"PROT P\r\n"), S(b"200 ok\r\n"), C(b"PASV\r\n"),
             S(b"227 Entering Passive Mode (10,0,0,2,117,48)\r\n")]
    (exp,) = of_type(run(lambda: FtpDissector(c), convo), Expect)
    assert dict(exp.meta).get("tls") is True and exp.resp_p == 30000
    (clear,) = of_type(run(lambda: FtpDissector(c), convo[:6] + convo[8:]), Expect)
    assert "tls" not in dict(clear.meta)


def test_starttls_whose_220_is_missing_still_reaches_tls(folder, tmp_path):
    """No 220 to STARTTLS on the wire (a server that goes straight to its ServerHello): the SMTP dissector sees
    the ClientHello where a command would be and hands it, still buffered, to TLS (StopParsing.pending);
    decrypted with the key log. (A 220 lost from the capture is a gap, which TLS cannot cross.)"""
    from decoder.api import analyze
    from tests.builders import Conn, write_pcap

    steps, keys = tls_conversation(folder, [(b"EHLO client.test\r\n", b"250 ok\r\n")], "1.3")
    c = Conn(s=("10.0.0.2", 25))
    clear = [c.server(b"220 mail ESMTP\r\n"), c.client(b"EHLO client.test\r\n"), c.server(b"250 STARTTLS\r\n"),
             c.client(b"STARTTLS\r\n")]
    tls = [c.client(s.data) if s.direction is ORIG else c.server(s.data) for s in steps]
    write_pcap(tmp_path / "starttls.pcap", c.handshake() + clear + tls + c.close())
    (tmp_path / "k.log").write_text(keys)
    with analyze(tmp_path / "starttls.pcap", strict=True, keylogs=[tmp_path / "k.log"]) as a:
        (row,) = a.rows["tls"]
        helos = [r["fields"]["arg"] for r in a.rows["timeline"] if r["kind"] == "SmtpCommand"
                 and r["fields"]["command"] == "EHLO"]
    assert row["starttls"] == "smtp" and row["server_name"] == "test.example" and row["decrypted"]
    assert helos == ["client.test", "client.test"]           # before STARTTLS, and inside TLS


def test_early_data_is_counted_not_called_an_error():
    """A ClientHello offering early_data (extension 42), then protected data before any ServerHello: 0-RTT
    (RFC 8446 s.4.2.10) is allowed; it is counted as not decrypted, with that reason."""
    ext = b"\x00\x2a\x00\x00"                                   # early_data, empty
    ch = b"\x03\x03" + b"\x11" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" + len(ext).to_bytes(2, "big") + ext
    items = run(_dissector(None), [C(_hello(1, ch) + _record(23, b"\x00" * 40))])
    assert not of_type(items, Anomaly)
    assert _row(items).undecrypted_reasons == {"0-RTT early data (not decrypted)": 1}
    plain = b"\x03\x03" + b"\x11" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    items = run(_dissector(None), [C(_hello(1, plain) + _record(23, b"\x00" * 40))])
    assert [a.name for a in of_type(items, Anomaly)] == ["tls_data_before_keys"]
