"""The one registration list of wiretale's dissectors.

Adding a protocol = its dissector module ``dissectors/<proto>.py`` + its recognition module
``dissectors/probes/<proto>.py`` exporting ``SPECS`` (ports, probe, the dissector named lazily) + one
``import`` line below and its place in ``PROBES`` (every file a protocol touches, with NFS as the
example: ``docs/ADDING_A_PROTOCOL.md``). Order matters only as a tie-breaker when several content probes
answer YES. No import-time scanning, no global tables rebound at run time.

Importing this package loads the probes only (:mod:`dissectors.probes`); a dissector module is
imported when the first flow of its protocol is attached. :func:`load_all` imports every one (the
reports list every protocol table, from the record classes the modules define).
"""
from __future__ import annotations

import importlib
from types import ModuleType

import dissectors.probes.dns
import dissectors.probes.ftp
import dissectors.probes.http
import dissectors.probes.http2
import dissectors.probes.imap
import dissectors.probes.nfs
import dissectors.probes.pop3
import dissectors.probes.smtp
import dissectors.probes.snmp
import dissectors.probes.telnet
import dissectors.probes.tftp
import dissectors.probes.tls
import dissectors.probes.websocket
from decoder.model import DissectorSpec, Presentation

#: Each protocol's probe module, in registry order; ``dissectors/<name>.py`` is its dissector.
PROBES: tuple[ModuleType, ...] = (
    dissectors.probes.smtp, dissectors.probes.pop3, dissectors.probes.imap, dissectors.probes.ftp,
    dissectors.probes.http, dissectors.probes.telnet, dissectors.probes.tftp, dissectors.probes.dns,
    dissectors.probes.snmp, dissectors.probes.nfs, dissectors.probes.tls, dissectors.probes.http2,
    dissectors.probes.websocket,
)

PROTOCOLS: tuple[str, ...] = tuple(m.__name__.rpartition(".")[2] for m in PROBES)     # "smtp", "pop3", …

REGISTRY: tuple[DissectorSpec, ...] = tuple(spec for m in PROBES for spec in m.SPECS)

#: How every protocol is shown (report colours, live columns and colours), from each probe's ``PRESENTATION``.
PRESENTATION: Presentation = Presentation.merge(m.PRESENTATION for m in PROBES)

#: The dissector modules, by name: imported when a flow needs one, or all by :func:`load_all`.
MODULES: tuple[str, ...] = tuple(f"dissectors.{name}" for name in PROTOCOLS)


def load_all() -> None:
    """Import every dissector module (their record classes define the protocol tables)."""
    for m in MODULES:
        importlib.import_module(m)


__all__ = ["MODULES", "PRESENTATION", "PROBES", "PROTOCOLS", "REGISTRY", "load_all"]
