"""What a session-page view is and what it is given (:class:`View`, :class:`ViewInput`), apart from the
list of views (:mod:`reports.views`) so that each view module can name them without a cycle."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping


@dataclass(frozen=True, slots=True)
class ViewInput:
    """What a view is given of one session."""

    conn: Mapping[str, Any]                      # the session's conn row
    rows: Callable[[str], list[dict]]            # table name → this session's rows of it
    mask: Callable[[str], str]                   # captured text with the session's secrets masked


@dataclass(frozen=True, slots=True)
class View:
    """One protocol's section of a session page.

    ``services``: the ``conn.service`` values it applies to. ``build``: its data (the template's ``view``)
    or None. ``template``: its fragment in ``reports/templates``; ``anchor``: the section's id;
    ``toc``: the text of its link in the page's table of contents ("" for none); ``in_shared``: also
    shown in a small session's section of a shared page.
    """

    name: str
    services: frozenset[str]
    build: Callable[[ViewInput], Any]
    template: str
    anchor: str
    toc: str = ""
    in_shared: bool = False
