"""Recognising Telnet: ports, content probe and spec (the dissector: :mod:`dissectors.telnet`, imported lazily).

Port 23. By content: IAC followed by WILL/WONT/DO/DONT/SB at the start of either direction (RFC 854 and 855).
Limits: a Telnet session without option negotiation is only MAYBE (text with few control characters), so it is
found on port 23 but not elsewhere.

See :mod:`dissectors.probes` for why this is apart from the dissector.
"""
from __future__ import annotations

import re

from decoder.model import Direction, DissectorSpec, Lazy, Presentation, Transport, Verdict


IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240


_CTRL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


def probe(direction: Direction, data: bytes) -> Verdict:
    """IAC followed by WILL/WONT/DO/DONT/SB at the start of either direction → YES."""
    if not data:
        return Verdict.MAYBE
    if data[0] == IAC:
        if len(data) == 1:
            return Verdict.MAYBE
        return Verdict.YES if data[1] >= SB else Verdict.MAYBE
    if data.startswith((b"SSH-", b"\x16\x03", b"GET ", b"POST ", b"HTTP/")):
        return Verdict.NO
    head = data[:256]
    ctrl = len(_CTRL.findall(head.replace(b"\r", b"").replace(b"\n", b"")
                             .replace(b"\x1b", b"").replace(b"\t", b"")))
    return Verdict.NO if ctrl * 4 > len(head) else Verdict.MAYBE


SPECS: tuple[DissectorSpec, ...] = (
    DissectorSpec(name="telnet", transport=Transport.TCP, ports=frozenset({23}), probe=probe,
                  factory=Lazy("dissectors.telnet:TelnetDissector"), service="telnet"),
)

#: telnet's anomaly names → what each means, in words a student understands (the report shows them).
_ANOMALIES = {
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
}

#: How telnet is shown: anomaly explanations, report colour, live columns and colour (decoder.model.Presentation).
PRESENTATION = Presentation(anomalies=_ANOMALIES,
                            colours={"telnet": "#c23b22"},
                            live_columns={"telnet": ("user", "login_success", "commands")},
                            live_colours={"telnet": "33"})
