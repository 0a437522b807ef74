"""Recognising HTTP/2 in the clear with prior knowledge (RFC 9113 section 3.3): the client's connection
preface ``PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n`` (section 3.4). The dissector is :mod:`dissectors.http2`
(imported lazily); inside TLS it is chosen by ALPN ``h2`` (:mod:`dissectors.tls`).

The ``h2c`` upgrade from HTTP/1.1 (``Upgrade: h2c``, RFC 7540 section 3.2, removed by RFC 9113) reaches the
dissector from HTTP's 101 (``decoder.model.SWITCHES``). Limits: no well-known port.
"""
from __future__ import annotations

from decoder.model import Direction, DissectorSpec, Lazy, ORIG, Presentation, Transport, Verdict

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def probe(direction: Direction, data: bytes) -> Verdict:
    """Client: the connection preface → YES (a prefix of it → MAYBE). Server: its first frame must be a
    SETTINGS frame on stream 0 with a payload of 6-byte settings (RFC 9113 s.3.4, 6.5): MAYBE while it can be
    one (it says little alone), NO as soon as it cannot, so other flows are not kept waiting."""
    if direction is not ORIG:
        if len(data) >= 3 and int.from_bytes(data[:3], "big") % 6:
            return Verdict.NO
        if len(data) >= 4 and data[3] != 0x4:
            return Verdict.NO
        if len(data) >= 5 and data[4] not in (0, 1):
            return Verdict.NO
        return Verdict.NO if len(data) >= 9 and data[5:9] != b"\0\0\0\0" else Verdict.MAYBE
    if data.startswith(PREFACE):
        return Verdict.YES
    return Verdict.MAYBE if PREFACE.startswith(data) else Verdict.NO


SPECS: tuple[DissectorSpec, ...] = (
    DissectorSpec(name="http2", transport=Transport.TCP, ports=frozenset(), probe=probe,
                  factory=Lazy("dissectors.http2:Http2Dissector"), service="http2"),
)

#: http2's anomaly names → what each means, in words a student understands (the report shows them).
_ANOMALIES = {
    "http2_gap": "Bytes of an HTTP/2 connection are missing from the capture; frame boundaries and the "
                 "compressed-header state are lost, so the rest of that direction is not decoded.",
    "http2_malformed": "HTTP/2 frames broke the protocol's rules (no connection preface, an interrupted header "
                       "block, a frame larger than allowed); decoding of that direction stopped.",
    "http2_frame_malformed": "An HTTP/2 frame could not be parsed (RFC 9113 section 6); it was skipped.",
    "http2_hpack_error": "A compressed HTTP/2 header block (HPACK, RFC 7541) could not be decoded; the header "
                         "table is lost, so that direction is not decoded further.",
}

#: How http2 is shown: anomaly explanations, report colour, live columns and colour (decoder.model.Presentation).
PRESENTATION = Presentation(anomalies=_ANOMALIES,
                            colours={"http2": "#0b6e5e"})
