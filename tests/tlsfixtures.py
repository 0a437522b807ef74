"""Real TLS and HTTP/2 conversations made in memory, for conversation fixtures and fuzzing.

TLS: Python's ``ssl`` (OpenSSL) client and server joined by ``MemoryBIO``s, with the client's key log
(``keylog_filename``), so the bytes are those a real endpoint sends and the secrets those it logs.
HTTP/2: the ``h2`` library's client and server connection objects. Each returns conversation steps
(:mod:`tests.conversation`), ready for ``run_all_ways``.
"""
from __future__ import annotations

import datetime
import ssl
import warnings
from pathlib import Path

from tests.conversation import C, S, Step

_CERT: dict[str, tuple[Path, Path]] = {}


def cert_pair(folder: Path) -> tuple[Path, Path]:
    """A self-signed RSA certificate for CN=test.example (made once per folder)."""
    key_path = _CERT.get(str(folder))
    if key_path:
        return key_path
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test.example")])
    now = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(4242).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    cp, kp = folder / "cert.pem", folder / "key.pem"
    cp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    kp.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    _CERT[str(folder)] = (cp, kp)
    return cp, kp


_NO_ENCRYPT_THEN_MAC = 0x80000     # OpenSSL's SSL_OP_NO_ENCRYPT_THEN_MAC (not named by Python's ssl)
VERSIONS = {"1.0": "TLSv1", "1.1": "TLSv1_1", "1.2": "TLSv1_2", "1.3": "TLSv1_3"}


def _shuttle(steps: list[Step], from_client, to_server, from_server, to_client) -> None:
    """Move bytes between two in-memory endpoints until neither has more, recording each as a step."""
    moved = True
    while moved:
        moved = False
        b = from_client()
        if b:
            steps.append(C(b))
            to_server(b)
            moved = True
        b = from_server()
        if b:
            steps.append(S(b))
            to_client(b)
            moved = True


def tls_conversation(folder: Path, exchanges: list[tuple[bytes, bytes]], version: str = "1.3",
                     cipher: str | None = None, alpn: str | None = None, etm: bool = True
                     ) -> tuple[list[Step], str]:
    """A whole TLS session: handshake, then for each (client bytes, server bytes) the client writes and the
    server answers, then close_notify from the client. Returns the steps and the client's key log text."""
    cert, key = cert_pair(folder)
    keylog = folder / f"keys-{version}-{cipher}-{(alpn or '').replace('/', '_')}-{etm}.log"
    keylog.unlink(missing_ok=True)
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.check_hostname = False
    cctx.verify_mode = ssl.CERT_NONE
    cctx.keylog_filename = str(keylog)
    sctx.load_cert_chain(cert, key)
    for ctx in (sctx, cctx):
        with warnings.catch_warnings():     # TLS 1.0 and 1.1 are deprecated: exactly why we test them
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ctx.maximum_version = getattr(ssl.TLSVersion, VERSIONS[version])
        if cipher:
            ctx.set_ciphers(cipher + ":@SECLEVEL=0")
        if alpn:
            ctx.set_alpn_protocols([alpn])
        if not etm:
            ctx.options |= _NO_ENCRYPT_THEN_MAC
    sctx.options |= ssl.OP_NO_TICKET
    cin, cout, sin, sout = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = cctx.wrap_bio(cin, cout, server_hostname="test.example")
    server = sctx.wrap_bio(sin, sout, server_side=True)
    steps: list[Step] = []

    def pump() -> None:
        _shuttle(steps, cout.read, sin.write, sout.read, cin.write)

    def step(obj: ssl.SSLObject, fn: str, *args) -> object:
        try:
            return getattr(obj, fn)(*args)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return None

    for _ in range(10):
        step(client, "do_handshake")
        pump()
        step(server, "do_handshake")
        pump()
        try:
            client.do_handshake()
            server.do_handshake()
            break
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            continue
    pump()
    def send(sender: ssl.SSLObject, receiver: ssl.SSLObject, data: bytes) -> None:
        sender.write(data)
        pump()
        got = b""
        while len(got) < len(data):
            got += receiver.read(65536)
        assert got == data

    for request, response in exchanges:
        if request:
            send(client, server, request)
        if response:
            send(server, client, response)
    step(client, "unwrap")
    pump()
    return steps, keylog.read_text()


def h2_conversation(requests: list[tuple[list[tuple[str, str]], bytes]],
                    responses: list[tuple[list[tuple[str, str]], bytes]]) -> list[Step]:
    """An HTTP/2 connection between the ``h2`` library's client and server: each request on its own
    stream (odd ids from 1), each answered with the response of the same index."""
    import h2.config
    import h2.connection
    import h2.events

    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    s = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
    steps: list[Step] = []

    def pump() -> list:
        events: list = []
        _shuttle(steps, c.data_to_send, lambda b: events.extend(s.receive_data(b)), s.data_to_send, c.receive_data)
        return events

    c.initiate_connection()
    s.initiate_connection()
    pump()
    for i, ((rh, rb), (sh, sb)) in enumerate(zip(requests, responses)):
        sid = 2 * i + 1
        c.send_headers(sid, rh, end_stream=not rb)
        if rb:
            c.send_data(sid, rb, end_stream=True)
        for ev in pump():
            if isinstance(ev, h2.events.DataReceived):
                s.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        s.send_headers(sid, sh, end_stream=not sb)
        if sb:
            for k in range(0, len(sb), 16384):
                s.send_data(sid, sb[k:k + 16384], end_stream=k + 16384 >= len(sb))
        pump()
    c.close_connection()
    pump()
    return steps
