"""IMAP dissector — not yet implemented (its issue is open).

Until it lands, flows of this protocol are listed in `conn` with an empty
service and can be followed as raw transcripts.
"""
from __future__ import annotations

from decoder.model import DissectorSpec

SPECS: tuple[DissectorSpec, ...] = ()
