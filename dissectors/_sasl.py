"""SASL exchanges (RFC 4422) as POP3 AUTH (RFC 5034) and IMAP AUTHENTICATE (RFC 9051
section 6.2.2) carry them: base64 lines, client responses answering server challenges.

:class:`SaslExchange` records one exchange (the mechanism, an optional initial response,
the client's responses and the server's challenges, a ``*`` cancel) and derives the
credential ``(username, secret, kind)`` for PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195),
XOAUTH2 and OAUTHBEARER (RFC 7628). When the server side is not in the capture, the number
of client lines a mechanism takes (:data:`SaslExchange.EXPECTED`) says which lines are
responses. SMTP AUTH reads the mechanisms its own way (``smtp._Auth``: CRAM-MD5 secrets
in hashcat's form, among other differences), so it does not use this class.
"""
from __future__ import annotations

import base64
import binascii
from types import MappingProxyType

__all__ = ["SaslExchange"]


def _text(b: bytes) -> str:
    return b.decode("utf-8", "backslashreplace")


def _b64(s: str) -> bytes | None:
    s = s.strip()
    if s in ("", "="):
        return b""
    try:
        return base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


class SaslExchange:
    """Collects one SASL exchange (mechanism, client responses, server challenges)
    and turns it into ``(username, secret, kind)`` for PLAIN (RFC 4616), LOGIN,
    CRAM-MD5 (RFC 2195), XOAUTH2 and OAUTHBEARER (RFC 7628). Never raises."""

    __slots__ = ("mechanism", "responses", "challenges", "cancelled", "initial")

    #: client lines expected when the server side is not visible
    EXPECTED = MappingProxyType({"PLAIN": 1, "LOGIN": 2, "CRAM-MD5": 1, "XOAUTH2": 1,
                                 "OAUTHBEARER": 1, "EXTERNAL": 1, "ANONYMOUS": 1})

    def __init__(self, mechanism: str, initial: str | None = None) -> None:
        self.mechanism = mechanism.upper()
        self.responses: list[str] = []
        self.challenges: list[str] = []
        self.cancelled = False
        self.initial = initial is not None
        if initial is not None:
            self.responses.append(initial)

    def expected(self) -> int:
        return self.EXPECTED.get(self.mechanism, 1)

    def wants_response(self, server_seen: bool) -> bool:
        """Is the next client line a SASL response (rather than a new command)?"""
        if server_seen:
            return len(self.responses) - int(self.initial) < len(self.challenges)
        return len(self.responses) < self.expected()

    def client_line(self, line: bytes, server_seen: bool) -> tuple[str, str] | None:
        """Take a client line as the next response when one is due (or it is ``*``, the
        cancel): ``(text, decoded)``, ``decoded`` being the base64 content when it is
        printable (NUL shown as ``\\0``, PLAIN's separator); None when the line is not
        a response (a command follows)."""
        if not (self.wants_response(server_seen) or line.strip() == b"*"):
            return None
        txt = _text(line.strip())
        if txt == "*":
            self.cancelled = True
        self.responses.append(txt)
        dec = _b64(txt)
        if dec and all(32 <= c < 127 or c == 0 for c in dec):
            return txt, dec.replace(b"\x00", b"\\0").decode("ascii")
        return txt, ""

    def challenge(self, txt: str) -> str:
        """Record a server challenge (base64 text); its decoding when printable, else ""."""
        self.challenges.append(txt)
        dec = _b64(txt)
        return dec.decode("ascii") if dec and all(32 <= c < 127 for c in dec) else ""

    def credential(self) -> tuple[str, str, str] | None:
        if self.cancelled or not self.responses:
            return None
        dec = [_b64(r) for r in self.responses]
        m = self.mechanism
        if m == "PLAIN":
            raw = next((d for d in dec if d), None)
            if raw is None:
                return None
            parts = raw.split(b"\x00")
            if len(parts) != 3:
                return None
            return _text(parts[1]), _text(parts[2]), "password"
        if m == "LOGIN":
            vals = [d for d in dec if d is not None]
            if len(vals) < 2:
                return (_text(vals[0]), "", "password") if vals and vals[0] else None
            return _text(vals[-2]), _text(vals[-1]), "password"
        if m == "CRAM-MD5":
            raw = next((d for d in dec if d), None)
            if raw is None:
                return None
            user, _, digest = raw.rpartition(b" ")
            return _text(user), _text(digest), "cram-md5"
        if m in ("XOAUTH2", "OAUTHBEARER"):
            raw = next((d for d in dec if d), None)
            if raw is None:
                return None
            user = token = ""
            for part in raw.split(b"\x01"):
                if part.startswith(b"user="):
                    user = _text(part[5:])
                elif part.lower().startswith(b"auth="):
                    token = _text(part[5:])
                    if token.lower().startswith("bearer "):
                        token = token[7:]
                elif m == "OAUTHBEARER" and part.startswith(b"n,"):
                    for kv in part.split(b","):
                        if kv.startswith(b"a="):
                            user = _text(kv[2:])
            if not user and not token:
                return None
            return user, token, "oauth2"
        return None
