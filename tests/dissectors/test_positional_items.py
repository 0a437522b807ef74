"""The items some dissectors build with positional arguments in their per-message paths (a call with tens of
keywords costs microseconds more in CPython 3.11 than the same call with positions): their fields must stay in
the order those calls follow. Changing a field list here means changing that call (its comments name the
fields) in the same commit."""
from __future__ import annotations

from dataclasses import fields

import pytest

from dissectors.dns import DnsMessage, DnsTransaction
from dissectors.http import HttpTransaction
from dissectors.snmp import SnmpPdu, SnmpPduRecord

PINNED = {
    DnsMessage: ("ts direction trans_id is_response opcode rcode flags query qtype qclass qdcount answers authority "
                 "additional edns length complete"),
    DnsTransaction: ("ts proto trans_id rtt query qclass qclass_name qtype qtype_name rcode rcode_name AA TC RD RA Z "
                     "answers TTLs rejected opcode opcode_name AD CD saw_query saw_reply retransmissions "
                     "resp_messages auth addl answers_detail auth_detail addl_detail edns_udp_size edns_version "
                     "edns_do edns_options ecs tsig zone_updates variant query_from llmnr_conflict llmnr_tentative"),
    SnmpPdu: ("ts direction pdu_type version community request_id msg_id error_status error_index varbinds rtt "
              "encrypted user generic_trap enterprise"),
    SnmpPduRecord: ("ts is_orig pdu_type version community request_id error_status error_index non_repeaters "
                    "max_repetitions varbinds rtt enterprise agent_addr generic_trap specific_trap time_stamp "
                    "msg_id msg_max_size msg_flags security_model engine_id engine_boots engine_time user "
                    "context_engine_id context_name encrypted"),
    HttpTransaction: ("ts trans_depth method host uri referrer version user_agent origin request_body_len "
                      "response_body_len status_code status_msg info_code info_msg username orig_fuids "
                      "orig_filenames orig_mime_types resp_fuids resp_filenames resp_mime_types cookies set_cookies "
                      "location content_encoding range content_range partial complete flags request_version "
                      "request_headers response_headers query_string request_header_size response_header_size "
                      "request_body_wire_len response_body_wire_len request_end_ts response_ts response_end_ts "
                      "stream_id"),
}


@pytest.mark.parametrize("cls", list(PINNED), ids=lambda c: c.__name__)
def test_fields_keep_the_order_the_positional_calls_follow(cls):
    assert tuple(f.name for f in fields(cls)) == tuple(PINNED[cls].split())
