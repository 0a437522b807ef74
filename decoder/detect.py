"""Protocol detection per flow: expectation > port + probe > content probe, with buffer and replay.

DESIGN.md section 2.6. The first bytes of each direction (up to
``limits.detect_buffer``) are buffered together with the order in which they
arrived. A spec is chosen

1. by a pending expectation (the engine passes it in), else
2. when its port hint matches the responder port (or either port when roles
   were guessed) and its probe (or its cheaper ``veto``) does not say NO about
   the bytes seen, else
3. when its content probe says YES for one direction and NO for neither.

When every probe says NO, or the buffer fills with nothing better than MAYBE,
the flow stays raw (listed in ``conn`` with an empty service, still followable).
The chosen dissector is then fed the buffered chunks in their original order,
so nothing seen before the decision is lost.
"""
from __future__ import annotations

from typing import Sequence

from decoder.model import Direction, DissectorSpec, Probe, Transport, Verdict

UNDECIDED, ATTACHED, RAW, STOPPED = 0, 1, 2, 3
_DIRS = (Direction.ORIG, Direction.RESP)


def _verdict(probe: Probe | None, heads: Sequence[bytes]) -> tuple[bool, bool]:
    """(any YES, any NO) of ``probe`` (a spec's probe or veto) over the directions that have bytes."""
    if probe is None:
        return False, False
    yes = no = False
    for d, head in enumerate(heads):
        if not head:
            continue
        try:
            v = probe(_DIRS[d], head)
        except Exception:  # a probe bug must not stop detection; treated as NO
            v = Verdict.NO
        if v is Verdict.YES:
            yes = True
        elif v is Verdict.NO:
            no = True
    return yes, no


class Detector:
    """Chooses a spec for a flow from its first bytes. Stateless between flows."""

    def __init__(self, registry: Sequence[DissectorSpec]) -> None:
        self.registry = tuple(registry)
        self.by_port: dict[tuple[str, int], tuple[DissectorSpec, ...]] = {}
        tmp: dict[tuple[str, int], list[DissectorSpec]] = {}
        for s in self.registry:
            if s.expect_only:
                continue
            for p in s.ports:
                tmp.setdefault((s.transport.value, p), []).append(s)
        self.by_port = {k: tuple(v) for k, v in tmp.items()}
        self.content = {t.value: tuple(s for s in self.registry if not s.expect_only and s.transport is t
                                       and s.probe is not None) for t in Transport}
        self.by_name = {(s.transport.value, s.name): s for s in self.registry}

    def port_candidates(self, transport: str, resp_p: int, orig_p: int, roles_guessed: bool
                        ) -> tuple[DissectorSpec, ...]:
        c = self.by_port.get((transport, resp_p), ())
        if roles_guessed or not c:
            c2 = self.by_port.get((transport, orig_p), ())
            if c2 and roles_guessed:
                c = c + tuple(s for s in c2 if s not in c)
        return c

    def sent_by_responder(self, transport: str, sport: int, dport: int, data: bytes) -> bool | None:
        """What the specs say of a flow's first datagram (``DissectorSpec.is_reply``): True for a reply,
        False for a request, None when none can tell. Specs on either port are asked directly; others
        (a protocol on an odd port) only when their content probe says YES to the datagram."""
        on_port = self.by_port.get((transport, sport), ()) + self.by_port.get((transport, dport), ())
        for spec in on_port + self.content.get(transport, ()):
            if spec.is_reply is None:
                continue
            try:
                if spec not in on_port and spec.probe(_DIRS[0], data) is not Verdict.YES:
                    continue
                said = spec.is_reply(data)
            except Exception:  # a hint's bug must not stop the flow: the ports decide
                continue
            if said is not None:
                return said
        return None

    def decide(self, transport: str, port_specs: Sequence[DissectorSpec], heads: Sequence[bytes],
               full: bool) -> tuple[DissectorSpec | None, bool]:
        """Return (spec, final). ``final`` with spec None means: stay raw."""
        for spec in port_specs:
            # the port chose it: only a NO counts, so the spec's cheaper veto is asked when it has one
            if not _verdict(spec.veto or spec.probe, heads)[1]:
                return spec, True
        maybe = False
        for spec in self.content.get(transport, ()):
            if spec in port_specs:
                continue
            yes, no = _verdict(spec.probe, heads)
            if yes and not no:
                return spec, True
            if not no:
                maybe = True
        if full or not maybe:
            return None, True
        return None, False
