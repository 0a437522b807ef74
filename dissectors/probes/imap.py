"""Recognising IMAP: ports, content probe and spec (the dissector: :mod:`dissectors.imap`, imported lazily).

Port 143. By content: an untagged ``* OK``/``* PREAUTH`` greeting naming IMAP or carrying a CAPABILITY code
(RFC 9051 section 7.1), or a tagged client command such as ``CAPABILITY``, ``LOGIN``, ``SELECT`` (section 6).
Limits: other tagged commands are MAYBE; POP3/SMTP/FTP verbs that happen to look tagged are refused.

See :mod:`dissectors.probes` for why this is apart from the dissector.
"""
from __future__ import annotations

import re
from types import MappingProxyType

from decoder.model import Direction, DissectorSpec, Lazy, Presentation, RESP, Transport, Verdict


COMMAND_MEANINGS = MappingProxyType({
    "CAPABILITY": "asks which capabilities (extensions, auth mechanisms) the server has",
    "NOOP": "does nothing; lets the server send pending updates",
    "LOGOUT": "ends the session; the server says BYE",
    "STARTTLS": "asks to switch to TLS; after OK everything is encrypted",
    "AUTHENTICATE": "starts a SASL login; challenges and answers follow in base64",
    "LOGIN": "logs in with a user name and a password sent in clear text",
    "ENABLE": "turns on protocol extensions",
    "SELECT": "opens a mailbox for reading and changing",
    "EXAMINE": "opens a mailbox read-only",
    "CREATE": "creates a mailbox",
    "DELETE": "deletes a mailbox",
    "RENAME": "renames a mailbox",
    "SUBSCRIBE": "adds a mailbox to the subscribed list",
    "UNSUBSCRIBE": "removes a mailbox from the subscribed list",
    "LIST": "lists mailbox names matching a pattern",
    "LSUB": "lists subscribed mailbox names",
    "NAMESPACE": "asks for the mailbox name prefixes and separators",
    "STATUS": "asks for counters (messages, unseen, next UID) of a mailbox",
    "APPEND": "uploads a message into a mailbox (as a literal)",
    "IDLE": "asks the server to push mailbox changes until the client sends DONE",
    "CHECK": "asks for a mailbox checkpoint",
    "CLOSE": "closes the mailbox, removing messages flagged \\Deleted",
    "UNSELECT": "closes the mailbox without removing anything",
    "EXPUNGE": "permanently removes messages flagged \\Deleted",
    "SEARCH": "asks for the numbers of messages matching criteria",
    "FETCH": "downloads data (flags, envelope, headers, bodies) of messages",
    "STORE": "changes the flags of messages",
    "COPY": "copies messages to another mailbox",
    "MOVE": "moves messages to another mailbox",
    "UID FETCH": "FETCH with unique identifiers instead of sequence numbers",
    "UID SEARCH": "SEARCH answering unique identifiers",
    "UID STORE": "STORE addressed by unique identifiers",
    "UID COPY": "COPY addressed by unique identifiers",
    "UID MOVE": "MOVE addressed by unique identifiers",
    "UID EXPUNGE": "EXPUNGE of the given unique identifiers only",
    "ID": "exchanges client and server software names (RFC 2971)",
    "COMPRESS": "turns on DEFLATE compression of the rest of the connection (RFC 4978)",
    "GETQUOTAROOT": "asks for the quota of a mailbox",
    "XLIST": "lists mailboxes with special-use flags (Gmail extension)",
})
_KNOWN = frozenset(c for c in COMMAND_MEANINGS if not c.startswith("UID ")) | {
    "UID", "GETQUOTA", "SETQUOTA", "GETACL", "SETACL", "MYRIGHTS", "LISTRIGHTS",
    "GETMETADATA", "SETMETADATA", "SORT", "THREAD", "UNAUTHENTICATE", "XAPPLEPUSHSERVICE",
}


_TAG = rb"[^\x00-\x20(){%*\"\\+\x7f]+"


_CMD_RE = re.compile(rb"^(" + _TAG + rb") ([A-Za-z][A-Za-z0-9._-]*)(?: |$)")
_PROBE_YES_CMDS = frozenset({b"CAPABILITY", b"LOGIN", b"AUTHENTICATE", b"STARTTLS", b"SELECT",
                             b"EXAMINE", b"ID", b"UID", b"FETCH", b"LIST", b"LSUB", b"NAMESPACE"})


def probe(direction: Direction, data: bytes) -> Verdict:
    """Server: ``* OK``/``* PREAUTH`` greeting mentioning IMAP (or a CAPABILITY code)
    → YES, ``* OK`` otherwise MAYBE. Client: ``tag CAPABILITY|LOGIN|AUTHENTICATE|…``
    → YES, another tagged IMAP command → MAYBE."""
    if not data:
        return Verdict.MAYBE
    line = data.split(b"\n", 1)[0].rstrip(b"\r")
    complete = b"\n" in data
    if direction is RESP:
        for head in (b"* OK", b"* PREAUTH", b"* BYE"):
            if line[:len(head)].upper() == head:
                if line[len(head):len(head) + 1] not in (b"", b" ", b"\r"):
                    return Verdict.NO
                up = line.upper()
                if b"IMAP" in up or b"CAPABILITY" in up:
                    return Verdict.YES
                return Verdict.MAYBE
            if len(line) < len(head) and head.startswith(line.upper()) and not complete:
                return Verdict.MAYBE
        return Verdict.NO
    m = _CMD_RE.match(line)
    if m is not None and m.group(1).upper() in (b"AUTH", b"USER", b"PASS", b"MAIL", b"RCPT", b"SITE"):
        return Verdict.NO   # POP3/SMTP/FTP commands that happen to look tagged
    if m is None:
        if not complete and len(line) < 64 and re.match(rb"^" + _TAG + rb"(?: [A-Za-z]*)?$", line):
            return Verdict.MAYBE
        return Verdict.NO
    word = m.group(2).upper()
    if word in _PROBE_YES_CMDS:
        return Verdict.YES
    if word.decode("ascii") in _KNOWN:
        return Verdict.MAYBE
    if not complete and m.end() == len(line):
        return Verdict.MAYBE
    return Verdict.NO


SPECS: tuple[DissectorSpec, ...] = (
    DissectorSpec(name="imap", transport=Transport.TCP, ports=frozenset({143}),
                  probe=probe, factory=Lazy("dissectors.imap:ImapDissector"), service="imap"),
)

#: imap's anomaly names → what each means, in words a student understands (the report shows them).
_ANOMALIES = {
    "imap_bad_command": "A line from the IMAP client could not be parsed as a tagged command (RFC 9051); it was "
                        "skipped.",
    "imap_bad_response": "A line from the IMAP server could not be parsed as a response (RFC 9051); it was skipped.",
    "imap_internal_error": "The IMAP decoder failed on this data (a bug in wiretale, not in the traffic); it "
                           "dropped the buffered bytes and went on.",
}

#: How imap is shown: anomaly explanations, report colour, live columns and colour (decoder.model.Presentation).
PRESENTATION = Presentation(anomalies=_ANOMALIES,
                            colours={"imap": "#7a5cc2"},
                            live_columns={"imap": ("user", "command", "arg", "status")},
                            live_colours={"imap": "35"})
