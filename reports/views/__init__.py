"""Session-page views of one protocol: a section of a session page that only some services have
(the Telnet terminal replay, the NFS file tree), declared beside the protocol in
``reports/views/<proto>.py`` and listed here, one import line each, in the manner of mitmproxy's
contentviews (``mitmproxy/contentviews/_api.py``: a view is a name and a function over the data,
registered in one list). The report (:mod:`reports.html`) knows no view by name: for each session it
asks :func:`for_session` which views apply and renders each one's template fragment.

A view gets a :class:`ViewInput` (the session's ``conn`` row, its rows of any table and the report's masking
of secrets) and returns the data its template reads as ``view``, or None
when it has nothing to show (no section then). Limits: a view sees only its own session's rows (what
the report's collector kept of them); it is not shown in a shared page's section unless ``in_shared``.
"""
from __future__ import annotations

from reports.views import nfs, telnet
from reports.views._api import View, ViewInput


#: Every view, in the order a page shows them.
VIEWS: tuple[View, ...] = (
    View("replay", frozenset({"telnet"}), telnet.replay, "_replay.html", "replay", toc="Replay"),
    View("nfs_tree", frozenset({"nfs", "mount"}), nfs.view, "_nfs_tree.html", "nfs-tree", in_shared=True),
)


def for_session(inp: ViewInput, small: bool = False) -> list[dict]:
    """The views this session shows, each as ``{"view": data, "template", "anchor", "toc"}`` in page
    order; ``small``: a shared page's section (only views ``in_shared``)."""
    service = inp.conn.get("service")
    out = []
    for v in VIEWS:
        if service not in v.services or (small and not v.in_shared):
            continue
        data = v.build(inp)
        if data is not None:
            out.append({"view": data, "template": v.template, "anchor": v.anchor, "toc": v.toc})
    return out


__all__ = ["VIEWS", "View", "ViewInput", "for_session"]
