"""Names learnt from the capture itself, for the report to show beside addresses.

Wireshark and NetworkMiner name hosts from what the traffic says; so does the report, and it
always says where a name came from:

* a DNS answer: an ``A`` or ``AAAA`` record of a response names its address with the name the
  client asked for (``query``; the record's owner too when a CNAME chain led elsewhere);
* an HTTP request's ``Host`` header names the server it was sent to (not an address literal);
* an SMTP ``HELO``/``EHLO`` names the client that sent it (not an address literal like ``[10.0.0.1]``).

What the traffic says is a claim, not a fact (a client may send any HELO): the report shows it as
"said by". Limits: at most ``PER_ADDRESS`` names per address and ``MAX_ADDRESSES`` addresses, the
first ones learnt; names are cut at 255 characters (DNS's own limit).
"""
from __future__ import annotations

import ipaddress
from typing import Any, Container, Mapping

PER_ADDRESS = 4
MAX_ADDRESSES = 100_000
SOURCES = {"dns": "DNS answer", "http": "HTTP Host", "smtp": "SMTP HELO/EHLO"}


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
        return True
    except ValueError:
        return False


def _host_of(header: str) -> str:
    """``www.example.org:8080`` → ``www.example.org``; ``[2001:db8::1]:80`` stays an address."""
    h = header.strip()
    if h.startswith("["):
        return h[:h.find("]") + 1] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


class NameBook:
    """Address → [(name, source)], learnt from rows as they are fed."""

    def __init__(self) -> None:
        self.names: dict[str, list[tuple[str, str]]] = {}

    def feed(self, table: str, row: Mapping[str, Any], only: Container[str] | None = None) -> None:
        """Learn what ``row`` of ``table`` says; ``only``: the addresses worth a name (the others are passed
        over: a DNS answer naming an address that had no session is shown nowhere)."""
        if table == "dns":
            for rr in row.get("answers_detail") or ():
                if isinstance(rr, Mapping) and rr.get("type") in ("A", "AAAA") and rr.get("data"):
                    for name in (row.get("query"), rr.get("name")):
                        self.learn(str(rr["data"]), name, "dns", only)
        elif table == "http":
            host = row.get("host")
            if isinstance(host, str) and host:
                self.learn(row.get("resp_h"), _host_of(host), "http", only)
        elif table == "smtp":
            self.learn(row.get("orig_h"), row.get("helo"), "smtp", only)

    def learn(self, addr: Any, name: Any, table: str, only: Container[str] | None = None) -> None:
        if not isinstance(addr, str) or not isinstance(name, str) or (only is not None and addr not in only):
            return
        name = name.strip().rstrip(".")[:255]
        if not name or _is_address(name):
            return
        have = self.names.get(addr)
        if have is None:
            if len(self.names) >= MAX_ADDRESSES:
                return
            have = self.names[addr] = []
        entry = (name, SOURCES[table])
        if entry not in have and len(have) < PER_ADDRESS and all(n.lower() != name.lower() or s != entry[1]
                                                                for n, s in have):
            have.append(entry)

    def of(self, addr: Any) -> list[tuple[str, str]]:
        return self.names.get(addr, []) if isinstance(addr, str) else []

    def first(self, addr: Any) -> str:
        """The first name learnt for ``addr`` ("" when none)."""
        got = self.of(addr)
        return got[0][0] if got else ""

    def said(self, addr: Any) -> str:
        """``name (HTTP Host), other (DNS answer)`` for ``addr`` ("" when none)."""
        return ", ".join(f"{n} ({s})" for n, s in self.of(addr))
