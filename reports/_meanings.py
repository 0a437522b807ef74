"""Plain-word explanations the HTML report shows next to engine facts.

Command and reply meanings come from the dissectors (the timeline's ``meaning``
column); this module explains the names and codes of the other columns: anomaly names
(the engine's and the dissectors'), Zeek-style ``conn_state`` and ``history`` letters,
link types and the packet kinds of the summary. Everything is a constant table.

Every anomaly name the code can emit has an explanation: listed in ``ANOMALIES``, or, for the
families of limits (``*_too_long``, ``*_too_many``…) and ``<service>_violation``, by its ending.
tests/test_anomaly_names.py finds the names in the source with ``ast`` and fails on a missing one.
"""
from __future__ import annotations

from types import MappingProxyType

#: Anomaly name → what it means, in words a student understands.
ANOMALIES = MappingProxyType({
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
    "telnet_sb_empty": "A Telnet subnegotiation was empty: IAC SB followed at once by IAC SE, with no option "
                       "number.",
    "telnet_sb_malformed": "A Telnet option subnegotiation did not follow its option's RFC (for example a command "
                           "other than IAC SE inside it, or neither IS nor SEND); it was skipped.",
    "telnet_auth_malformed": "A Telnet AUTHENTICATION subnegotiation (RFC 2941) lacked its authentication type "
                             "and modifier pair.",
    "telnet_encrypt_keyid_oversized": "A Telnet ENCRYPT subnegotiation carried a key id longer than servers "
                                      "accept (64 bytes). The CVE-2011-4862 telnetd buffer-overflow attack looks "
                                      "exactly like this.",
    # FTP (RFC 959, 2428)
    "ftp_bad_command": "A line from the FTP client was not an FTP command (RFC 959 section 5.3); it was skipped.",
    "ftp_bad_reply": "A line from the FTP server was not a reply (three digits then text, RFC 959 section 4.2).",
    "ftp_bad_port": "The address in a PORT or EPRT command could not be read (RFC 959 h1,h2,h3,h4,p1,p2 or "
                    "RFC 2428 |proto|addr|port|), so its data connection cannot be linked.",
    "ftp_bad_pasv": "A 227 (passive mode) reply did not carry a readable h1,h2,h3,h4,p1,p2 address, so its data "
                    "connection cannot be linked to this session.",
    "ftp_bad_epsv": "A 229 (extended passive mode) reply did not carry a readable (|||port|), so its data "
                    "connection cannot be linked to this session.",
    "ftp_reply_unterminated": "A multi-line FTP reply (code and '-') never got its last line (code and a space) "
                              "before the connection or capture ended.",
    # HTTP (RFC 9110, 9112)
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
    # POP3 (RFC 1939), IMAP (RFC 9051), SMTP (RFC 5321)
    "pop3_bad_command": "A line from the POP3 client was not a POP3 command; it was skipped.",
    "pop3_bad_reply": "A line from the POP3 server was neither +OK nor -ERR (RFC 1939 section 3); it was skipped.",
    "pop3_internal_error": "The POP3 decoder failed on this data (a bug in wiretale, not in the traffic); it "
                           "dropped the buffered bytes and went on.",
    "imap_bad_command": "A line from the IMAP client could not be parsed as a tagged command (RFC 9051); it was "
                        "skipped.",
    "imap_bad_response": "A line from the IMAP server could not be parsed as a response (RFC 9051); it was skipped.",
    "imap_internal_error": "The IMAP decoder failed on this data (a bug in wiretale, not in the traffic); it "
                           "dropped the buffered bytes and went on.",
    "smtp_bad_command": "A line from the SMTP client was not a command (RFC 5321 section 4.1); it was skipped.",
    "smtp_bad_reply": "A line from the SMTP server was not a reply (three digits, RFC 5321 section 4.2).",
    "smtp_bad_bdat": "A BDAT command (RFC 3030 CHUNKING) had no valid size, so its data chunk cannot be framed.",
    "smtp_partial_line": "The connection ended with bytes that were not a complete line (no CR LF).",
    "smtp_reply_incomplete": "A multi-line SMTP reply was cut off before its last line; what arrived is shown.",
    # DNS (RFC 1035, 6891, 8945)
    "dns_trailing_bytes": "A DNS message had extra bytes after its last record. Harmless padding, or data hidden "
                          "in DNS (a covert channel).",
    "dns_rdata_trailing": "A DNS record's data (RDATA) was longer than its type needs; the extra bytes were "
                          "ignored.",
    "dns_rdata_malformed": "A DNS record's data (RDATA) did not fit its type's format; the record is shown as "
                           "raw bytes.",
    "dns_name_bad_pointer": "A compressed DNS name pointed outside the message (RFC 1035 section 4.1.4), so it "
                            "could not be read.",
    "dns_name_forward_pointer": "A compressed DNS name pointed forward in the message. RFC 1035 expects pointers "
                                "to earlier names; forward pointers are a parser trap.",
    "dns_opt_misplaced": "An EDNS OPT record was outside the additional section (RFC 6891 section 6.1.1).",
    "dns_opt_bad_owner": "An EDNS OPT record was owned by a name other than the root (RFC 6891 section 6.1.2).",
    "dns_opt_duplicate": "A message carried more than one EDNS OPT record; RFC 6891 section 6.1.1 allows one. "
                         "The first was used.",
    "dns_opt_malformed": "An EDNS option in the OPT record was cut short or ran past the record.",
    "dns_tsig_misplaced": "A TSIG signature record was not the last record of the message (RFC 8945 section 5.1).",
    "dns_tcp_empty_message": "DNS over TCP announced a message of length zero (RFC 1035 section 4.2.2).",
    "dns_tcp_truncated_message": "DNS over TCP: the connection ended before the message its length prefix "
                                 "announced was complete.",
    "dns_tcp_resync": "DNS over TCP: the two-byte length prefixes stopped making sense; the decoder skipped bytes "
                      "until it found a message again.",
    # SNMP (RFC 3416, 3412, X.690 BER)
    "snmp_bad_value": "An SNMP value did not fit its type (for example an IpAddress that is not 4 bytes); it is "
                      "shown in hexadecimal.",
    "snmp_trailing_bytes": "An SNMP message carried extra bytes after a value or after its variable bindings.",
    "snmp_unknown_pdu": "An SNMP message carried a PDU type that SNMP does not define (RFC 3416 section 3).",
    "snmp_v3_flags_mismatch": "An SNMPv3 message's privacy flag disagreed with its content (encrypted data without "
                              "the flag, or the flag on plaintext).",
    "snmp_ber_bad_length": "An SNMP message used a BER length that X.690 forbids (reserved octet, or too many "
                           "length octets).",
    "snmp_ber_bad_oid": "An object identifier (OID) in an SNMP message was not valid BER.",
    "snmp_ber_empty_integer": "An SNMP INTEGER had no content bytes, which BER forbids.",
    "snmp_ber_indefinite_length": "An SNMP message used BER's indefinite length form, which SNMP's encoding rules "
                                  "forbid.",
    "snmp_ber_length_past_end": "A BER length in an SNMP message pointed past the end of the datagram: the message "
                                "was cut or lies about its size.",
    "snmp_ber_non_minimal_tag": "An SNMP PDU tag used BER's long (high-tag-number) form where the short one "
                                "fits.",
    "snmp_ber_unexpected_tag": "An SNMP message had a BER element of the wrong type where the RFC requires another "
                               "one.",
    "snmp_ber_unknown_pdu": "An SNMP message carried a PDU type that SNMP does not define.",
    "snmp_ber_unknown_version": "An SNMP message had a version number other than 1, 2c or 3.",
    # TFTP (RFC 1350, 2347-2349)
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
    # ONC RPC and NFS (RFC 5531, 1813, 1094)
    "rpc_malformed": "An RPC message (the envelope of NFS, MOUNT and portmapper calls, RFC 5531) could not be "
                     "read; it was skipped.",
    "rpc_reply_without_call": "An RPC reply answered a call (by its xid) that is not in the capture, so what it "
                              "answers is unknown; the capture probably started after the call.",
    "rpc_gap": "Bytes of this RPC-over-TCP connection are missing from the capture; the call or reply they held "
               "is lost, and decoding resumed at the next RPC record found.",
    "rpc_midstream": "The capture starts in the middle of an RPC message of this connection; the bytes before "
                     "the first whole message were skipped.",
    "rpc_record_too_long": "An RPC message was longer than wiretale's limit (rpc_max_record); it was skipped and "
                           "the next message decoded.",
    "nfs_reorder_limit": "NFS reads or writes of one file arrived far ahead of a missing part; the missing part "
                         "was declared a gap in the extracted file (never filled with zeros).",
    "nfs_handles_too_many": "More NFS file handles than wiretale's limit appeared in one connection; later ones are "
                            "shown without their path.",
    "nfs_files_too_many": "More files were read or written at once in one NFS connection than wiretale's limit; "
                          "the others were not extracted.",
    # TLS (RFC 8446, 5246)
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
    # WebSocket (RFC 6455, 7692)
    "websocket_gap": "Bytes of a WebSocket connection are missing from the capture; frame boundaries are lost, "
                     "so the rest of that direction is not decoded.",
    "websocket_malformed": "A WebSocket frame broke the protocol's rules (an unknown opcode, a continuation "
                           "with no message, a control frame too long); it was skipped or decoding stopped.",
    "websocket_unmasked_client_frame": "A client sent a WebSocket frame without masking it, which RFC 6455 "
                                       "forbids (section 5.1); it was decoded anyway.",
    "websocket_unknown_extension": "A WebSocket frame used an extension wiretale does not know (RSV bits); "
                                   "the message is kept as sent.",
    "websocket_inflate_error": "A compressed WebSocket message (permessage-deflate, RFC 7692) could not be "
                               "decompressed; it is incomplete.",
    # HTTP/2 (RFC 9113, 7541)
    "http2_gap": "Bytes of an HTTP/2 connection are missing from the capture; frame boundaries and the "
                 "compressed-header state are lost, so the rest of that direction is not decoded.",
    "http2_malformed": "HTTP/2 frames broke the protocol's rules (no connection preface, an interrupted header "
                       "block, a frame larger than allowed); decoding of that direction stopped.",
    "http2_frame_malformed": "An HTTP/2 frame could not be parsed (RFC 9113 section 6); it was skipped.",
    "http2_hpack_error": "A compressed HTTP/2 header block (HPACK, RFC 7541) could not be decoded; the header "
                         "table is lost, so that direction is not decoded further.",
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
