"""Plain-word explanations the HTML report shows next to engine facts.

Command and reply meanings come from the dissectors (the timeline's ``meaning``
column); this module explains the names and codes of the other columns: anomaly names
(the engine's and the dissectors'), Zeek-style ``conn_state`` and ``history`` letters,
the ``tcp_control`` flags the ladder draws, link types and the packet kinds of the summary.
Constant tables, and small lookups over them.

Every anomaly name the code can emit has an explanation: listed in ``ANOMALIES`` (a protocol's own
names come from its probe module's ``PRESENTATION``), or explained by its ending
(``ANOMALY_SUFFIXES``: the families of limits ``*_too_long``, ``*_too_many``…, and ``*_gap``,
``*_truncated``, ``<service>_violation``).
tests/test_anomaly_names.py finds the names in the source with ``ast`` and fails on a missing one.
"""
from __future__ import annotations

from types import MappingProxyType

from dissectors import PRESENTATION

#: Anomaly name → what it means, in words a student understands: the engine's here, each protocol's
#: declared beside it (``PRESENTATION.anomalies`` in dissectors/probes/<proto>.py).
ANOMALIES = MappingProxyType({**PRESENTATION.anomalies,
    "capture_truncated": "The capture file ends in the middle of a packet (the recording was cut off). "
                         "Everything before the cut was decoded.",
    "packet_malformed": "A packet's headers did not make sense (too short or inconsistent), so it was skipped.",
    "dissector_error": "The wiretale decoder itself failed on this session (a bug in wiretale, not in the traffic). "
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
    "range_overlap_differs": "Two HTTP range responses (206) for the same object overlapped with different bytes; "
                             "the assembled object keeps the first copy. The object changed between the requests, "
                             "or one answer was forged.",
    "range_object_too_long": "HTTP range responses cover an object larger than the file size limit; the parts are "
                             "kept, the whole object was not assembled.",
    "ip_fragments_incomplete": "Some fragments of an IP packet never arrived, so the packet could not be rebuilt.",
    "ip_fragment_sets_too_many": "Too many fragmented packets were being rebuilt at once; the oldest were dropped.",
    "ip_fragment_too_long": "A fragmented IP packet would be larger than 64 KiB, which IP does not allow.",
    "ip_fragment_inconsistent_end": "Two fragments disagreed about where the packet ends.",
    # FTP (RFC 959, 2428)
    # HTTP (RFC 9110, 9112)
    # POP3 (RFC 1939), IMAP (RFC 9051), SMTP (RFC 5321)
    # DNS (RFC 1035, 6891, 8945)
    # SNMP (RFC 3416, 3412, X.690 BER)
    # TFTP (RFC 1350, 2347-2349)
    # ONC RPC and NFS (RFC 5531, 1813, 1094)
    # TLS (RFC 8446, 5246)
    # WebSocket (RFC 6455, 7692)
    # HTTP/2 (RFC 9113, 7541)
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

def explain_anomaly(name: str) -> str:
    """A plain-word explanation for an anomaly name ("" when none is known)."""
    if name in ANOMALIES:
        return ANOMALIES[name]
    for suffix, text in ANOMALY_SUFFIXES:
        if name.endswith(suffix):
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

#: The TCP control packets the ladder draws as thin arrows (tcp_control rows), RFC 9293 3.5 and 3.6.
TCP_CONTROL = MappingProxyType({
    "SYN": "TCP handshake 1/3: asks to open a connection (RFC 9293 3.5)",
    "SYN-ACK": "TCP handshake 2/3: agrees to open it",
    "ACK": "TCP handshake 3/3: the connection is open",
    "FIN": "TCP teardown: this side has nothing more to send (RFC 9293 3.6)",
    "RST": "TCP reset: this side aborts the connection",
})

#: pcap link types.
LINKTYPES = MappingProxyType({
    0: "BSD loopback (NULL)", 1: "Ethernet", 101: "raw IP", 108: "OpenBSD loopback", 113: "Linux cooked (SLL)",
    228: "raw IPv4", 229: "raw IPv6", 276: "Linux cooked v2 (SLL2)", 12: "raw IP", 14: "raw IP",
})


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
