"""The commands: what ``wiretale VERB`` does, apart from parsing its arguments (:mod:`decoder.commands.cli`).

- :mod:`.options`: :class:`~.options.ReadOptions`, the one object a read is configured by (built from
  ``read``'s, ``batch``'s or ``check``'s arguments), :class:`~.options.UsageError`, ``--limit`` and
  ``--workers`` as values;
- :mod:`.exits`: how a command's exceptions become one line on stderr and an exit code;
- :mod:`.read`: ``read``: captures → OUT (tables, files, e-mails, summary, HAR, report), in this process or,
  with ``--workers``, by the split run;
- :mod:`.split`: the split run: one capture decoded by host pair on several processes, merged into OUT.

``batch`` (:mod:`decoder.commands.batch`) reads each capture with :func:`.read.read_captures`; ``live``
(:mod:`decoder.commands.live`) takes its limits from :mod:`.options`. The commands may import anything (engine,
dissectors, reports); nothing below them imports a command.
"""
