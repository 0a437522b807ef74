"""What recognises each protocol, without its dissector: ports, the content probe and the
:class:`~decoder.model.DissectorSpec` list, whose ``factory`` (and ``assemble``) name the dissector
module lazily (:class:`~decoder.model.Lazy`).

One module per protocol, ``dissectors/probes/<proto>.py``, importing only the standard library,
:mod:`decoder.model` and light helpers (no dataclasses of events or records, no ``email``): the
registry (:mod:`dissectors`) is built from these, so detection alone — ``wiretale sessions
--no-decode`` — loads no dissector, and a full run loads those its flows need. Each dissector module
re-exports its protocol's ``probe`` and ``SPECS`` (``dissectors.smtp.SPECS`` is
``dissectors.probes.smtp.SPECS``), and imports from here what it shares with the probe (reply
patterns, command sets), so each fact is written once.
"""
