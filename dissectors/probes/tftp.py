"""Recognising TFTP: ports, content probe and spec (the dissector: :mod:`dissectors.tftp`, imported lazily).

Port 69 (requests; a transfer's own ports are reached through an expectation, or by ``data_probe``). By
content: a well-formed RRQ/WRQ (RFC 1350 section 5: printable file name, mode netascii/octet/mail, options of
RFC 2347), a full DATA block of a common size, or an OACK of known options. Limits: a bare ACK or ERROR is
four fixed bytes, too weak alone: MAYBE.

See :mod:`dissectors.probes` for why this is apart from the dissector.
"""
from __future__ import annotations

from decoder.model import Direction, DissectorSpec, Lazy, Presentation, Transport, Verdict


MODES = frozenset({"netascii", "octet", "mail"})
KNOWN_OPTIONS = frozenset({"blksize", "tsize", "timeout", "windowsize", "multicast",
                           "rollover", "utimeout"})
MAX_OPTIONS = 64
RRQ, WRQ, DATA, ACK, ERROR, OACK = 1, 2, 3, 4, 5, 6


MAX_BLKSIZE = 65464


# Full DATA blocks of these sizes are what a transfer met mid-way looks like
# (512 by default; the others are common negotiated blksize values, e.g. PXE).
COMMON_BLKSIZES = frozenset({512, 1024, 1228, 1408, 1428, 1432, 1456, 1468, 1476, 2048,
                             4096, 8192, 16384, 32768, 65464})


def _printable_ascii(b: bytes) -> bool:
    return bool(b) and all(0x20 <= c < 0x7F for c in b)


def _strict_request(data: bytes) -> bool:
    body = data[2:]
    if not body.endswith(b"\0"):
        return False
    parts = body[:-1].split(b"\0")
    if len(parts) < 2 or len(parts) % 2 or len(parts) > 2 + 2 * MAX_OPTIONS:
        return False
    if not _printable_ascii(parts[0]) or parts[1].lower().decode("latin-1") not in MODES:
        return False
    return all(_printable_ascii(p) for p in parts[2:])


def _strict_oack(data: bytes) -> bool:
    body = data[2:]
    if not body.endswith(b"\0"):
        return False
    parts = body[:-1].split(b"\0")
    if not parts or len(parts) % 2 or len(parts) > 2 * MAX_OPTIONS:
        return False
    for i in range(0, len(parts), 2):
        if parts[i].lower().decode("latin-1") not in KNOWN_OPTIONS:
            return False
        if not _printable_ascii(parts[i + 1]):
            return False
    return True


def data_probe(direction: Direction, data: bytes) -> Verdict:
    """Strict recognition of a transfer's first datagram (no request seen):
    YES for a full DATA block of the default or a common negotiated size
    (516 bytes on the wire for 512) or an OACK whose option names are all
    known; MAYBE for other DATA, a bare 4-byte ACK or a well-formed ERROR
    (four fixed bytes are too weak a signature on their own); NO otherwise."""
    if len(data) < 4 or data[0] != 0:
        return Verdict.NO if len(data) >= 2 else Verdict.MAYBE
    op = data[1]
    if op == DATA:
        if len(data) - 4 in COMMON_BLKSIZES:
            return Verdict.YES
        return Verdict.MAYBE if len(data) <= 4 + MAX_BLKSIZE else Verdict.NO
    if op == ACK:
        return Verdict.MAYBE if len(data) == 4 else Verdict.NO
    if op == ERROR:
        code = (data[2] << 8) | data[3]
        msg = data[4:]
        if code <= 8 and msg.endswith(b"\0") and b"\0" not in msg[:-1] and (
                len(msg) == 1 or _printable_ascii(msg[:-1])):
            return Verdict.MAYBE
        return Verdict.NO
    if op == OACK:
        return Verdict.YES if _strict_oack(data) else Verdict.NO
    return Verdict.NO


def probe(direction: Direction, data: bytes) -> Verdict:
    """Probe of the ``tftp`` spec: YES for a well-formed RRQ/WRQ (printable file
    name, mode netascii/octet/mail, printable options) and for what
    :func:`data_probe` accepts; MAYBE for other packets with a TFTP opcode."""
    if len(data) < 2:
        return Verdict.MAYBE
    if data[0] != 0 or not 1 <= data[1] <= 6:
        return Verdict.NO
    if data[1] in (RRQ, WRQ):
        return Verdict.YES if _strict_request(data) else Verdict.MAYBE
    v = data_probe(direction, data)
    return v if v is Verdict.YES else Verdict.MAYBE


def is_reply(data: bytes) -> bool | None:
    """False for a well-formed RRQ/WRQ (only a client sends it), True for a strict OACK (only a server
    does), None for DATA, ACK and ERROR, which either side sends."""
    if len(data) < 4 or data[0] != 0:
        return None
    if data[1] in (RRQ, WRQ):
        return False if _strict_request(data) else None
    return True if data[1] == OACK and _strict_oack(data) else None


SPECS: tuple[DissectorSpec, ...] = (
    DissectorSpec(
        name="tftp", transport=Transport.UDP, ports=frozenset({69}), probe=probe,
        factory=Lazy("dissectors.tftp:TftpDissector"), service="tftp", is_reply=is_reply,
        assemble=Lazy("dissectors.tftp:assemble"), assemble_tables=("conn", "tftp"),
    ),
    DissectorSpec(
        name="tftp-data", transport=Transport.UDP, ports=frozenset(), probe=data_probe,
        factory=Lazy("dissectors.tftp:TftpDissector"), service="tftp", expect_only=True,
    ),
)

#: tftp's anomaly names → what each means, in words a student understands (the report shows them).
_ANOMALIES = {
    "tftp_missing_blocks": "Some TFTP data blocks never appeared in the capture; the file has holes.",
    "tftp_transfer_incomplete": "A TFTP transfer ended without its final short block.",
    "tftp_duplicate_block": "A TFTP block was sent twice (a retransmission after a lost ACK); the copy was ignored.",
    "tftp_bad_opcode": "A datagram of a TFTP transfer did not start with a TFTP opcode (1 to 6).",
    "tftp_bad_request": "A TFTP read or write request lacked its transfer mode (RFC 1350).",
    "tftp_bad_mode": "A TFTP request named a transfer mode other than netascii, octet or mail.",
    "tftp_bad_option": "A TFTP option (RFC 2347) was malformed: a name without a value, or a server answer "
                       "larger than what was asked.",
    "tftp_bad_block": "A TFTP DATA block number did not fit the transfer (it would come before its first "
                      "block); the block was ignored.",
    "tftp_unterminated_string": "A file name, mode or option in a TFTP packet did not end with a zero byte.",
    "tftp_trailing_bytes": "A TFTP ACK carried extra bytes after its block number.",
    "tftp_request_from_server": "A TFTP request came from the side that answered first; the roles were swapped to "
                                "follow it.",
    "tftp_data_wrong_direction": "A TFTP DATA block came from the side that should be receiving the file (a read "
                                 "request's client, or a write request's server); it was not added to the file.",
    "tftp_data_after_error": "A TFTP DATA block arrived after an ERROR had ended the transfer; it was ignored.",
    "tftp_transfer_aborted": "A TFTP transfer was stopped by an ERROR packet before its last block; the saved file "
                             "is incomplete. The detail gives the error code and message.",
    "tftp_blksize_inferred": "The capture lacks the TFTP option negotiation, so the block size was taken from the "
                             "first data block.",
    "tftp_late_oack": "A TFTP option acknowledgement (OACK, RFC 2347) came after data had started; it was ignored.",
    "tftp_oack_unrequested_option": "A TFTP server acknowledged options the client had not asked for (RFC 2347 "
                                    "forbids it).",
    "tftp_option_refused": "The client refused the server's TFTP options with ERROR 8 (RFC 2347), ending the "
                           "transfer.",
}

#: How tftp is shown: anomaly explanations, report colour, live columns and colour (decoder.model.Presentation).
PRESENTATION = Presentation(anomalies=_ANOMALIES,
                            colours={"tftp": "#9c7a1e"},
                            live_columns={"tftp": ("wrq", "fname", "size", "complete")},
                            live_colours={"tftp": "33"})
