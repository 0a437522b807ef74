"""Recognising TLS: ports, content probe and spec (the dissector: :mod:`dissectors.tls`, imported lazily).

Ports where TLS starts at once (RFC 8314 for 465/993/995, RFC 4217 section 2 for 990, HTTPS 443/8443).
By content on any port: a handshake record (type 22, version 3.x, RFC 8446 section 5.1) whose first
message is a ClientHello (from the client) or a ServerHello (from the server). Sessions that start in
the clear and switch (STARTTLS, STLS, AUTH TLS) reach the TLS dissector from their own dissector
(``StopParsing("tls")``); they keep their protocol's service. Zeek names the service ``ssl``; so do we.

Limits: SSL 2.0 compatible hellos are not recognised.
"""
from __future__ import annotations

from decoder.model import Direction, DissectorSpec, Lazy, ORIG, Presentation, Transport, Verdict

PORTS = frozenset({443, 465, 636, 853, 990, 993, 995, 8443})


def probe(direction: Direction, data: bytes) -> Verdict:
    """YES for a ClientHello record from the client or a ServerHello record from the server; MAYBE while
    fewer than six bytes of a possible record header are there; NO otherwise."""
    if len(data) < 6:
        ok = (not data or data[0] == 22) and (len(data) < 2 or data[1] == 3) and (len(data) < 3 or data[2] <= 4)
        return Verdict.MAYBE if ok else Verdict.NO
    length = int.from_bytes(data[3:5], "big")
    if data[0] != 22 or data[1] != 3 or data[2] > 4 or not 4 <= length <= 2 ** 14 + 2048:
        return Verdict.NO
    want = 1 if direction is ORIG else 2
    return Verdict.YES if data[5] == want else Verdict.NO


SPECS: tuple[DissectorSpec, ...] = (
    DissectorSpec(name="tls", transport=Transport.TCP, ports=PORTS, probe=probe,
                  factory=Lazy("dissectors.tls:TlsDissector"), service="ssl"),
)

#: tls's anomaly names → what each means, in words a student understands (the report shows them).
_ANOMALIES = {
    "tls_record_malformed": "Bytes that should start a TLS record were not a record header (RFC 8446 section "
                            "5.1); decoding this direction stopped.",
    "tls_handshake_malformed": "A TLS handshake message (ClientHello, Certificate…) could not be parsed; what was "
                               "read is shown.",
    "tls_alert_malformed": "A TLS alert record did not have its two bytes (level and description).",
    "tls_certificate_unreadable": "A certificate sent in the TLS handshake could not be decoded as X.509; its "
                                  "names and dates are not shown.",
    "tls_data_before_keys": "Application data came before the TLS handshake had set up encryption, which TLS "
                            "does not allow.",
    "tls_inner_unknown": "This TLS session was decrypted, but the protocol inside is not one wiretale "
                         "recognises; its bytes are counted, not decoded.",
    "tls_inner_stopped": "The protocol inside a decrypted TLS session stopped following its rules; the rest is "
                         "counted, not decoded.",
    "tls_gap": "Bytes of a TLS session are missing from the capture; the record boundaries are lost, so the "
               "rest of that direction is counted, not decoded.",
}

#: How tls is shown: anomaly explanations, report colour, live columns and colour (decoder.model.Presentation).
PRESENTATION = Presentation(anomalies=_ANOMALIES,
                            colours={"ssl": "#6b6f2a"})
