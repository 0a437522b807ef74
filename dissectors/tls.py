"""TLS (SSL 3.0 to TLS 1.3): the handshake in the clear, and the session decrypted when its keys are known.

What is read without keys (RFC 8446 sections 4.1–4.4 and 5.1, RFC 5246 sections 6.2 and 7.4, RFC 6066
section 3, RFC 7301): the record layer of each direction, the handshake messages carried in the clear —
ClientHello (versions, cipher suites, server name, ALPN offered), ServerHello (version, cipher suite, key
share group, ALPN chosen in TLS 1.2), Certificate in TLS ≤ 1.2 (subject, issuer, validity, SHA-256
fingerprints) — alerts and ChangeCipherSpec. One ``tls`` row per session, with Zeek's ssl.log names
(``version``, ``cipher``, ``curve``, ``server_name``, ``resumed``, ``last_alert``, ``next_protocol``,
``established``, ``cert_chain_fps``, ``subject``, ``issuer``, ``client_subject``, ``client_issuer``) and our
own for what Zeek does not log. Every handshake message is an event (the ladder shows the handshake).

With the session's secrets (``ctx.secrets``: NSS key logs given with ``--keylog`` and pcapng Decryption
Secrets Blocks), records are decrypted (:mod:`dissectors._tls_crypto`): TLS 1.3 handshake messages that
are encrypted (EncryptedExtensions with the ALPN, Certificate, Finished, NewSessionTicket, KeyUpdate) are
read like the clear ones, and application data is fed, in order, to the dissector of the protocol inside:
the protocol the flow started with (STARTTLS, STLS, AUTH TLS), else the ALPN the server chose (``h2``,
``http/1.1``), else the port (443, 465, 993, 995, 990), else the content probes of the registry. Its items
reach the tables as if the session were clear; the ``tls`` row says ``decrypted`` and how.

Limits: a record over 2^14 + 2048 bytes, or a TCP gap, ends the parsing of that direction (record
boundaries are lost; anomaly); a handshake message over ``Limits.max_header_block`` × 4 is not reassembled;
records that cannot be decrypted are counted with their reason (no key, unsupported suite, bad tag), never
guessed at; SSL 2.0 hellos, 0-RTT early data and renegotiation inside an encrypted session are not decoded.
"""
from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

from decoder.model import (
    ORIG, RESP, SWITCHES, Anomaly, Confirm, Direction, Event, FileClose, FileData, FileGap, FileOpen,
    FlowContext, Record, StopParsing, Verdict, Violation,
)
from dissectors import _tls_wire as wire
from dissectors.probes.tls import SPECS, probe

__all__ = ["SPECS", "probe", "TlsDissector", "TlsMessage", "TlsAlert", "TlsSession", "INNER_BY_PORT",
           "INNER_BY_ALPN"]

# the protocol inside a TLS session that starts at once, by port (RFC 8314, RFC 4217) and by ALPN id
INNER_BY_PORT = {443: "http", 8443: "http", 465: "smtp", 993: "imap", 995: "pop3", 990: "ftp"}
INNER_BY_ALPN = {"h2": "http2", "http/1.1": "http", "http/1.0": "http", "imap": "imap", "pop3": "pop3",
                 "ftp": "ftp"}

_MEANINGS = {
    "client_hello": "the client opens the handshake: versions, cipher suites and extensions it supports "
                    "(RFC 8446 s.4.1.2)",
    "server_hello": "the server picks the version, the cipher suite and its key share (RFC 8446 s.4.1.3)",
    "hello_retry_request": "the server asks the client to retry with another key share (RFC 8446 s.4.1.4)",
    "encrypted_extensions": "the server's answers to the client's extensions, encrypted (RFC 8446 s.4.3.1)",
    "certificate": "the certificate chain proving an identity (RFC 8446 s.4.4.2, RFC 5246 s.7.4.2)",
    "certificate_verify": "a signature over the handshake with the certificate's key (RFC 8446 s.4.4.3)",
    "certificate_request": "the server asks the client for a certificate (RFC 8446 s.4.3.2)",
    "server_key_exchange": "the server's ephemeral key share, signed (RFC 5246 s.7.4.3)",
    "server_hello_done": "the server has sent its hello messages (RFC 5246 s.7.4.5)",
    "client_key_exchange": "the client's key share or encrypted pre-master secret (RFC 5246 s.7.4.7)",
    "finished": "a MAC over the whole handshake: keys confirmed (RFC 8446 s.4.4.4, RFC 5246 s.7.4.9)",
    "new_session_ticket": "a ticket to resume this session later (RFC 8446 s.4.6.1, RFC 5077)",
    "key_update": "this side switches to the next generation of traffic keys (RFC 8446 s.4.6.3)",
    "change_cipher_spec": "from the next record on, this side encrypts (RFC 5246 s.7.1; a no-op kept for "
                          "middleboxes in TLS 1.3, RFC 8446 D.4)",
    "encrypted_handshake": "a handshake message we cannot read without the session's keys",
}


@dataclass(frozen=True, slots=True)
class TlsMessage(Event):
    """One handshake message (or ChangeCipherSpec). ``detail``: what it said that matters."""

    message: str = ""
    detail: str = ""
    encrypted: bool = False      # it travelled encrypted (read with keys, or not read at all)

    def summary(self) -> str:
        if self.message == "encrypted_handshake":
            return "Encrypted handshake message" + (f": {self.detail}" if self.detail else "")
        name = "".join(p.capitalize() for p in self.message.split("_"))
        lock = " (decrypted)" if self.encrypted else ""
        return f"{name}{lock}" + (f": {self.detail}" if self.detail else "")

    def meaning(self) -> str:
        return _MEANINGS.get(self.message, "")


@dataclass(frozen=True, slots=True)
class TlsAlert(Event):
    level: str = ""
    description: str = ""
    encrypted: bool = False

    def summary(self) -> str:
        return f"Alert {self.level} {self.description}" + (" (decrypted)" if self.encrypted else "")

    def meaning(self) -> str:
        if self.description == "close_notify":
            return "the sender closes the TLS session cleanly (RFC 8446 s.6.1)"
        return "the sender reports an error and ends the session (RFC 8446 s.6.2)" if self.level == "fatal" \
            else "a warning (RFC 5246 s.7.2)"


@dataclass(frozen=True, slots=True)
class TlsSession(Record):
    """One row of the ``tls`` table per TLS session. Zeek ssl.log names where Zeek logs the fact."""

    TABLE: ClassVar[str] = "tls"
    version: str | None = None          # chosen (TLSv12, TLSv13); Zeek's spelling
    cipher: str | None = None           # IANA name of the chosen suite
    curve: str | None = None            # key share group (TLS 1.3 ServerHello)
    server_name: str | None = None      # SNI
    resumed: bool = False               # PSK accepted (1.3) or session id echoed (≤ 1.2)
    last_alert: str | None = None
    next_protocol: str | None = None    # ALPN chosen by the server
    established: bool = False
    cert_chain_fps: list = field(default_factory=list)   # SHA-256 of the server's certificates, leaf first
    subject: str | None = None
    issuer: str | None = None
    client_subject: str | None = None
    client_issuer: str | None = None
    cert_not_valid_before: float | None = None
    cert_not_valid_after: float | None = None
    client_version: str | None = None   # ClientHello legacy_version
    client_versions: list = field(default_factory=list)   # supported_versions offered (GREASE left out)
    client_alpn: list = field(default_factory=list)       # ALPN protocols offered
    client_ciphers: int = 0             # how many cipher suites the client offered
    starttls: str | None = None         # the protocol whose STARTTLS led here
    decrypted: bool = False
    decrypted_with: str | None = None   # where the secrets came from (key log file, pcapng DSB)
    inner: str | None = None            # the protocol decoded inside
    records: int = 0
    records_undecrypted: int = 0
    undecrypted_reasons: dict = field(default_factory=dict)


@dataclass
class _Dir:
    """One direction's record stream."""

    buf: bytearray = field(default_factory=bytearray)
    hs: bytearray = field(default_factory=bytearray)      # handshake bytes not yet a whole message
    dead: bool = False
    encrypted: bool = False       # ≤ 1.2: after this side's ChangeCipherSpec
    cipher: Any = None            # the RecordCipher in use
    stage: str = ""               # 1.3: "handshake" or "application"
    app_seen: bool = False


_PREFIX = "tls:"   # the inner protocol's object handles (FlowContext.handle_prefix)
_MAX_HS = 4   # × Limits.max_header_block: a handshake message larger than this is not reassembled


class TlsDissector:
    """Sans-IO TLS dissector; ``ctx.switched_from`` names the protocol inside when the flow switched to TLS."""

    def __init__(self, ctx: FlowContext) -> None:
        self.ctx = ctx
        self.dirs = (_Dir(), _Dir())
        self.first_ts: float | None = None
        self.ch: wire.ClientHello | None = None
        self.sh: wire.ServerHello | None = None
        self.version: int | None = None
        self.suite_params: Any = None
        self.next_protocol: str | None = None
        self.curve: int | None = None
        self.certs: dict[Direction, list[bytes]] = {}
        self.cert_info: dict[Direction, wire.CertInfo] = {}
        self.last_alert: str | None = None
        self.finished = [False, False]
        self.protected_seen = [False, False]
        self.records = 0
        self.records_decrypted = 0
        self.undecrypted: Counter = Counter()
        self.decrypted_with: str | None = None
        self.inner: Any = None
        self.inner_name: str | None = None
        self.inner_spec = ""
        self.inner_done = False
        self.confirmed = False
        self.hs_cap = _MAX_HS * ctx.limits.max_header_block

    # ------------------------------------------------------------ contract
    def feed(self, direction: Direction, data: bytes, ts: float) -> list:
        out: list = []
        st = self.dirs[direction]
        if st.dead or not data:
            return out
        if self.first_ts is None:
            self.first_ts = ts
        buf = st.buf
        buf += data
        pos = 0
        n = len(buf)
        while n - pos >= wire.RECORD_HEADER and not st.dead:
            ctype, major, minor = buf[pos], buf[pos + 1], buf[pos + 2]
            length = (buf[pos + 3] << 8) | buf[pos + 4]
            if ctype not in wire.CONTENT_TYPES or major != 3:
                self._kill(direction, ts, out, "tls_record_malformed",
                           f"bytes {bytes(buf[pos:pos + 5]).hex()} are not a TLS record header")
                break
            if length > wire.MAX_CIPHERTEXT:
                self._kill(direction, ts, out, "tls_record_too_long",
                           f"a record claims {length} bytes (at most {wire.MAX_CIPHERTEXT})")
                break
            if n - pos < 5 + length:
                break
            payload = bytes(buf[pos + 5:pos + 5 + length])
            pos += 5 + length
            self.records += 1
            self._record(direction, ctype, (major << 8) | minor, payload, ts, out)
        if st.dead:
            st.buf = bytearray()
        else:
            del buf[:pos]
        return out

    def gap(self, direction: Direction, length: int, ts: float) -> list:
        out: list = []
        st = self.dirs[direction]
        if not st.dead:
            self._kill(direction, ts, out, "tls_gap",
                       f"{length} bytes missing: record boundaries are lost, the rest of this direction is "
                       "counted, not decoded")
        if self.inner is not None:
            self._inner_call(out, "gap", direction, length, ts)
        return out

    def close(self, ts: float) -> list:
        out: list = []
        if self.inner is not None:
            self._inner_call(out, "close", ORIG, None, ts)
        if self.first_ts is not None:
            out.append(self._row())
        return out

    # ------------------------------------------------------------ records
    def _kill(self, d: Direction, ts: float, out: list, name: str, detail: str) -> None:
        st = self.dirs[d]
        st.dead = True
        st.buf = bytearray()
        if not self.confirmed and self.records == 0 and not self.ctx.switched_from:
            out.append(Violation(ts, detail))
            return
        out.append(Anomaly(ts, name, detail, d))

    def _record(self, d: Direction, ctype: int, version: int, payload: bytes, ts: float, out: list) -> None:
        st = self.dirs[d]
        tls13 = self.version == 0x0304
        if ctype == 20:
            out.append(TlsMessage(ts, d, "change_cipher_spec"))
            if not tls13 and self.sh is not None:
                st.encrypted = True
                st.cipher = self._tls12_cipher(d)
            return
        if (tls13 and ctype == 23) or (st.encrypted and not tls13):
            self._protected(d, ctype, version, payload, ts, out)
            return
        if ctype == 22:
            self._handshake_bytes(d, payload, ts, out, encrypted=False)
        elif ctype == 21:
            self._alert(d, payload, ts, out, encrypted=False)
        elif ctype == 23 and d is ORIG and self.ch is not None and 42 in self.ch.extensions and self.sh is None:
            # 0-RTT early data (RFC 8446 s.4.2.10), offered in the ClientHello: allowed, not decrypted here
            self.undecrypted["0-RTT early data (not decrypted)"] += 1
        elif ctype == 23:
            out.append(Anomaly(ts, "tls_data_before_keys", "application data before the handshake set up "
                               "encryption", d))
        # heartbeat (24) in the clear: nothing to decode

    def _protected(self, d: Direction, ctype: int, version: int, payload: bytes, ts: float, out: list) -> None:
        from dissectors._tls_crypto import DecryptError

        st = self.dirs[d]
        if st.cipher is None and self.version == 0x0304 and st.stage == "":
            st.stage = "handshake"
            st.cipher = self._tls13_cipher(d, "handshake")
        if st.cipher is None:
            self._undecrypted(d, ctype, ts, out, self._why_no_cipher(), payload)
            return
        self.protected_seen[d] = True
        try:
            inner_type, plain = st.cipher.decrypt(ctype, version, payload)
        except DecryptError as e:
            self._undecrypted(d, ctype, ts, out, str(e), payload)
            return
        self.records_decrypted += 1
        if inner_type == 22:
            self._handshake_bytes(d, plain, ts, out, encrypted=True)
        elif inner_type == 23:
            self._app_data(d, plain, ts, out)
        elif inner_type == 21:
            self._alert(d, plain, ts, out, encrypted=True)

    def _why_no_cipher(self) -> str:
        if self.sh is None or self.ch is None:
            return "the handshake's hellos are not in the capture"
        if self.suite_params is None:
            return f"cipher suite {wire.suite_name(self.sh.cipher_suite)} is not supported for decryption"
        return "no key for this session"

    def _undecrypted(self, d: Direction, ctype: int, ts: float, out: list, reason: str, payload: bytes) -> None:
        self.undecrypted[reason] += 1
        first = not self.protected_seen[d]
        self.protected_seen[d] = True
        # what an unreadable record is: after ChangeCipherSpec (≤ 1.2) its outer type says; in TLS 1.3 the
        # first protected record of each direction carries handshake messages (RFC 8446 s.2), unless the
        # client offered early data
        if ctype == 22 or (self.version == 0x0304 and first and not (
                d is ORIG and self.ch is not None and 42 in self.ch.extensions)):
            out.append(TlsMessage(ts, d, "encrypted_handshake", f"{len(payload)} bytes", encrypted=True))
        elif ctype == 23:
            self.dirs[d].app_seen = True
            if self.inner is not None:
                self._inner_call(out, "gap", d, len(payload), ts)

    # ------------------------------------------------------------ handshake
    def _handshake_bytes(self, d: Direction, data: bytes, ts: float, out: list, encrypted: bool) -> None:
        st = self.dirs[d]
        st.hs += data
        hs = st.hs
        pos = 0
        while len(hs) - pos >= 4:
            mtype = hs[pos]
            mlen = int.from_bytes(hs[pos + 1:pos + 4], "big")
            if mlen > self.hs_cap:
                out.append(Anomaly(ts, "tls_handshake_too_long",
                                   f"a {wire.HANDSHAKE_TYPES.get(mtype, mtype)} message claims {mlen} bytes "
                                   f"(cap {self.hs_cap}); not reassembled", d))
                st.hs = bytearray()
                return
            if len(hs) - pos < 4 + mlen:
                break
            body = bytes(hs[pos + 4:pos + 4 + mlen])
            pos += 4 + mlen
            self._message(d, mtype, body, ts, out, encrypted)
        del hs[:pos]

    def _message(self, d: Direction, mtype: int, body: bytes, ts: float, out: list, encrypted: bool) -> None:
        name = wire.HANDSHAKE_TYPES.get(mtype, f"handshake_type_{mtype}")
        detail = ""
        try:
            if mtype == 1 and d is ORIG:
                ch = self.ch = wire.parse_client_hello(body)
                if not self.confirmed:
                    self.confirmed = True
                    out.append(Confirm(ts))
                vers = [wire.version_name(v) for v in ch.supported_versions if v not in wire.GREASE]
                detail = ", ".join(x for x in (
                    f"SNI {ch.server_name}" if ch.server_name else "",
                    "versions " + "/".join(vers) if vers else f"version {wire.version_name(ch.legacy_version)}",
                    f"ALPN {','.join(ch.alpn)}" if ch.alpn else "",
                    f"{len(ch.cipher_suites)} cipher suites") if x)
            elif mtype == 2 and d is RESP:
                sh = wire.parse_server_hello(body)
                if sh.retry_request:
                    name = "hello_retry_request"
                    detail = f"group {wire.GROUPS.get(sh.key_share_group or -1, sh.key_share_group)}"
                else:
                    self._server_hello(sh, ts, out)
                    detail = ", ".join(x for x in (
                        wire.version_name(sh.version), wire.suite_name(sh.cipher_suite),
                        f"ALPN {sh.alpn}" if sh.alpn else "",
                        f"group {wire.GROUPS.get(sh.key_share_group, sh.key_share_group)}"
                        if sh.key_share_group is not None else "") if x)
            elif mtype == 12 and self.sh is not None and "_ECDHE_" in (wire.suite_name(self.sh.cipher_suite) or ""):
                # RFC 8422 s.5.4: ServerECDHParams start with curve_type 3 (named_curve) and the group
                if len(body) >= 3 and body[0] == 3:
                    self.curve = int.from_bytes(body[1:3], "big")
                    detail = f"group {wire.GROUPS.get(self.curve, self.curve)}"
            elif mtype == 8:
                self.next_protocol = wire.parse_encrypted_extensions(body) or self.next_protocol
                detail = f"ALPN {self.next_protocol}" if self.next_protocol else ""
            elif mtype == 11:
                certs = wire.parse_certificate(body, self.version == 0x0304)
                self.certs[d] = certs
                detail = f"{len(certs)} certificate(s)"
                if certs:
                    try:
                        info = self.cert_info[d] = wire.describe_certificate(certs[0])
                        detail += f", subject {info.subject}"
                    except wire.TlsParseError as e:
                        out.append(Anomaly(ts, "tls_certificate_unreadable", str(e), d))
            elif mtype == 20:
                self.finished[d] = True
                if self.version == 0x0304:
                    st = self.dirs[d]
                    st.stage = "application"
                    # the records after this one use the application traffic secret (RFC 8446 s.7.1)
                    st.cipher = self._tls13_cipher(d, "application")
            elif mtype == 24 and self.version == 0x0304:
                cipher = self.dirs[d].cipher
                if cipher is not None:
                    cipher.key_update()
        except wire.TlsParseError as e:
            out.append(Anomaly(ts, "tls_handshake_malformed", str(e), d))
        out.append(TlsMessage(ts, d, name, detail, encrypted=encrypted))

    def _server_hello(self, sh: wire.ServerHello, ts: float, out: list) -> None:
        from dissectors._tls_crypto import suite_params

        self.sh = sh
        self.version = sh.version
        self.next_protocol = sh.alpn
        self.curve = sh.key_share_group
        name = wire.suite_name(sh.cipher_suite) or ""
        self.suite_params = suite_params(sh.cipher_suite, name)

    def _alert(self, d: Direction, payload: bytes, ts: float, out: list, encrypted: bool) -> None:
        if len(payload) < 2:
            out.append(Anomaly(ts, "tls_alert_malformed", f"an alert of {len(payload)} bytes", d))
            return
        level = {1: "warning", 2: "fatal"}.get(payload[0], str(payload[0]))
        desc = wire.ALERTS.get(payload[1], str(payload[1]))
        self.last_alert = desc
        out.append(TlsAlert(ts, d, level, desc, encrypted))

    # ------------------------------------------------------------ keys
    def _lookup(self, label: str) -> bytes | None:
        if self.ctx.secrets is None or self.ch is None:
            return None
        found = self.ctx.secrets.lookup(label, self.ch.random)
        if found is None:
            return None
        secret, source = found
        self.decrypted_with = self.decrypted_with or source
        return secret

    def _tls12_cipher(self, d: Direction) -> Any:
        from dissectors._tls_crypto import tls12_ciphers

        if self.suite_params is None or self.ch is None or self.sh is None:
            return None
        master = self._lookup("CLIENT_RANDOM")
        if master is None:
            return None
        pair = tls12_ciphers(self.suite_params, self.sh.version, master, self.ch.random, self.sh.random,
                             self.sh.encrypt_then_mac)
        return pair[0 if d is ORIG else 1]

    def _tls13_cipher(self, d: Direction, stage: str) -> Any:
        from dissectors._tls_crypto import Tls13Cipher

        if self.suite_params is None:
            return None
        side = "CLIENT" if d is ORIG else "SERVER"
        label = f"{side}_HANDSHAKE_TRAFFIC_SECRET" if stage == "handshake" else f"{side}_TRAFFIC_SECRET_0"
        secret = self._lookup(label)
        return None if secret is None else Tls13Cipher(self.suite_params, secret)

    # ------------------------------------------------------------ the protocol inside
    def _app_data(self, d: Direction, plain: bytes, ts: float, out: list) -> None:
        st = self.dirs[d]
        st.app_seen = True
        if not plain or self.inner_done:
            return
        if self.inner is None:
            self._start_inner(d, plain, ts, out)
            if self.inner is None:
                return
        self._inner_call(out, "feed", d, plain, ts)

    def _start_inner(self, d: Direction, plain: bytes, ts: float, out: list) -> None:
        from dissectors import REGISTRY

        by_name = {s.name: s for s in REGISTRY if s.transport.value == "tcp"}
        name = self.ctx.switched_from or INNER_BY_ALPN.get(self.next_protocol or "") or \
            INNER_BY_PORT.get(self.ctx.resp_p)
        spec = by_name.get(name or "")
        if spec is None:
            for s in REGISTRY:
                if s.transport.value == "tcp" and s.probe is not None and s.name != "tls" and not s.expect_only:
                    try:
                        if s.probe(d, plain) is Verdict.YES:
                            spec = s
                            break
                    except Exception:   # a probe's bug must not stop decryption
                        continue
        if spec is None:
            self.inner_done = True
            out.append(Anomaly(ts, "tls_inner_unknown", "decrypted data whose protocol we do not recognise; "
                               "it is counted, not decoded", d))
            return
        self._inner_from(spec, "")

    def _inner_from(self, spec: Any, switched_from: str) -> None:
        self.inner_name = spec.service_name
        self.inner_spec = spec.name
        self.inner = spec.factory(dataclasses.replace(self.ctx, switched_from=switched_from, decrypted=True,
                                                      handle_prefix=self.ctx.handle_prefix + _PREFIX))

    def _inner_call(self, out: list, what: str, d: Direction, x: Any, ts: float) -> None:
        inner = self.inner
        if what == "feed":
            items = inner.feed(d, x, ts)
        elif what == "gap":
            items = inner.gap(d, x, ts)
        else:
            items = inner.close(ts)
        for it in items:
            nxt = SWITCHES.get(it.reason.lower()) if isinstance(it, StopParsing) else None
            if nxt in ("websocket", "http2"):
                # an upgrade inside TLS (wss://, h2c is not used over TLS but is harmless): the protocol after
                # the 101 takes over, with the bytes already received behind it
                from dissectors import REGISTRY

                spec = next((x for x in REGISTRY if x.name == nxt), None)
                if spec is not None:
                    self._inner_from(spec, self.inner_spec)
                    for dd, data in zip((ORIG, RESP), it.pending):
                        if data and self.inner is not None:
                            self._inner_call(out, "feed", dd, data, ts)
                    return
            if isinstance(it, (StopParsing, Violation)):
                out.append(Anomaly(ts, "tls_inner_stopped", f"{self.inner_name} inside TLS: "
                                   f"{getattr(it, 'reason', '')}; the rest is counted, not decoded"))
                self.inner = None
                self.inner_done = True
                return
            if isinstance(it, (FileOpen, FileData, FileGap, FileClose)):
                # the inner dissector's handles are its own; keep them apart from the clear part's
                it = dataclasses.replace(it, handle=_PREFIX + it.handle)
            out.append(it)

    # ------------------------------------------------------------ the row
    def _row(self) -> TlsSession:
        ch, sh = self.ch, self.sh
        leaf = self.cert_info.get(RESP)
        client = self.cert_info.get(ORIG)
        resumed = False
        if sh is not None:
            resumed = sh.psk if self.version == 0x0304 else bool(
                ch is not None and ch.session_id and sh.session_id == ch.session_id and RESP not in self.certs)
        # with keys: both Finished read; without: both sides sent protected records (≤ 1.2: after their
        # ChangeCipherSpec), and in TLS 1.3 the client more than its first (its Finished)
        established = all(self.finished) or (all(self.protected_seen) and (
            self.dirs[0].encrypted and self.dirs[1].encrypted if self.version != 0x0304 else self.dirs[0].app_seen))
        decrypted = self.records_decrypted > 0
        return TlsSession(
            ts=self.first_ts or 0.0,
            version=wire.version_name(self.version) if sh is not None else None,
            cipher=wire.suite_name(sh.cipher_suite) if sh is not None else None,
            curve=wire.GROUPS.get(self.curve, str(self.curve)) if self.curve is not None else None,
            server_name=ch.server_name if ch else None,
            resumed=resumed, last_alert=self.last_alert, next_protocol=self.next_protocol,
            established=bool(established),
            cert_chain_fps=[hashlib.sha256(c).hexdigest() for c in self.certs.get(RESP, [])],
            subject=leaf.subject if leaf else None, issuer=leaf.issuer if leaf else None,
            client_subject=client.subject if client else None, client_issuer=client.issuer if client else None,
            cert_not_valid_before=leaf.not_valid_before if leaf else None,
            cert_not_valid_after=leaf.not_valid_after if leaf else None,
            client_version=wire.version_name(ch.legacy_version) if ch else None,
            client_versions=[wire.version_name(v) for v in ch.supported_versions if v not in wire.GREASE]
            if ch else [],
            client_alpn=list(ch.alpn) if ch else [],
            client_ciphers=len(ch.cipher_suites) if ch else 0,
            starttls=self.ctx.switched_from or None,
            decrypted=decrypted, decrypted_with=self.decrypted_with if decrypted else None,
            inner=self.inner_name, records=self.records,
            records_undecrypted=sum(self.undecrypted.values()),
            undecrypted_reasons=dict(self.undecrypted),
        )
