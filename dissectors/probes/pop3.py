"""Recognising POP3: ports, content probe and spec (the dissector: :mod:`dissectors.pop3`, imported lazily).

Port 110. By content: a ``+OK`` greeting (RFC 1939 section 4), or ``CAPA``/``STLS``/``APOP``/``UIDL`` from the
client (RFC 2449, 2595, RFC 1939 section 7). Limits: ``USER``, ``PASS``, ``STAT`` and the like are shared with
FTP and SMTP and stay MAYBE on other ports.

See :mod:`dissectors.probes` for why this is apart from the dissector.
"""
from __future__ import annotations

from decoder.model import Direction, DissectorSpec, Lazy, Presentation, RESP, Transport, Verdict


_CLIENT_YES = frozenset({b"CAPA", b"STLS", b"APOP", b"UIDL"})
_CLIENT_MAYBE = frozenset({b"USER", b"AUTH", b"PASS", b"LIST", b"RETR", b"TOP", b"QUIT",
                           b"NOOP", b"DELE", b"RSET", b"STAT"})


def probe(direction: Direction, data: bytes) -> Verdict:
    """Server: an ``+OK`` greeting → YES (``-ERR`` → MAYBE). Client: ``CAPA``, ``STLS``,
    ``APOP``, ``UIDL`` → YES; ``USER``, ``AUTH``, ``STAT``… are shared with FTP and
    SMTP → MAYBE; anything else → NO."""
    if not data:
        return Verdict.MAYBE
    if direction is RESP:
        if data.startswith(b"+OK"):
            if len(data) == 3:
                return Verdict.MAYBE
            return Verdict.YES if data[3:4] in (b" ", b"\r", b"\n", b"\t") else Verdict.NO
        if data.startswith(b"-ERR"):
            return Verdict.MAYBE if data[4:5] in (b"", b" ", b"\r", b"\n") else Verdict.NO
        if len(data) < 4 and (b"-ERR".startswith(data) or b"+OK".startswith(data)):
            return Verdict.MAYBE
        return Verdict.NO
    line = data.split(b"\n", 1)[0].rstrip(b"\r")
    word = line.split(b" ", 1)[0].upper()
    complete = b"\n" in data or b" " in line or len(line) > 4
    if not complete:
        return (Verdict.MAYBE if any(w.startswith(word) for w in _CLIENT_YES | _CLIENT_MAYBE)
                else Verdict.NO)
    if word in _CLIENT_YES:
        return Verdict.YES
    if word in _CLIENT_MAYBE:
        return Verdict.MAYBE
    return Verdict.NO


SPECS: tuple[DissectorSpec, ...] = (
    DissectorSpec(name="pop3", transport=Transport.TCP, ports=frozenset({110}),
                  probe=probe, factory=Lazy("dissectors.pop3:Pop3Dissector"), service="pop3"),
)

#: pop3's anomaly names → what each means, in words a student understands (the report shows them).
_ANOMALIES = {
    "pop3_bad_command": "A line from the POP3 client was not a POP3 command; it was skipped.",
    "pop3_bad_reply": "A line from the POP3 server was neither +OK nor -ERR (RFC 1939 section 3); it was skipped.",
    "pop3_internal_error": "The POP3 decoder failed on this data (a bug in wiretale, not in the traffic); it "
                           "dropped the buffered bytes and went on.",
}

#: How pop3 is shown: anomaly explanations, report colour, live columns and colour (decoder.model.Presentation).
PRESENTATION = Presentation(anomalies=_ANOMALIES,
                            colours={"pop3": "#a05195"},
                            live_columns={"pop3": ("user", "command", "arg", "reply_status")},
                            live_colours={"pop3": "35"})
