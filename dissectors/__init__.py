"""The one registration list of wiretale's dissectors.

Adding a protocol = its dissector module ``dissectors/<proto>.py`` + its recognition module
``dissectors/probes/<proto>.py`` exporting ``SPECS`` (ports, probe, the dissector named lazily) + one
entry in ``PROTOCOLS`` (every file a protocol touches, with NFS as the example:
``docs/ADDING_A_PROTOCOL.md``). Order matters only as a tie-breaker when several content probes
answer YES. No import-time scanning, no global tables rebound at run time.

Importing this package loads the probes only (:mod:`dissectors.probes`); a dissector module is
imported when the first flow of its protocol is attached. :func:`load_all` imports every one (the
reports list every protocol table, from the record classes the modules define).
"""
from __future__ import annotations

import importlib

from decoder.model import DissectorSpec

# one entry per protocol, in registry order: dissectors/probes/<name>.py holds its specs, dissectors/<name>.py
# its dissector
PROTOCOLS: tuple[str, ...] = ("smtp", "pop3", "imap", "ftp", "http", "telnet", "tftp", "dns", "snmp", "nfs", "tls", "http2", "websocket")

REGISTRY: tuple[DissectorSpec, ...] = tuple(
    spec for name in PROTOCOLS for spec in importlib.import_module(f"dissectors.probes.{name}").SPECS)

MODULES: tuple[str, ...] = tuple(f"dissectors.{name}" for name in PROTOCOLS)   # the dissector modules


def load_all() -> None:
    """Import every dissector module (their record classes define the protocol tables)."""
    for m in MODULES:
        importlib.import_module(m)


__all__ = ["MODULES", "PROTOCOLS", "REGISTRY", "load_all"]
