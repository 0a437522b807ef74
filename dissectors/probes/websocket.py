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

#: How websocket is shown: report colour, live columns and colour (decoder.model.Presentation).
PRESENTATION = Presentation()
