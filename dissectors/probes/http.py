"""Recognising HTTP: ports, content probe and spec (the dissector: :mod:`dissectors.http`, imported lazily).

The usual web ports (``HTTP_PORTS``). By content, on any port: a request line ``METHOD SP target SP HTTP/x.y``
(RFC 9112 section 3), a status line ``HTTP/x.y NNN`` (section 4), or an HTTP/0.9 ``GET /path``. Limits: MAYBE
while a plausible first line is still incomplete (up to 4 KiB).

See :mod:`dissectors.probes` for why this is apart from the dissector.
"""
from __future__ import annotations

import re

from decoder.model import Direction, DissectorSpec, Lazy, Presentation, Transport, Verdict


_PROBE_REQ = re.compile(rb"[A-Z][A-Z0-9_\-]{1,23} [^ \t\r\n]+ HTTP/\d\.\d\r?\n")
_PROBE_REQ09 = re.compile(rb"GET /[^ \t\r\n]*\r?\n")
_PROBE_STATUS = re.compile(rb"HTTP/\d\.\d \d{3}[ \r\n]")
_PROBE_PARTIAL = re.compile(rb"[A-Z][A-Z0-9_\-]{0,23}(?: [^ \t\r\n]*(?: H?T?T?P?/?\d?\.?\d?\r?)?)?")
HTTP_PORTS = frozenset({80, 8080, 8000, 8008, 3128})


def probe(direction: Direction, data: bytes) -> Verdict:
    """YES on ``METHOD SP target SP HTTP/x.y`` or ``HTTP/x.y NNN``; NO when the first
    bytes cannot start either, and on the HTTP/2 preface; MAYBE while a plausible first line is incomplete."""
    if not data:
        return Verdict.MAYBE
    if data.startswith(b"PRI * HTTP/2.0"):     # the HTTP/2 connection preface (RFC 9113 s.3.4), not HTTP/1.x
        return Verdict.NO
    head = data.lstrip(b"\r\n")
    if not head:
        return Verdict.MAYBE
    if _PROBE_STATUS.match(head) or _PROBE_REQ.match(head) or _PROBE_REQ09.match(head):
        return Verdict.YES
    nl = head.find(b"\n")
    first = head if nl < 0 else head[:nl]
    if b"HTTP/"[:len(first)] == first[:5] or first.startswith(b"HTTP/"):
        if nl < 0 and len(first) < 16:
            return Verdict.MAYBE
        return Verdict.NO
    m = _PROBE_PARTIAL.match(first)
    if m and nl < 0 and len(first) < 4096:
        return Verdict.MAYBE
    return Verdict.NO


SPECS: tuple[DissectorSpec, ...] = (
    DissectorSpec(
        name="http",
        transport=Transport.TCP,
        ports=HTTP_PORTS,
        probe=probe,
        factory=Lazy("dissectors.http:HttpDissector"),
        service="http",
        assemble=Lazy("dissectors.http:assemble"),
        assemble_tables=("http",),
    ),
)

#: How http is shown: report colour, live columns and colour (decoder.model.Presentation).
PRESENTATION = Presentation(colours={"http": "#0f8f7a"},
                            live_columns={"http": ("method", "host", "uri", "status_code", "status_msg",
                                                   "response_body_len")},
                            live_colours={"http": "32"})
