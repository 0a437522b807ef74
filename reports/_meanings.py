"""Plain-word explanations the HTML report shows next to engine facts.

Command and reply meanings come from the dissectors (the timeline's ``meaning``
column); this module only explains what the *engine* reports: anomaly names,
Zeek-style ``conn_state`` and ``history`` letters, link types and the packet
kinds of the summary. Everything is a constant table.
"""
from __future__ import annotations

from types import MappingProxyType

#: Anomaly name → what it means, in words a student understands.
ANOMALIES = MappingProxyType({
    "capture_truncated": "The capture file ends in the middle of a packet (the recording was cut off). "
                         "Everything before the cut was decoded.",
    "packet_malformed": "A packet's headers did not make sense (too short or inconsistent), so it was skipped.",
    "dissector_error": "wiretale itself failed on this session (a bug in wiretale, not in the traffic). "
                       "The session is still listed, but its decoding stopped at that point.",
    "protocol_violation": "The bytes did not follow the protocol that was first guessed for this connection, "
                          "so decoding stopped and the session is shown as raw bytes.",
    "tcp_overlap_differs": "Two copies of the same TCP bytes (a retransmission or an overlap) carried different "
                           "content. wiretale kept the first copy, as most operating systems do. This can be "
                           "an attempt to evade inspection.",
    "flows_too_many": "More connections were open at once than wiretale's limit; the least recently active ones "
                      "were closed early.",
    "expectations_too_many": "Too many announced data connections (FTP/TFTP) were waiting at once; the oldest "
                             "announcement was forgotten.",
    "expectation_nat_match": "A data connection was matched to its control session by port only: the address "
                             "announced inside the protocol differs from the real one (typical behind NAT).",
    "file_size_capped": "An extracted file was larger than the size limit; only its beginning was saved.",
    "files_too_many": "More files were found than the limit allows; the rest were not saved.",
    "ip_fragment_overlap_differs": "Two IP fragments overlapped with different bytes; the first copy was kept.",
    "ip_fragments_incomplete": "Some fragments of an IP packet never arrived, so the packet could not be rebuilt.",
    "ip_fragment_sets_too_many": "Too many fragmented packets were being rebuilt at once; the oldest were dropped.",
    "ip_fragment_too_long": "A fragmented IP packet would be larger than 64 KiB, which IP does not allow.",
    "ip_fragment_inconsistent_end": "Two fragments disagreed about where the packet ends.",
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
    "smtp_message_incomplete": "An e-mail transfer did not finish (no final '.' line); the saved message is partial.",
    "smtp_reply_code_mismatch": "The lines of one multi-line SMTP reply carried different codes.",
    "smtp_content_gap": "Bytes of a mail message are missing from the capture; the message is incomplete.",
    "ftp_data_gap": "Bytes of an FTP data transfer are missing; the extracted file is incomplete.",
    "ftp_content_gap": "Bytes of the FTP control connection are missing from the capture.",
    "dns_question_mismatch": "A DNS response answered a different question than the query with the same id.",
    "dns_name_compression_loop": "A DNS name pointed back into itself (a compression loop, a classic parser trap).",
    "dns_message_truncated": "A DNS message ended before all its records were read.",
    "snmp_malformed": "An SNMP message was not valid BER encoding.",
    "tftp_missing_blocks": "Some TFTP data blocks never appeared in the capture; the file has holes.",
    "tftp_transfer_incomplete": "A TFTP transfer ended without its final short block.",
    "tftp_duplicate_block": "A TFTP block was sent twice (a retransmission after a lost ACK); the copy was ignored.",
    "telnet_sb_unterminated": "A Telnet option subnegotiation (IAC SB) was never closed by IAC SE.",
})

#: Name-ending → explanation for names not listed above.
ANOMALY_SUFFIXES = (
    ("_too_long", "Something in the traffic was longer than wiretale's limit; the excess was skipped and "
                  "decoding continued."),
    ("_too_many", "There were more items than wiretale's limit allows; the rest were not kept."),
    ("_too_deep", "Nesting went deeper than wiretale's limit; the deeper parts were skipped."),
    ("_capped", "Output reached a size limit; the rest was not kept."),
    ("_limit", "A safety limit was reached; the rest was not decoded."),
    ("_gap", "Bytes are missing from the capture here (the recorder dropped them or the capture started late); "
             "the decoder skipped ahead."),
    ("_truncated", "A unit ended early: the data stopped before its announced length."),
    ("_violation", "The traffic broke the protocol's rules after it had been recognised."),
)

ANOMALY_PREFIXES = (
    ("_bad_", "A malformed protocol element (it does not follow the RFC syntax); wiretale noted it and went on."),
    ("_malformed", "A malformed protocol element; wiretale noted it and went on."),
    ("_unknown", "A value wiretale does not know; it was kept as it was."),
)


def explain_anomaly(name: str) -> str:
    """A plain-word explanation for an anomaly name ("" when none is known)."""
    if name in ANOMALIES:
        return ANOMALIES[name]
    for suffix, text in ANOMALY_SUFFIXES:
        if name.endswith(suffix):
            return text
    for part, text in ANOMALY_PREFIXES:
        if part in name:
            return text
    return ""


#: Zeek conn_state values.
CONN_STATES = MappingProxyType({
    "S0": "a connection attempt was seen, but no reply",
    "S1": "established, not terminated",
    "SF": "normal establishment and termination",
    "REJ": "connection attempt rejected",
    "S2": "established; the client tried to close, no reply from the server seen",
    "S3": "established; the server tried to close, no reply from the client seen",
    "RSTO": "established; the client aborted it (RST)",
    "RSTR": "established; the server aborted it (RST)",
    "RSTOS0": "the client sent a SYN then a RST; no SYN-ACK from the server",
    "RSTRH": "the server sent a SYN-ACK then a RST; no SYN from the client",
    "SH": "the client sent a SYN then a FIN; no SYN-ACK from the server (half-open)",
    "SHR": "the server sent a SYN-ACK then a FIN; no SYN from the client",
    "OTH": "no SYN seen: the capture started in the middle of the connection",
})

#: Zeek history letters (upper case: the client, lower case: the server).
HISTORY = MappingProxyType({
    "s": "SYN", "h": "SYN-ACK", "a": "pure ACK", "d": "data", "f": "FIN", "r": "RST",
    "t": "retransmitted data", "g": "a gap (bytes missing)", "^": "roles flipped (the first packet came from the server)",
    "c": "bad checksum", "w": "zero window", "i": "inconsistent packet", "q": "multi-flag packet",
})

#: pcap link types.
LINKTYPES = MappingProxyType({
    0: "BSD loopback (NULL)", 1: "Ethernet", 101: "raw IP", 108: "OpenBSD loopback", 113: "Linux cooked (SLL)",
    228: "raw IPv4", 229: "raw IPv6", 276: "Linux cooked v2 (SLL2)", 12: "raw IP", 14: "raw IP",
})


def explain_history(history: str) -> list[tuple[str, str, str]]:
    """Each history letter as (letter, who, what)."""
    out = []
    for ch in history or "":
        if ch == "^":
            out.append((ch, "", HISTORY["^"]))
            continue
        what = HISTORY.get(ch.lower(), "?")
        who = "client" if ch.isupper() else "server"
        out.append((ch, who, what))
    return out


def explain_packet_kind(kind: str) -> str:
    if kind == "tcp":
        return "TCP segments, reassembled into connections"
    if kind == "udp":
        return "UDP datagrams"
    if kind == "ip fragment":
        return "IP fragments, put back together before decoding"
    if kind.startswith("other IP protocol"):
        return "IP packets of a protocol wiretale does not follow (counted, not decoded)"
    if kind.startswith("skipped"):
        return "not decoded: " + kind.partition(": ")[2]
    return ""
