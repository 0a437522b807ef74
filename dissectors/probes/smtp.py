"""Recognising SMTP: ports, content probe and spec (the dissector: :mod:`dissectors.smtp`, imported lazily).

Ports 25, 587 and 2525. By content: a ``220`` greeting naming mail software (RFC 5321 section 4.2, the reply
format of 4.2.1), or a client opening with ``EHLO``/``HELO`` (4.1.1.1) or ``MAIL FROM:`` (4.1.1.2). Limits: a
greeting that names no mail software is only MAYBE, so SMTP on an unknown port with a bare ``220`` banner is
found only once the client speaks.

See :mod:`dissectors.probes` for why this is apart from the dissector.
"""
from __future__ import annotations

import re

from decoder.model import Direction, DissectorSpec, Lazy, Presentation, RESP, Transport, Verdict


_REPLY_RE = re.compile(rb"^([2-5][0-9][0-9])(?:([ -])(.*)|)$", re.S)
_SMTP_WORDS = (b"smtp", b"esmtp", b"mail", b"postfix", b"exim", b"sendmail", b"exchange",
               b"qmail", b"mta", b"mx")
_OTHER_CLIENT = (b"GET ", b"POST", b"HEAD", b"PUT ", b"USER", b"PASS", b"+OK", b"-ERR",
                 b"* OK", b"SSH-", b"\x16\x03", b"CAPA", b"STLS")


def probe(direction: Direction, data: bytes) -> Verdict:
    """SMTP by content: a ``220`` greeting naming mail software, or EHLO/HELO."""
    if not data:
        return Verdict.MAYBE
    if direction == RESP:
        if len(data) < 4:
            return Verdict.MAYBE if data.isdigit() else Verdict.NO
        if data[:3] == b"220" and data[3:4] in (b" ", b"-"):
            first = data.split(b"\n", 1)[0].lower()
            if b"ftp" in first:
                return Verdict.NO
            if any(w in first for w in _SMTP_WORDS):
                return Verdict.YES
            return Verdict.MAYBE
        if _REPLY_RE.match(data.split(b"\n", 1)[0].rstrip(b"\r")):
            return Verdict.MAYBE
        return Verdict.NO
    head = data[:5].upper()
    if head in (b"EHLO ", b"HELO "):
        return Verdict.YES
    if len(data) < 5 and (b"EHLO ".startswith(head) or b"HELO ".startswith(head)):
        return Verdict.MAYBE
    if head.startswith(b"MAIL") and data[4:11].upper().lstrip().startswith(b"FROM:"):
        return Verdict.YES
    if any(data.startswith(o) for o in _OTHER_CLIENT):
        return Verdict.NO
    # other binary or text: MAYBE (a capture may start inside DATA, and clients do send
    # junk to SMTP servers); content detection on unknown ports needs a YES anyway
    return Verdict.MAYBE


SPECS: tuple[DissectorSpec, ...] = (
    DissectorSpec(name="smtp", transport=Transport.TCP, ports=frozenset({25, 587, 2525}),
                  probe=probe, factory=Lazy("dissectors.smtp:SmtpDissector"), service="smtp"),
)

#: smtp's anomaly names → what each means, in words a student understands (the report shows them).
_ANOMALIES = {
    "smtp_message_incomplete": "An e-mail transfer did not finish (no final '.' line); the saved message is partial.",
    "smtp_reply_code_mismatch": "The lines of one multi-line SMTP reply carried different codes.",
    "smtp_content_gap": "Bytes of a mail message are missing from the capture; the message is incomplete.",
    "smtp_bad_command": "A line from the SMTP client was not a command (RFC 5321 section 4.1); it was skipped.",
    "smtp_bad_reply": "A line from the SMTP server was not a reply (three digits, RFC 5321 section 4.2).",
    "smtp_bad_bdat": "A BDAT command (RFC 3030 CHUNKING) had no valid size, so its data chunk cannot be framed.",
    "smtp_partial_line": "The connection ended with bytes that were not a complete line (no CR LF).",
    "smtp_reply_incomplete": "A multi-line SMTP reply was cut off before its last line; what arrived is shown.",
}

#: How smtp is shown: anomaly explanations, report colour, live columns and colour (decoder.model.Presentation).
PRESENTATION = Presentation(anomalies=_ANOMALIES,
                            colours={"smtp": "#d9822b"},
                            live_columns={"smtp": ("helo", "mailfrom", "rcptto", "subject", "msg_size", "last_reply")},
                            live_colours={"smtp": "35"})
