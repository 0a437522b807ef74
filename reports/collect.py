"""What the HTML report keeps of the rows: fed one row at a time, as the tables are written.

The output path runs one way (issue 22): engine → rows → table writers → report. The
writers hand every row they write to :meth:`ReportCollector.feed`; the collector keeps
only what the index shows — one compact entry per session, counts, the first rows of the
index tables, aggregates for hosts, protocols and anomalies, every distinct user name and
secret of the credentials (the masker needs them all) — and passes every row a session page needs to a *sink*: a store that
gives its items back sorted by session. :class:`decoder.rows.RowStore` with a key spills
them to disk, so memory does not follow the size of the tables; :class:`ListSink` keeps
them in memory for small captures and tests. Session pages are then rendered one group
(a session with its data connections) at a time, from :meth:`ReportCollector.groups`.
Connections without application data wait in sorted stores of the same kind until
:meth:`ReportCollector.finish` groups them into scans and floods, streaming (a flood of
500,000 spoofed hosts held 270 MB as a dict of per-host lists).

Limits: rows of one session are kept up to :data:`KEEP` per table (the rest are counted,
and the page says how many it does not show); the index entry of a session holds the
columns the index shows, not the whole ``conn`` row.
"""
from __future__ import annotations

import heapq
from array import array
from collections import Counter, defaultdict
from itertools import chain, groupby, islice
from operator import itemgetter
from sys import intern
from typing import Any, Callable, Iterable, Iterator, Protocol

from reports.names import NameBook

TABLE_ROWS = 300            # rows of DNS/HTTP/files/e-mails shown on the index
EVENT_TICKS = 60            # event ticks kept per session for its timeline lane
KEEP = {"timeline": 2000, "anomalies": 500}   # rows of one session kept per table for its page
KEEP_OTHER = 200
INDEX_TABLES = ("files", "emails", "dns", "http", "comments")
INDEX_KEYS = ("ts", "uid", "orig_h", "orig_p", "resp_h", "resp_p", "proto", "service", "duration",
              "orig_bytes", "resp_bytes", "conn_state", "parent_uid", "first_frame", "history")

TLS_KEYS = ("version", "decrypted", "decrypted_with", "inner", "starttls", "records_undecrypted")

LANE_GROUP_AT = 300         # past this many sessions, timeline lanes stand for groups of sessions (reports.html):
                            # a session's own lane (its event ticks, its DNS question) is then never drawn
SORT_KEY = itemgetter(0, 1)  # sink items are (page uid, serial, table, row)
_FIRST, _SECOND = itemgetter(0), itemgetter(1)
SCAN_MIN = 20               # connections without application data from one host (a scan), or to one
                            # address and port from many hosts (a flood), that make one group
GROUP_MEMBERS = 25          # connections listed in a group's entry (all are in tables/conn)
GROUP_TARGETS = 64          # targets of a scan whose ports are listed
MAX_HOSTS = 20_000          # hosts and host pairs itemised on the index (the rest are counted as connections)
COUNT_KEYS = 8_192          # sessions whose event counts are held in memory at once (EventCounts)
_STATE_WORDS = {"REJ": "rejected", "S0": "unanswered", "RSTOS0": "reset before the handshake",
                "RSTRH": "reset by the responder", "SH": "half-open", "OTH": "without a handshake"}


class SessionSink(Protocol):
    """Where the rows of session pages wait: items come back sorted by :data:`SORT_KEY`."""

    def append(self, item: Any) -> None: ...

    def __iter__(self) -> Iterator[Any]: ...


class ListSink:
    """A :class:`SessionSink` in memory (small captures, tests, live snapshots), sorted by ``key``."""

    def __init__(self, key: Callable[[Any], Any] = SORT_KEY) -> None:
        self.items: list = []
        self.key = key

    def append(self, item: Any) -> None:
        self.items.append(item)

    def __iter__(self) -> Iterator[Any]:
        return iter(sorted(self.items, key=self.key))


def list_store(name: str, key: Callable[[Any], Any]) -> ListSink:
    """A :data:`StoreFactory` in memory."""
    return ListSink(key)


#: ``(name, key) → a SessionSink sorted by key``: where the collector puts what it sorts before :meth:`finish`
#: (``read`` gives one that spills to disk, :class:`decoder.rows.RowStore`)
StoreFactory = Callable[[str, Callable[[Any], Any]], SessionSink]


_ENTRY_KEYS = (*INDEX_KEYS, "page", "grp", "events", "href")


class Entry:
    """A session's index entry: the :data:`INDEX_KEYS` of its ``conn`` row, ``page`` (it has a page of its own),
    ``grp`` (its timeline lane group), ``events`` (its timeline rows) and ``href`` (its page under
    ``sessions/``, "" when it has none; the last three set by the report), read like a dict (``e["uid"]``,
    ``e.get("ts")``, ``dict(e)``). Slots, not a dict. Entries wait on disk (:meth:`ReportCollector.entries`)
    and are made again from their tuples as the index is written: one per session of the capture would
    follow the capture's size."""

    __slots__ = _ENTRY_KEYS

    def __init__(self, values: Iterable[Any], page: bool = False) -> None:
        # the INDEX_KEYS in their order, unpacked at once (a loop of setattr cost 7 µs an entry)
        (self.ts, self.uid, self.orig_h, self.orig_p, self.resp_h, self.resp_p, self.proto, self.service,
         self.duration, self.orig_bytes, self.resp_bytes, self.conn_state, self.parent_uid, self.first_frame,
         self.history) = values
        self.page = page
        self.grp = None
        self.events = 0
        self.href = ""

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default) if key in _ENTRY_KEYS else default

    def __getitem__(self, key: str) -> Any:
        if key not in _ENTRY_KEYS:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self, key, value)

    def __contains__(self, key: object) -> bool:
        return key in _ENTRY_KEYS

    def keys(self) -> tuple[str, ...]:
        return _ENTRY_KEYS

    def __iter__(self) -> Iterator[str]:
        return iter(_ENTRY_KEYS)

    def __len__(self) -> int:
        return len(_ENTRY_KEYS)

    def __repr__(self) -> str:
        return f"Entry({dict(self)!r})"


class EventCounts:
    """Timeline rows per session uid: counted in memory for at most ``most`` uids at a time, then spilled as
    (uid, count) pairs to a store sorted by uid (a count per session held to the end cost about 100 bytes a
    session: 4 MB at 41,000). :meth:`sorted` gives every uid's total in uid order, the order of the index
    entries (:meth:`ReportCollector.entries`), so the index pass joins the two as it streams them."""

    def __init__(self, store: StoreFactory, most: int = COUNT_KEYS) -> None:
        self._make = store
        self._spilled: SessionSink | None = None
        self._held: Counter = Counter()
        self.most = most

    def add(self, uid: str) -> None:
        held = self._held
        held[uid] += 1
        if len(held) >= self.most:
            if self._spilled is None:
                self._spilled = self._make("events", _FIRST)
            for pair in held.items():
                self._spilled.append(pair)
            self._held = Counter()

    def sorted(self) -> Iterator[tuple[str, int]]:
        """(uid, number of events) of every uid counted, in uid order, each uid once."""
        mine = sorted(self._held.items())
        if self._spilled is None:
            return iter(mine)
        merged = heapq.merge(self._spilled, mine, key=_FIRST)
        return ((uid, sum(map(_SECOND, run))) for uid, run in groupby(merged, key=_FIRST))


def with_counts(entries: Iterable[tuple], counts: Iterator[tuple[str, int]]) -> Iterator[tuple[tuple, int]]:
    """Each stored index entry ``(uid, serial, tuple, page)`` (in uid order) with its count from ``counts``
    (``(uid, n)`` in uid order; 0 for a uid it lacks)."""
    cur = next(counts, None)
    for item in entries:
        uid = item[0]
        while cur is not None and cur[0] < uid:
            cur = next(counts, None)
        yield item, (cur[1] if cur is not None and cur[0] == uid else 0)


class SessionGroup:
    """The rows of one page group: a session and its data connections (FTP data, TFTP transfers)."""

    __slots__ = ("conns", "rows", "counts")

    def __init__(self) -> None:
        self.conns: list[dict] = []
        self.rows: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
        self.counts: Counter = Counter()

    def get(self, table: str, uid: str) -> list[dict]:
        per = self.rows.get(table)
        return per.get(uid, []) if per is not None else []

    def count(self, table: str, uid: str) -> int:
        return self.counts[(table, uid)]

    def tables(self) -> list[str]:
        return sorted(self.rows)


class ProbeGroup:
    """Connections that carried no application data, grouped: from one host (``scan``) or from many
    hosts to one address, transport and port (``flood``). Keeps counts, the ports probed per target
    (a bitmap each, for the first :data:`GROUP_TARGETS` targets) and the first connections."""

    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key
        self.count = 0
        self.first_ts: float | None = None
        self.last_ts: float | None = None
        self.states: Counter = Counter()
        self.protos: Counter = Counter()
        self.sources: set[str] = set()
        self.n_sources = 0
        self.targets: dict[str, bytearray] = {}
        self.target_names: set[str] = set()
        self.n_targets = 0
        self.ports = bytearray(8192)
        self.members: list[Entry] = []

    def add(self, e: Entry) -> None:
        self.count += 1
        ts = e.get("ts") or 0.0
        end = ts + (e.get("duration") or 0.0)
        self.first_ts = ts if self.first_ts is None else min(self.first_ts, ts)
        self.last_ts = end if self.last_ts is None else max(self.last_ts, end)
        self.states[e.get("conn_state") or "?"] += 1
        self.protos[e.get("proto") or "?"] += 1
        src = str(e.get("orig_h"))
        if len(self.sources) < 10_000 and src not in self.sources:
            self.sources.add(src)
            self.n_sources += 1
        dst, port = str(e.get("resp_h")), e.get("resp_p")
        bits = self.targets.get(dst)
        if bits is None and dst not in self.target_names:
            self.n_targets += 1
            if len(self.target_names) < 10_000:
                self.target_names.add(dst)
            if len(self.targets) < GROUP_TARGETS:
                bits = self.targets[dst] = bytearray(8192)
        if isinstance(port, int) and 0 <= port < 65536:
            self.ports[port >> 3] |= 1 << (port & 7)
            if bits is not None:
                bits[port >> 3] |= 1 << (port & 7)
        if len(self.members) < GROUP_MEMBERS:
            self.members.append(e)

    @property
    def n_ports(self) -> int:
        return sum(bin(b).count("1") for b in self.ports)

    def verb(self) -> str:
        if len(self.states) == 1:
            return _STATE_WORDS.get(next(iter(self.states)), "without application data")
        return "without application data"

    def label(self) -> str:
        n = f"{self.count:,} connection{'s' if self.count != 1 else ''} {self.verb()}"
        if self.kind == "scan":
            return (f"{self.key} probed {self.n_targets:,} host{'s' if self.n_targets != 1 else ''} on "
                    f"{self.n_ports:,} port{'s' if self.n_ports != 1 else ''}: {n}")
        return f"{self.n_sources:,} hosts connected to {self.key}: {n}"

    def target_rows(self) -> list[dict]:
        return [{"host": h, "ports": port_ranges(b), "n": sum(bin(x).count("1") for x in b)}
                for h, b in self.targets.items()]


def port_ranges(bits: bytearray, most: int = 12) -> str:
    """A port bitmap as ``1-1024, 3306, 8080-8090`` (the first ``most`` ranges, then how many more)."""
    out: list[str] = []
    start = prev = None
    more = 0
    for byte_i, b in enumerate(bits):
        if not b:
            continue
        for k in range(8):
            if b >> k & 1:
                p = byte_i * 8 + k
                if prev is not None and p == prev + 1:
                    prev = p
                    continue
                if start is not None:
                    if len(out) < most:
                        out.append(f"{start}" if start == prev else f"{start}-{prev}")
                    else:
                        more += 1
                start = prev = p
    if start is not None:
        if len(out) < most:
            out.append(f"{start}" if start == prev else f"{start}-{prev}")
        else:
            more += 1
    return ", ".join(out) + (f" and {more:,} more ranges" if more else "")


class ReportCollector:
    """Fed every row as it is written (``conn`` first, so data connections find their control session)."""

    def __init__(self, sink: SessionSink | None = None, store: StoreFactory = list_store) -> None:
        self.sink: SessionSink = sink if sink is not None else ListSink()
        self._store = store
        self._serial = 0
        # index entries of sessions (with a page, and connections without data in no scan or flood), as
        # (uid, serial, tuple of INDEX_KEYS, page) sorted by uid: on disk with ``read``'s store (entries())
        self._entries = store("sessions", SORT_KEY)
        self.n_sessions = 0                       # entries so far
        self.page_of: dict[str, str] = {}        # data connection uid → the uid of its page group
        self.parent_uids: set[str] = set()       # uids that data connections name as their control session
        self.events = EventCounts(store)         # timeline rows per session (on disk past COUNT_KEYS sessions)
        self._tick_n: dict[str, int] = {}        # the same while there are at most LANE_GROUP_AT sessions (lanes)
        self.ticks: dict[str, array] = {}
        self.notes: dict[str, list[dict]] = {}   # pcapng packet comments per session, for its lane
        self.names = NameBook()                  # names the traffic gives addresses (DNS, HTTP Host, HELO)
        self.dns_lanes: dict[str, dict] = {}     # a DNS session's first question and answers, for its lane
        self.tick_stride: dict[str, int] = {}
        self.creds: list[dict] = []              # the first TABLE_ROWS credentials (for the index)
        self._secrets: dict[tuple, None] = {}    # (user name, secret) of every credential, in the order seen
        self.index_rows: dict[str, list[dict]] = {t: [] for t in INDEX_TABLES}
        self.counts: Counter = Counter()
        self.anomalies: dict[str, dict] = {}
        # per address: [sessions as client, as server, bytes sent, received, services]; per (client, server):
        # [sessions, bytes, services]; services: the one service's name, a Counter once there are two (lists
        # and a name, not dicts and a Counter each: up to MAX_HOSTS of each, 0.2 KB a pair instead of 0.8)
        self.hosts: dict[str, list] = {}
        self.pairs: dict[tuple, list] = {}
        self.mix_sessions: Counter = Counter()
        self.mix_bytes: Counter = Counter()
        self.scans: dict[str, ProbeGroup] = {}
        self.floods: dict[str, ProbeGroup] = {}
        # connections without application data, (originator, serial, tuple of INDEX_KEYS) sorted by host: grouped
        # at finish(), so that memory does not follow them (500,000 spoofed hosts of a flood)
        self._no_data_rows = store("probes", SORT_KEY)
        self.unlisted = Counter()                   # sessions of hosts / pairs past MAX_HOSTS
        self._finished = False
        self.tls: dict[str, dict] = {}           # session uid → how its TLS went (version, decrypted, inside)

    # -------------------------------------------------------------- feeding
    def feed(self, table: str, row: dict) -> None:
        self.counts[table] += 1
        uid = row.get("uid")
        if type(uid) is str:
            uid = intern(uid)     # one string per session, however many tables and rows name it
        if table == "conn":
            self._conn(row)
        elif table == "timeline" and type(uid) is str and uid:
            self._tick(uid, row.get("ts"))
        elif table == "comments" and uid:
            lane = self.notes.setdefault(uid, [])
            if len(lane) < EVENT_TICKS:
                lane.append(row)
        elif table == "credentials":
            self._credential(row)
        if table in ("dns", "http", "smtp"):
            # names of addresses that had a session (conn comes first), unless the hosts were too many to list
            self.names.feed(table, row, only=None if self.unlisted["hosts"] else self.hosts)
            if table == "dns" and uid and self.n_sessions <= LANE_GROUP_AT:
                self._dns_lane(uid, row)
        elif table == "anomalies":
            self._anomaly(row)
        elif table == "tls" and uid:
            self.tls[uid] = {k: row.get(k) for k in TLS_KEYS}
        if table in self.index_rows and len(self.index_rows[table]) < TABLE_ROWS:
            self.index_rows[table].append(row)
        if uid and not (table == "conn" and self._empty(row)):
            self._serial += 1
            self.sink.append((self.page_of.get(uid, uid), self._serial, table, row))

    def feed_all(self, tables: Any) -> None:
        """Every row of a mapping of tables (``conn`` first)."""
        for name in sorted(tables, key=lambda n: (n != "conn", n)):
            for r in tables[name]:
                self.feed(name, r)

    @staticmethod
    def _empty(c: dict) -> bool:
        """A connection that carried no application data (and is nobody's data connection)."""
        return not (c.get("orig_bytes") or c.get("resp_bytes") or c.get("parent_uid"))

    def _conn(self, c: dict) -> None:
        t = tuple(map(_interned, map(c.get, INDEX_KEYS)))
        uid = t[_UID]
        self._serial += 1
        if not self._empty(c):
            self._add_entry(self._serial, t, True)
        else:
            self._no_data_rows.append((str(t[_ORIG_H]), self._serial, t))
        p = c.get("parent_uid")
        if p and p != uid:
            self.page_of[uid] = self.page_of.get(p, p)
            self.parent_uids.add(p)
        o, r = t[_ORIG_H], t[_RESP_H]
        ob, rb = int(c.get("orig_bytes") or 0), int(c.get("resp_bytes") or 0)
        svc = c.get("service") or c.get("proto") or "?"
        mix = c.get("service") or f"unknown {c.get('proto', '')}".strip()
        self.mix_sessions[mix] += 1
        self.mix_bytes[mix] += ob + rb
        for h, role, sent, recv in ((o, 0, ob, rb), (r, 1, rb, ob)):
            he = self.hosts.get(h)
            if he is None:
                if len(self.hosts) >= MAX_HOSTS:
                    self.unlisted["hosts"] += 1
                    continue
                he = self.hosts[h] = [0, 0, 0, 0, svc]
            he[4] = _tally(he[4], svc, he[0] + he[1])
            he[role] += 1
            he[2] += sent
            he[3] += recv
        pe = self.pairs.get((o, r))
        if pe is None:
            if len(self.pairs) >= MAX_HOSTS:
                self.unlisted["pairs"] += 1
                return
            pe = self.pairs[(o, r)] = [0, 0, svc]
        pe[2] = _tally(pe[2], svc, pe[0])
        pe[0] += 1
        pe[1] += ob + rb

    def finish(self) -> None:
        """After the last row: connections without data are grouped by their originator when at least
        :data:`SCAN_MIN` come from it (a scan); the others by their target when at least :data:`SCAN_MIN`
        share it (a flood); the rest are listed one by one. Both passes stream sorted stores."""
        if self._finished:
            return
        self._finished = True
        rh, rp, pr = INDEX_KEYS.index("resp_h"), INDEX_KEYS.index("resp_p"), INDEX_KEYS.index("proto")
        by_target = self._store("probes-by-target", SORT_KEY)
        for serial, t in _grouped(self._no_data_rows, self.scans, "scan"):
            by_target.append((f"{_ep(t[rh], t[rp])}/{t[pr]}", serial, t))
        for serial, t in _grouped(by_target, self.floods, "flood"):
            self._add_entry(serial, t, False)

    def _add_entry(self, serial: int, t: tuple, page: bool) -> None:
        self.n_sessions += 1
        self._entries.append((t[_UID], serial, t, page))

    def entries_counted(self) -> Iterator[tuple[tuple, int]]:
        """Every stored index entry ``(uid, serial, tuple of INDEX_KEYS, page)`` (after :meth:`finish`, in uid
        order) with its session's number of timeline rows."""
        return with_counts(self._entries, self.events.sorted())

    def entries(self) -> Iterator[Entry]:
        """Every session's index entry (after :meth:`finish`): those with a page and the connections
        without data in no scan or flood, sorted by uid, made one at a time from what waits on disk."""
        for _, _, t, page in self._entries:
            yield Entry(t, page)

    def groups_of_probes(self) -> list[ProbeGroup]:
        return sorted([*self.scans.values(), *self.floods.values()], key=lambda g: (g.first_ts or 0, g.key))

    def _tick(self, uid: str, ts: Any) -> None:
        """Count a session's events and keep at most ``EVENT_TICKS`` of their times, evenly thinned."""
        self.events.add(uid)
        if self.n_sessions > LANE_GROUP_AT:    # (conn rows come first: the count is known by now)
            return
        n = self._tick_n.get(uid, 0)
        self._tick_n[uid] = n + 1
        stride = self.tick_stride.get(uid, 1)
        if n % stride:
            return
        if not isinstance(ts, (int, float)):
            return
        lst = self.ticks.get(uid)
        if lst is None:
            lst = self.ticks[uid] = array("d")   # 8 bytes a time, not a float object and a pointer
        lst.append(ts)
        if len(lst) >= 2 * EVENT_TICKS:
            del lst[1::2]
            self.tick_stride[uid] = stride * 2

    def _dns_lane(self, uid: str, row: dict) -> None:
        lane = self.dns_lanes.get(uid)
        if lane is None:
            q = intern(" ".join(str(x) for x in (row.get("qtype_name"), row.get("query")) if x))
            answers = tuple(intern(f"{rr.get('type')} {rr.get('data')}")
                            for rr in (row.get("answers_detail") or ())[:6] if isinstance(rr, dict))
            self.dns_lanes[uid] = {"query": q, "answers": answers, "count": 1}
        else:
            lane["count"] += 1

    def _credential(self, row: dict) -> None:
        """The first :data:`TABLE_ROWS` credentials for the index (``counts`` has them all); the secret and user
        name of every one, once each, for the masker."""
        if len(self.creds) < TABLE_ROWS:
            self.creds.append(row)
        sec = row.get("secret")
        if isinstance(sec, str) and sec:
            self._secrets[(row.get("username"), sec)] = None

    def secrets(self) -> list[dict]:
        """Every distinct (user name, secret) of the capture's credentials, as ``{"username", "secret"}``."""
        return [{"username": u, "secret": s} for u, s in self._secrets]

    def _anomaly(self, a: dict) -> None:
        name = a.get("name") or "?"
        g = self.anomalies.get(name)
        if g is None:
            g = self.anomalies[name] = {"name": name, "count": 0, "details": [], "uids": []}
        g["count"] += 1
        det = a.get("detail") or ""
        if len(g["details"]) < 3 and det not in g["details"]:
            g["details"].append(det)
        u = a.get("uid")
        if u and u not in g["uids"] and len(g["uids"]) < 8:
            g["uids"].append(u)

    # -------------------------------------------------------------- reading back
    def groups(self, parts: Iterable[int] | None = None) -> Iterator[SessionGroup]:
        """The page groups, one at a time, each with its rows capped per session and table; ``parts``: only those
        of these partitions of a partitioned sink (:class:`reports.page_rows.PartitionSink`)."""
        items = self.sink if parts is None else self.sink.partitions(parts)   # type: ignore[attr-defined]
        for _, run in groupby(items, key=itemgetter(0)):
            yield _group(run)


def _grouped(items: Iterable[tuple], groups: dict[str, ProbeGroup], kind: str) -> Iterator[tuple[int, tuple]]:
    """Items ``(key, serial, entry tuple)`` sorted by key and serial: a key with at least :data:`SCAN_MIN`
    items becomes ``groups[key]`` (a :class:`ProbeGroup` of ``kind``); the (serial, entry) of the others are
    yielded. Holds at most :data:`SCAN_MIN` items."""
    for key, run in groupby(items, key=itemgetter(0)):
        first = list(islice(run, SCAN_MIN))
        if len(first) < SCAN_MIN:
            for _, serial, t in first:
                yield serial, t
            continue
        g = groups[key] = ProbeGroup(kind, key)
        for _, _, t in chain(first, run):
            g.add(_entry(t))


def _tally(services: str | Counter, svc: str, before: int) -> str | Counter:
    """``services`` (a name that ``before`` sessions had, or a Counter of names) with one session of ``svc``
    more: a name while there is one, a Counter from the second."""
    if type(services) is str:
        if services == svc:
            return services
        services = Counter({services: before}) if before else Counter()
    services[svc] += 1
    return services


def services_of(services: str | Counter, total: int) -> Counter:
    """What :func:`_tally` kept, as a Counter (``total``: the sessions counted)."""
    return Counter({services: total}) if type(services) is str else services


def _interned(v: Any) -> Any:
    """``v``, one string for all equal strings (addresses, protocols, states and uids repeat across sessions
    and tables): an index entry costs what its session adds, not a copy of each of its words."""
    return intern(v) if type(v) is str else v


def _entry(t: tuple) -> Entry:
    """An index entry of a connection without application data, from its compact tuple."""
    return Entry(t, False)


_UID, _ORIG_H, _RESP_H = map(INDEX_KEYS.index, ("uid", "orig_h", "resp_h"))


def _ep(h: Any, p: Any) -> str:
    h = "" if h is None else str(h)
    return f"[{h}]:{p}" if ":" in h else f"{h}:{p}"


def _group(items: Iterable[tuple]) -> SessionGroup:
    g = SessionGroup()
    for _, _, table, row in items:
        if table == "conn":
            g.conns.append(row)
            continue
        uid = row.get("uid")
        key = (table, uid)
        n = g.counts[key]
        g.counts[key] = n + 1
        if n < KEEP.get(table, KEEP_OTHER):
            g.rows[table][uid].append(row)
    for lst in g.rows.get("timeline", {}).values():
        lst.sort(key=frame_order)
    return g


def frame_order(r: dict) -> tuple:
    """A session's events in frame order (the order the packets were captured, which is what a ladder
    shows even where a capture's clock steps back), by time where frames tie."""
    return (r.get("frame") or 0, r.get("ts") or 0)
