"""Session secrets for TLS decryption: NSS key log files and pcapng Decryption Secrets Blocks.

The NSS key log format (what ``SSLKEYLOGFILE`` makes browsers, curl and Python's ``ssl`` write; IETF
draft-ietf-tls-keylogfile): one ``LABEL <client_random hex> <secret hex>`` per line, ``#`` comments. A
pcapng Decryption Secrets Block (pcapng specification, block type 0x0A) of secrets type ``TLSK``
(0x544c534b) carries the same text inside the capture (``editcap --inject-secrets``).

:class:`Keyring` implements :class:`decoder.model.Secrets`: the engine owns one per run and hands it to
dissectors through their :class:`~decoder.model.FlowContext`. A secret not found is looked for again in what
was appended to the key log files since they were read (live capture while the client writes its key log).
Limits: only the TLS labels are kept
(``CLIENT_RANDOM`` and the TLS 1.3 traffic secrets); ``RSA`` pre-master lines are counted as unsupported;
malformed lines are counted, never fatal.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

LABELS = frozenset({"CLIENT_RANDOM", "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                    "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "CLIENT_EARLY_TRAFFIC_SECRET",
                    "EARLY_EXPORTER_SECRET", "EXPORTER_SECRET"})
DSB_TLS_KEY_LOG = 0x544C534B


class KeylogError(Exception):
    """A key log file that cannot be read at all (one line for the user)."""


class Keyring:
    """Secrets by (label, client random). ``counts`` says what was read: lines kept, skipped by reason."""

    def __init__(self) -> None:
        self._secrets: dict[tuple[str, bytes], tuple[bytes, str]] = {}
        self.counts: Counter = Counter()
        self._files: dict[Path, int] = {}     # key log files and how many bytes of each were read

    def __len__(self) -> int:
        return len(self._secrets)

    def add_text(self, text: str, source: str) -> None:
        """Read NSS key log lines; ``source`` is how the report names where they came from."""
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 3:
                self.counts["malformed line"] += 1
                continue
            label, cr, secret = parts
            if label not in LABELS:
                self.counts[f"unsupported label {label[:40]}"] += 1
                continue
            try:
                crb, sb = bytes.fromhex(cr), bytes.fromhex(secret)
            except ValueError:
                self.counts["malformed line"] += 1
                continue
            if len(crb) != 32 or not sb:
                self.counts["malformed line"] += 1
                continue
            self._secrets.setdefault((label, crb), (sb, source))
            self.counts["secrets"] += 1

    def add_file(self, path: str | Path) -> None:
        p = Path(path)
        try:
            data = p.read_bytes()
        except OSError as e:
            raise KeylogError(f"{path}: cannot read the key log ({e.strerror or e})") from None
        end = data.rfind(b"\n") + 1            # a last line still being written is read next time
        self._files[p] = end
        self.add_text(data[:end].decode("ascii", "replace"), f"key log {p.name}")

    def _refresh(self) -> bool:
        """Read what was appended to the key log files since (a browser or curl writing SSLKEYLOGFILE during a
        live capture logs each session's secrets as it starts). True when a file had new lines."""
        grew = False
        for p, done in self._files.items():
            try:
                if p.stat().st_size <= done:
                    continue
                with p.open("rb") as fh:
                    fh.seek(done)
                    data = fh.read()
            except OSError:
                continue
            end = data.rfind(b"\n") + 1
            if end:
                self._files[p] = done + end
                self.add_text(data[:end].decode("ascii", "replace"), f"key log {p.name}")
                grew = True
        return grew

    def add_dsb(self, secrets_type: int, data: bytes) -> None:
        """A pcapng Decryption Secrets Block; other secret types (WireGuard, ZigBee…) are counted."""
        if secrets_type != DSB_TLS_KEY_LOG:
            self.counts[f"pcapng secrets of type {secrets_type:#x} (not TLS)"] += 1
            return
        self.add_text(data.decode("ascii", "replace"), "pcapng Decryption Secrets Block")

    def lookup(self, label: str, client_random: bytes) -> tuple[bytes, str] | None:
        found = self._secrets.get((label, client_random))
        if found is None and self._files and self._refresh():
            found = self._secrets.get((label, client_random))
        return found
