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

#: http's anomaly names → what each means, in words a student understands (the report shows them).
_ANOMALIES = {
    "http_body_truncated": "An HTTP body stopped before its announced length: the connection or the capture "
                           "ended first. The extracted file is incomplete.",
    "http_gap": "Bytes of this HTTP connection are missing from the capture; decoding resumed at the next "
                "request or response it could recognise.",
    "http_resync": "After missing or odd bytes, the HTTP decoder skipped ahead to the next recognisable message.",
    "http_response_without_request": "The server sent a response for which no request was seen (the capture "
                                     "probably started after the request).",
    "http_bad_basic_auth": "An Authorization: Basic header did not contain valid base64 user:password.",
    "http_content_length_and_chunked": "A message had both Content-Length and chunked encoding; RFC 9112 says "
                                       "chunked wins. Disagreeing lengths are a known request-smuggling trick.",
    "http_obs_fold": "A header was continued on the next line (obsolete line folding, RFC 9112 5.2).",
    "http_bare_lf": "A line ended with LF alone instead of CR LF.",
    "http_bad_request_line": "A request line was not 'METHOD target HTTP/x.y'; the decoder skipped to the next "
                             "request it could recognise.",
    "http_bad_status_line": "A status line was not 'HTTP/x.y code reason'; the decoder skipped to the next response "
                            "it could recognise.",
    "http_bad_status_code": "A response's status code was below 100, which HTTP does not define.",
    "http_bad_header_line": "A header line had no name, or a continuation line came before any header; it was "
                            "ignored.",
    "http_header_space_before_colon": "A header name was followed by white space before its colon, which RFC 9112 "
                                      "section 5.1 forbids (servers must reject it; some attacks use it).",
    "http_request_line_spacing": "A request line used extra or odd spaces between method, target and version "
                                 "(RFC 9112 section 3 wants one space each).",
    "http_lowercase_method": "A request method was not in upper case. Methods are case-sensitive (RFC 9110 "
                             "section 9.1), so 'get' is not GET.",
    "http_truncated_start_line": "The connection or capture ended in the middle of a request or status line, "
                                 "so that message could not be decoded.",
    "http_resync_skipped": "Bytes that were not a recognisable HTTP message were skipped until the next request or "
                           "response; the detail says how many.",
    "http_bad_content_length": "A Content-Length header was not a plain number (or several disagreed); a request "
                               "was then read without a body, a response's body up to the connection's end.",
    "http_bad_transfer_encoding": "A Transfer-Encoding header did not end with chunked; RFC 9112 section 6.1 says "
                                  "the body then lasts until the connection closes.",
    "http_transfer_encoding_unsupported": "A body used a transfer coding besides chunked (such as gzip as a "
                                          "transfer coding); the chunks were joined but that coding was not undone.",
    "http_bad_chunk_size": "A chunked body's size line was not a hexadecimal number, so the body's framing was "
                           "lost; the decoder skipped to the next message.",
    "http_chunk_size_spacing": "A chunk size line had white space around the number (RFC 9112 section 7.1 allows "
                               "none); it was read anyway.",
    "http_chunk_extra_crlf": "An empty line stood where a chunk size was expected (an extra CR LF after a chunk); "
                             "it was skipped.",
    "http_chunk_missing_crlf": "A chunk's data was not followed by CR LF: the chunk was longer than its declared "
                               "size, or its end was missing.",
    "http_unknown_content_encoding": "A body's Content-Encoding is one wiretale does not decode; the file was saved "
                                     "as sent, still encoded.",
    "http_content_encoding_error": "A compressed body (gzip, deflate, brotli…) was corrupt; what could be "
                                   "decompressed was kept, or the body was saved as sent.",
    "http_bad_multipart": "A multipart/form-data body (an upload) was not well formed; the parts that could be "
                          "read were kept.",
}

#: How http is shown: anomaly explanations, report colour, live columns and colour (decoder.model.Presentation).
PRESENTATION = Presentation(anomalies=_ANOMALIES,
                            colours={"http": "#0f8f7a"},
                            live_columns={"http": ("method", "host", "uri", "status_code", "status_msg",
                                                   "response_body_len")},
                            live_colours={"http": "32"})
