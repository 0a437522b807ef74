"""The one registration list of wiretale's dissectors.

Adding a protocol = one module exporting ``SPECS`` + one entry below. Order
matters only as a tie-breaker when several content probes answer YES.
No import-time scanning, no global tables rebound at run time.
"""
from __future__ import annotations

from decoder.model import DissectorSpec
from dissectors import dns, ftp, http, imap, pop3, smtp, snmp, telnet, tftp

REGISTRY: tuple[DissectorSpec, ...] = (
    *smtp.SPECS,
    *pop3.SPECS,
    *imap.SPECS,
    *ftp.SPECS,
    *http.SPECS,
    *telnet.SPECS,
    *tftp.SPECS,
    *dns.SPECS,
    *snmp.SPECS,
)

__all__ = ["REGISTRY"]
