"""TLS record decryption from logged secrets (the NSS key log a browser or curl writes).

TLS 1.3 (RFC 8446 section 7.1 key schedule through HKDF-Expand-Label, 7.2 KeyUpdate, 5.2–5.3 record
protection: AEAD with the per-record nonce, inner content type after the zero padding): from the
``CLIENT/SERVER_HANDSHAKE_TRAFFIC_SECRET`` and ``CLIENT/SERVER_TRAFFIC_SECRET_0`` lines, for
AES-128/256-GCM, ChaCha20-Poly1305 (RFC 8439) and AES-128-CCM(-8).

TLS 1.0–1.2 (RFC 5246 section 5 PRF and 6.3 key block; RFC 2246 section 5 for the MD5/SHA-1 PRF of
1.0 and 1.1): from the ``CLIENT_RANDOM`` line (the master secret, which under the extended master
secret of RFC 7627 is already the extended one, so nothing else is needed), for AES-GCM (RFC 5288),
ChaCha20-Poly1305 (RFC 7905) and AES-CBC with HMAC-SHA1/SHA256/SHA384 (MAC-then-encrypt, or
encrypt-then-MAC when RFC 7366 was negotiated; the implicit IV chain of TLS 1.0 too).

Limits: no RSA pre-master secrets (``RSA`` lines), no 0-RTT early data, no RC4/3DES/CAMELLIA/ARIA
suites; a record that fails its tag or MAC raises :class:`DecryptError` with the reason, and the caller
counts it. The AEAD and HMAC implementations are ``cryptography``'s (OpenSSL).
"""
from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from cryptography.exceptions import InvalidTag


class DecryptError(Exception):
    """A record that could not be decrypted; the message is the reason (one phrase)."""


@dataclass(frozen=True, slots=True)
class Suite:
    """What decryption needs to know about a cipher suite."""

    kind: str            # "gcm", "chacha", "ccm", "ccm8", "cbc"
    key_len: int
    hash: str            # PRF / HKDF hash: "sha256" or "sha384"
    mac: str | None = None   # CBC suites: the HMAC hash


def suite_params(suite: int, name: str) -> Suite | None:
    """Parameters of a suite by its IANA name; None when we cannot decrypt it."""
    prf = "sha384" if name.endswith("SHA384") else "sha256"
    if suite in (0x1301, 0x1302, 0x1303, 0x1304, 0x1305):
        return {0x1301: Suite("gcm", 16, "sha256"), 0x1302: Suite("gcm", 32, "sha384"),
                0x1303: Suite("chacha", 32, "sha256"), 0x1304: Suite("ccm", 16, "sha256"),
                0x1305: Suite("ccm8", 16, "sha256")}[suite]
    if "_WITH_" not in name:
        return None
    cipher = name.split("_WITH_", 1)[1]
    if cipher.startswith("AES_128_GCM") or cipher.startswith("AES_256_GCM"):
        return Suite("gcm", 16 if "128" in cipher else 32, prf)
    if cipher.startswith("CHACHA20_POLY1305"):
        return Suite("chacha", 32, "sha256")
    if cipher.startswith(("AES_128_CBC_", "AES_256_CBC_")):
        mac = {"SHA": "sha1", "SHA256": "sha256", "SHA384": "sha384"}.get(cipher.rsplit("_CBC_", 1)[1])
        if mac is None:
            return None
        return Suite("cbc", 16 if "128" in cipher else 32, prf, mac)
    return None


# ------------------------------------------------------------------ key derivation
def hkdf_expand_label(secret: bytes, label: bytes, context: bytes, length: int, hash_name: str) -> bytes:
    """RFC 8446 section 7.1."""
    info = struct.pack("!H", length) + bytes([6 + len(label)]) + b"tls13 " + label + \
        bytes([len(context)]) + context
    algo = hashes.SHA384() if hash_name == "sha384" else hashes.SHA256()
    return HKDFExpand(algo, length, info).derive(secret)


def _p_hash(hash_name: str, secret: bytes, seed: bytes, length: int) -> bytes:
    """RFC 5246 section 5: P_hash."""
    out = b""
    a = seed
    while len(out) < length:
        a = hmac.new(secret, a, hash_name).digest()
        out += hmac.new(secret, a + seed, hash_name).digest()
    return out[:length]


def prf(version: int, hash_name: str, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """The TLS PRF: RFC 5246 section 5 for TLS 1.2, MD5 ⊕ SHA-1 halves (RFC 2246 section 5) before."""
    if version >= 0x0303:
        return _p_hash(hash_name, secret, label + seed, length)
    half = (len(secret) + 1) // 2
    md5 = _p_hash("md5", secret[:half], label + seed, length)
    sha = _p_hash("sha1", secret[-half:], label + seed, length)
    return bytes(x ^ y for x, y in zip(md5, sha))


# ------------------------------------------------------------------ record protection
class RecordCipher:
    """One direction's record protection; ``seq`` counts records decrypted with these keys."""

    seq: int = 0

    def decrypt(self, ctype: int, version: int, payload: bytes) -> tuple[int, bytes]:   # pragma: no cover
        raise NotImplementedError


def _aead(kind: str, key: bytes):
    if kind == "gcm":
        return AESGCM(key), 16
    if kind == "chacha":
        return ChaCha20Poly1305(key), 16
    if kind == "ccm":
        return AESCCM(key, 16), 16
    return AESCCM(key, 8), 8


class Tls13Cipher(RecordCipher):
    """RFC 8446 section 5.2: AEAD over the whole record, additional data = the record header."""

    def __init__(self, suite: Suite, secret: bytes) -> None:
        self.suite = suite
        self.secret = secret
        self._keys(secret)

    def _keys(self, secret: bytes) -> None:
        self.aead, self.tag = _aead(self.suite.kind, hkdf_expand_label(secret, b"key", b"", self.suite.key_len,
                                                                       self.suite.hash))
        self.iv = hkdf_expand_label(secret, b"iv", b"", 12, self.suite.hash)
        self.seq = 0

    def key_update(self) -> None:
        """RFC 8446 section 7.2: the next generation of this direction's traffic secret."""
        n = 48 if self.suite.hash == "sha384" else 32
        self.secret = hkdf_expand_label(self.secret, b"traffic upd", b"", n, self.suite.hash)
        self._keys(self.secret)

    def decrypt(self, ctype: int, version: int, payload: bytes) -> tuple[int, bytes]:
        if len(payload) < self.tag + 1:
            raise DecryptError("record shorter than its authentication tag")
        nonce = (int.from_bytes(self.iv, "big") ^ self.seq).to_bytes(12, "big")
        aad = struct.pack("!BHH", ctype, version, len(payload))
        try:
            inner = self.aead.decrypt(nonce, payload, aad)
        except InvalidTag:
            raise DecryptError("authentication tag mismatch (wrong key or altered record)") from None
        self.seq += 1
        end = len(inner)
        while end and inner[end - 1] == 0:
            end -= 1
        if not end:
            raise DecryptError("decrypted record has no content type (all padding)")
        return inner[end - 1], inner[:end - 1]


class Tls12AeadCipher(RecordCipher):
    """RFC 5288 (GCM: 4-byte implicit salt + 8-byte explicit nonce) and RFC 7905 (ChaCha20-Poly1305: the
    TLS 1.3-style nonce); additional data = seq, type, version, plaintext length (RFC 5246 6.2.3.3)."""

    def __init__(self, suite: Suite, key: bytes, iv: bytes) -> None:
        self.suite = suite
        self.aead, self.tag = _aead(suite.kind, key)
        self.iv = iv

    def decrypt(self, ctype: int, version: int, payload: bytes) -> tuple[int, bytes]:
        if self.suite.kind == "chacha":
            nonce = (int.from_bytes(self.iv, "big") ^ self.seq).to_bytes(12, "big")
            ct = payload
        else:
            if len(payload) < 8:
                raise DecryptError("record shorter than its explicit nonce")
            nonce, ct = self.iv + payload[:8], payload[8:]
        if len(ct) < self.tag:
            raise DecryptError("record shorter than its authentication tag")
        aad = struct.pack("!QBHH", self.seq, ctype, version, len(ct) - self.tag)
        try:
            plain = self.aead.decrypt(nonce, ct, aad)
        except InvalidTag:
            raise DecryptError("authentication tag mismatch (wrong key or altered record)") from None
        self.seq += 1
        return ctype, plain


class Tls12CbcCipher(RecordCipher):
    """RFC 5246 6.2.3.2 (explicit IV per record from TLS 1.1; TLS 1.0 chains the last ciphertext block)
    with HMAC over seq, type, version, length and the plaintext, or over the ciphertext (RFC 7366)."""

    def __init__(self, suite: Suite, version: int, key: bytes, mac_key: bytes, iv: bytes, etm: bool) -> None:
        self.suite, self.version, self.key, self.mac_key, self.etm = suite, version, key, mac_key, etm
        self.iv = iv
        self.mac_len = hashlib.new(suite.mac or "sha1").digest_size

    def _mac(self, ctype: int, version: int, data: bytes) -> bytes:
        head = struct.pack("!QBHH", self.seq, ctype, version, len(data))
        return hmac.new(self.mac_key, head + data, self.suite.mac or "sha1").digest()

    def decrypt(self, ctype: int, version: int, payload: bytes) -> tuple[int, bytes]:
        if self.etm:
            if len(payload) < self.mac_len:
                raise DecryptError("record shorter than its MAC")
            payload, mac = payload[:-self.mac_len], payload[-self.mac_len:]
            if not hmac.compare_digest(mac, self._mac(ctype, version, payload)):
                raise DecryptError("MAC mismatch (wrong key or altered record)")
        if self.version >= 0x0302:
            iv, ct = payload[:16], payload[16:]
        else:
            iv, ct = self.iv, payload
        if not ct or len(ct) % 16 or len(iv) < 16:
            raise DecryptError("CBC record is not a whole number of blocks")
        dec = Cipher(algorithms.AES(self.key), modes.CBC(iv)).decryptor()
        plain = dec.update(ct) + dec.finalize()
        if self.version < 0x0302:
            self.iv = ct[-16:]
        pad = plain[-1]
        if pad + 1 > len(plain):
            raise DecryptError("CBC padding longer than the record")
        plain = plain[:-(pad + 1)]
        if not self.etm:
            if len(plain) < self.mac_len:
                raise DecryptError("record shorter than its MAC")
            plain, mac = plain[:-self.mac_len], plain[-self.mac_len:]
            if not hmac.compare_digest(mac, self._mac(ctype, version, plain)):
                raise DecryptError("MAC mismatch (wrong key or altered record)")
        self.seq += 1
        return ctype, plain


def tls12_ciphers(suite: Suite, version: int, master: bytes, client_random: bytes, server_random: bytes,
                  etm: bool) -> tuple[RecordCipher, RecordCipher]:
    """The client's and the server's record ciphers from the master secret (RFC 5246 section 6.3)."""
    if suite.kind == "cbc":
        mac_len = hashlib.new(suite.mac or "sha1").digest_size
        iv_len = 16
    else:
        mac_len = 0
        iv_len = 12 if suite.kind == "chacha" else 4
    need = 2 * (mac_len + suite.key_len + iv_len)
    block = prf(version, suite.hash, master, b"key expansion", server_random + client_random, need)
    parts = []
    pos = 0
    for n in (mac_len, mac_len, suite.key_len, suite.key_len, iv_len, iv_len):
        parts.append(block[pos:pos + n])
        pos += n
    cmac, smac, ckey, skey, civ, siv = parts
    if suite.kind == "cbc":
        return (Tls12CbcCipher(suite, version, ckey, cmac, civ, etm),
                Tls12CbcCipher(suite, version, skey, smac, siv, etm))
    return Tls12AeadCipher(suite, ckey, civ), Tls12AeadCipher(suite, skey, siv)
