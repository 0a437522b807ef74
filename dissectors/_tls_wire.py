"""TLS wire formats: the record layer and the handshake messages read without keys.

Follows RFC 8446 (TLS 1.3) sections 4.1.2–4.1.4 (ClientHello, ServerHello, HelloRetryRequest), 4.2
(extensions: supported_versions, key_share, ALPN from RFC 7301, server_name from RFC 6066 section 3),
4.4.2 (Certificate) and 5.1 (record layer), and RFC 5246 (TLS 1.2) sections 6.2 and 7.4 for the
older layouts (certificate_list without per-certificate extensions). Cipher suite and group names are
IANA's (the names Zeek's ssl.log uses).

Everything here is a pure function of bytes: :func:`parse_client_hello`, :func:`parse_server_hello`,
:func:`parse_certificate` return frozen dataclasses or raise :class:`TlsParseError` with one sentence;
every length is checked against what is left, so a hostile length cannot make a read run past its
message. Limits: SSL 2.0 compatible ClientHellos are not parsed (recognised, reported as such);
certificate contents (subject, issuer, validity) are read with ``cryptography``'s X.509 parser and a
certificate it refuses is reported, not guessed at.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

RECORD_HEADER = 5
MAX_CIPHERTEXT = 2 ** 14 + 2048          # RFC 5246 section 6.2.3 (TLS 1.3 allows less: 2^14 + 256)

CONTENT_TYPES = {20: "change_cipher_spec", 21: "alert", 22: "handshake", 23: "application_data",
                 24: "heartbeat"}
HANDSHAKE_TYPES = {0: "hello_request", 1: "client_hello", 2: "server_hello", 4: "new_session_ticket",
                   5: "end_of_early_data", 8: "encrypted_extensions", 11: "certificate",
                   12: "server_key_exchange", 13: "certificate_request", 14: "server_hello_done",
                   15: "certificate_verify", 16: "client_key_exchange", 20: "finished",
                   21: "certificate_url", 22: "certificate_status", 24: "key_update", 254: "message_hash"}
VERSIONS = {0x0300: "SSLv3", 0x0301: "TLSv10", 0x0302: "TLSv11", 0x0303: "TLSv12", 0x0304: "TLSv13"}
ALERTS = {0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 21: "decryption_failed",
          22: "record_overflow", 30: "decompression_failure", 40: "handshake_failure", 41: "no_certificate",
          42: "bad_certificate", 43: "unsupported_certificate", 44: "certificate_revoked",
          45: "certificate_expired", 46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca",
          49: "access_denied", 50: "decode_error", 51: "decrypt_error", 60: "export_restriction",
          70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
          86: "inappropriate_fallback", 90: "user_canceled", 100: "no_renegotiation",
          109: "missing_extension", 110: "unsupported_extension", 112: "unrecognized_name",
          113: "bad_certificate_status_response", 115: "unknown_psk_identity", 116: "certificate_required",
          120: "no_application_protocol"}
GROUPS = {23: "secp256r1", 24: "secp384r1", 25: "secp521r1", 29: "x25519", 30: "x448", 256: "ffdhe2048",
          257: "ffdhe3072", 258: "ffdhe4096", 259: "ffdhe6144", 260: "ffdhe8192", 0x11EC: "X25519MLKEM768",
          0x6399: "X25519Kyber768Draft00"}
# IANA TLS cipher suite registry (the suites seen in practice; others are shown by number)
CIPHER_SUITES = {
    0x0004: "TLS_RSA_WITH_RC4_128_MD5", 0x0005: "TLS_RSA_WITH_RC4_128_SHA",
    0x000A: "TLS_RSA_WITH_3DES_EDE_CBC_SHA", 0x0016: "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA",
    0x002F: "TLS_RSA_WITH_AES_128_CBC_SHA", 0x0033: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
    0x0035: "TLS_RSA_WITH_AES_256_CBC_SHA", 0x0039: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
    0x003C: "TLS_RSA_WITH_AES_128_CBC_SHA256", 0x003D: "TLS_RSA_WITH_AES_256_CBC_SHA256",
    0x0067: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", 0x006B: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
    0x009C: "TLS_RSA_WITH_AES_128_GCM_SHA256", 0x009D: "TLS_RSA_WITH_AES_256_GCM_SHA384",
    0x009E: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", 0x009F: "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    0x00FF: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV", 0x5600: "TLS_FALLBACK_SCSV",
    0x1301: "TLS_AES_128_GCM_SHA256", 0x1302: "TLS_AES_256_GCM_SHA384",
    0x1303: "TLS_CHACHA20_POLY1305_SHA256", 0x1304: "TLS_AES_128_CCM_SHA256",
    0x1305: "TLS_AES_128_CCM_8_SHA256",
    0xC009: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", 0xC00A: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    0xC013: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 0xC014: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    0xC023: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", 0xC024: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    0xC027: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", 0xC028: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    0xC02B: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xC02C: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    0xC02F: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xC030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    0xCCA8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCCA9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCCAA: "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
}
# RFC 8446 section 4.1.3: a ServerHello with this random is a HelloRetryRequest
HRR_RANDOM = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")
GREASE = frozenset(0x0A0A + 0x1010 * i for i in range(16))   # RFC 8701


class TlsParseError(ValueError):
    """A handshake message or record that does not follow its layout (the message says where)."""


def version_name(v: int | None) -> str | None:
    if v is None:
        return None
    return VERSIONS.get(v, f"0x{v:04x}")


def suite_name(s: int | None) -> str | None:
    if s is None:
        return None
    return CIPHER_SUITES.get(s, f"0x{s:04x}")


class _Reader:
    """Bounded reads over one message: every length is checked against what is left."""

    __slots__ = ("buf", "pos", "end", "what")

    def __init__(self, buf: bytes, what: str, pos: int = 0, end: int | None = None) -> None:
        self.buf, self.pos, self.what = buf, pos, what
        self.end = len(buf) if end is None else end

    def left(self) -> int:
        return self.end - self.pos

    def take(self, n: int, field: str) -> bytes:
        if n > self.end - self.pos:
            raise TlsParseError(f"{self.what}: {field} needs {n} bytes, {self.end - self.pos} left")
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self, field: str) -> int:
        return self.take(1, field)[0]

    def u16(self, field: str) -> int:
        return struct.unpack("!H", self.take(2, field))[0]

    def u24(self, field: str) -> int:
        return int.from_bytes(self.take(3, field), "big")

    def vec(self, size: int, field: str) -> bytes:
        n = int.from_bytes(self.take(size, field + " length"), "big")
        return self.take(n, field)

    def sub(self, size: int, field: str) -> "_Reader":
        return _Reader(self.vec(size, field), f"{self.what} {field}")


def _u16_list(b: bytes, what: str) -> tuple[int, ...]:
    if len(b) % 2:
        raise TlsParseError(f"{what}: odd length {len(b)}")
    return struct.unpack(f"!{len(b) // 2}H", b)


def _extensions(r: _Reader, what: str) -> list[tuple[int, bytes]]:
    if not r.left():
        return []
    ext = r.sub(2, "extensions")
    out = []
    while ext.left():
        et = ext.u16("extension type")
        out.append((et, ext.vec(2, f"extension {et}")))
    return out


def _alpn(body: bytes) -> tuple[str, ...]:
    r = _Reader(body, "ALPN").sub(2, "protocol_name_list")
    names = []
    while r.left():
        names.append(r.vec(1, "protocol name").decode("ascii", "backslashreplace"))
    return tuple(names)


@dataclass(frozen=True, slots=True)
class ClientHello:
    legacy_version: int
    random: bytes
    session_id: bytes
    cipher_suites: tuple[int, ...]
    server_name: str | None
    alpn: tuple[str, ...]
    supported_versions: tuple[int, ...]
    groups: tuple[int, ...]
    extensions: tuple[int, ...]
    extended_master_secret: bool
    encrypt_then_mac: bool


@dataclass(frozen=True, slots=True)
class ServerHello:
    legacy_version: int
    random: bytes
    session_id: bytes
    cipher_suite: int
    selected_version: int | None        # supported_versions extension (TLS 1.3)
    alpn: str | None
    key_share_group: int | None
    extensions: tuple[int, ...]
    extended_master_secret: bool
    encrypt_then_mac: bool
    psk: bool

    @property
    def version(self) -> int:
        return self.selected_version or self.legacy_version

    @property
    def retry_request(self) -> bool:
        return self.random == HRR_RANDOM


def parse_client_hello(body: bytes) -> ClientHello:
    """RFC 8446 section 4.1.2 (and RFC 5246 7.4.1.2): the body of a handshake message of type 1."""
    r = _Reader(body, "ClientHello")
    legacy = r.u16("legacy_version")
    rnd = r.take(32, "random")
    sid = r.vec(1, "session_id")
    suites = _u16_list(r.vec(2, "cipher_suites"), "cipher_suites")
    r.vec(1, "compression_methods")
    sni = None
    alpn: tuple[str, ...] = ()
    versions: tuple[int, ...] = ()
    groups: tuple[int, ...] = ()
    types = []
    ems = etm = False
    for et, eb in _extensions(r, "ClientHello"):
        types.append(et)
        if et == 0 and eb:
            lst = _Reader(eb, "server_name").sub(2, "server_name_list")
            while lst.left():
                kind = lst.u8("name_type")
                name = lst.vec(2, "host_name")
                if kind == 0 and sni is None:
                    sni = name.decode("ascii", "backslashreplace")
        elif et == 16:
            alpn = _alpn(eb)
        elif et == 43:
            versions = _u16_list(_Reader(eb, "supported_versions").vec(1, "versions"), "supported_versions")
        elif et == 10:
            groups = _u16_list(_Reader(eb, "supported_groups").vec(2, "named_group_list"), "supported_groups")
        elif et == 23:
            ems = True
        elif et == 22:
            etm = True
    return ClientHello(legacy, rnd, sid, suites, sni, alpn, versions, groups, tuple(types), ems, etm)


def parse_server_hello(body: bytes) -> ServerHello:
    """RFC 8446 section 4.1.3 (and RFC 5246 7.4.1.3): the body of a handshake message of type 2."""
    r = _Reader(body, "ServerHello")
    legacy = r.u16("legacy_version")
    rnd = r.take(32, "random")
    sid = r.vec(1, "session_id")
    suite = r.u16("cipher_suite")
    r.u8("compression_method")
    selected = group = None
    alpn = None
    types = []
    ems = etm = psk = False
    for et, eb in _extensions(r, "ServerHello"):
        types.append(et)
        if et == 43 and len(eb) >= 2:
            selected = struct.unpack_from("!H", eb)[0]
        elif et == 16:
            names = _alpn(eb)
            alpn = names[0] if names else None
        elif et == 51 and len(eb) >= 2:
            group = struct.unpack_from("!H", eb)[0]
        elif et == 23:
            ems = True
        elif et == 22:
            etm = True
        elif et == 41:
            psk = True
    return ServerHello(legacy, rnd, sid, suite, selected, alpn, group, tuple(types), ems, etm, psk)


def parse_encrypted_extensions(body: bytes) -> str | None:
    """RFC 8446 section 4.3.1: the ALPN the server chose, when it says one."""
    for et, eb in _extensions(_Reader(body, "EncryptedExtensions"), "EncryptedExtensions"):
        if et == 16:
            names = _alpn(eb)
            return names[0] if names else None
    return None


def parse_certificate(body: bytes, tls13: bool) -> list[bytes]:
    """RFC 5246 7.4.2 / RFC 8446 4.4.2: the DER certificates of a Certificate message, leaf first."""
    r = _Reader(body, "Certificate")
    if tls13:
        r.vec(1, "certificate_request_context")
    lst = r.sub(3, "certificate_list")
    certs = []
    while lst.left():
        certs.append(lst.vec(3, "cert_data"))
        if tls13:
            lst.vec(2, "extensions")
    return certs


@dataclass(frozen=True, slots=True)
class CertInfo:
    subject: str
    issuer: str
    not_valid_before: float
    not_valid_after: float
    serial: str
    sha256: str


def describe_certificate(der: bytes) -> CertInfo:
    """Subject, issuer (RFC 4514 strings, as Zeek writes them), validity (epoch seconds), serial and the
    SHA-256 fingerprint of one DER certificate. Raises TlsParseError when X.509 parsing fails."""
    import hashlib

    from cryptography import x509

    try:
        c = x509.load_der_x509_certificate(der)
        return CertInfo(c.subject.rfc4514_string(), c.issuer.rfc4514_string(),
                        c.not_valid_before_utc.timestamp(), c.not_valid_after_utc.timestamp(),
                        format(c.serial_number, "X"), hashlib.sha256(der).hexdigest())
    except Exception as e:   # cryptography raises ValueError and others on hostile DER
        raise TlsParseError(f"certificate: not a readable X.509 certificate ({type(e).__name__})") from None
