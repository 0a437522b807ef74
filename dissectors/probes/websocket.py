"""WebSocket (RFC 6455): reached only from HTTP, when a server answers 101 to ``Upgrade: websocket``
(:mod:`dissectors.http` hands the connection over with ``StopParsing("upgrade to websocket")``). No port,
no content probe: frames cannot be told from other binary data without the handshake. The dissector is
:mod:`dissectors.websocket` (imported lazily)."""
from __future__ import annotations

from decoder.model import DissectorSpec, Lazy, Presentation, Transport

SPECS: tuple[DissectorSpec, ...] = (
    DissectorSpec(name="websocket", transport=Transport.TCP, ports=frozenset(), probe=None,
                  factory=Lazy("dissectors.websocket:WebSocketDissector"), service="websocket",
                  expect_only=True),
)

#: websocket's anomaly names → what each means, in words a student understands (the report shows them).
_ANOMALIES = {
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
}

#: How websocket is shown: anomaly explanations, report colour, live columns and colour (decoder.model.Presentation).
PRESENTATION = Presentation(anomalies=_ANOMALIES)
