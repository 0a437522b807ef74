"""The expectation table: flows announced by another flow (FTP data, TFTP transfers).

A dissector emits :class:`~decoder.model.Expect`; the engine stores it here with
the parent flow's uid. When a new flow starts, :meth:`ExpectationTable.match` is
asked before any port or content detection (DESIGN.md section 5):

* an exact match needs the transport, the responder port and every address or
  port the expectation names (``None`` is a wildcard);
* when only the responder address differs (a NAT'd ``227`` answer announcing a
  private address), the flow still matches on the port within the TTL and the
  match is flagged ``nat``.

Entries expire in capture time (``ttl``), are single-use unless told otherwise,
and the table is bounded by ``limits.max_expectations`` (the oldest is dropped
and counted).
"""
from __future__ import annotations

from dataclasses import dataclass

from decoder.model import Expect, ExpectationMatch


@dataclass
class _Entry:
    exp: Expect
    parent_uid: str
    created: float
    used: bool = False


class ExpectationTable:
    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._by_port: dict[tuple[str, int | None], list[_Entry]] = {}
        self._count = 0
        self.dropped = 0
        self.expired = 0
        self.matched = 0

    def __len__(self) -> int:
        return self._count

    def add(self, exp: Expect, parent_uid: str, ts: float) -> bool:
        """Store an expectation; False when the table was full (the oldest was dropped)."""
        full = False
        if self._count >= self.max_entries:
            full = True
            oldest_key, oldest_i, oldest_ts = None, 0, float("inf")
            for key, lst in self._by_port.items():
                for i, e in enumerate(lst):
                    if e.created < oldest_ts:
                        oldest_key, oldest_i, oldest_ts = key, i, e.created
            if oldest_key is not None:
                self._by_port[oldest_key].pop(oldest_i)
                if not self._by_port[oldest_key]:
                    del self._by_port[oldest_key]
                self._count -= 1
                self.dropped += 1
        key = (exp.transport.value, exp.resp_p)
        self._by_port.setdefault(key, []).append(_Entry(exp, parent_uid, ts))
        self._count += 1
        return not full

    def _expire(self, key: tuple[str, int | None], now: float) -> list[_Entry]:
        lst = self._by_port.get(key)
        if not lst:
            return []
        keep = []
        for e in lst:
            if now - e.created > e.exp.ttl or (e.used and e.exp.single_use):
                if not e.used:
                    self.expired += 1
                self._count -= 1
            else:
                keep.append(e)
        if keep:
            self._by_port[key] = keep
        else:
            del self._by_port[key]
        return keep

    def match(self, transport: str, orig_h: str, orig_p: int, resp_h: str, resp_p: int,
              now: float, consume: bool = True) -> ExpectationMatch | None:
        """The pending expectation this flow fulfils, marked used unless ``consume`` is False (a look
        only: the engine asks before it chooses a new flow's roles)."""
        if not self._count:
            return None
        best: tuple[_Entry, bool] | None = None
        for key in ((transport, resp_p), (transport, None)):
            for e in self._expire(key, now):
                x = e.exp
                if x.orig_p is not None and x.orig_p != orig_p:
                    continue
                if x.orig_h is not None and x.orig_h != orig_h:
                    continue
                if x.resp_h is None or x.resp_h == resp_h:
                    best = (e, False)
                    break
                if best is None:
                    best = (e, True)   # port matched, announced address differed (NAT)
            if best is not None and not best[1]:
                break
        if best is None:
            return None
        e, nat = best
        if consume:
            e.used = True
            self.matched += 1
        return ExpectationMatch(parent_uid=e.parent_uid, token=e.exp.token, service=e.exp.service,
                                meta=dict(e.exp.meta), nat=nat)

    def sweep(self, now: float) -> None:
        for key in list(self._by_port):
            self._expire(key, now)
