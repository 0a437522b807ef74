"""multipart/form-data splitting for HTTP uploads (RFC 7578, RFC 2046 section 5.1).

:func:`split` takes a whole (already de-chunked and decoded) body and its
boundary and returns the parts: headers, the ``name`` and ``filename`` of
Content-Disposition (``filename*`` of RFC 5987/8187 too) and the part's bytes.
Searching uses ``bytes.find``; the number of parts is capped by the caller's
``max_parts``. Tolerates bare LF line ends and a missing closing delimiter
(reported as a problem string, the last part is kept).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

_PARAM = re.compile(r'''([!#$%&'*+\-.^_`|~0-9A-Za-z]+\*?)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)''')


@dataclass(frozen=True, slots=True)
class Part:
    headers: tuple[tuple[str, str], ...]
    name: str | None
    filename: str | None
    content_type: str | None
    data: bytes


def header_params(value: str) -> tuple[str, dict[str, str]]:
    """Split ``type; a=b; c="d"`` into (``type`` lowercased, params lowercased keys)."""
    head, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for m in _PARAM.finditer(rest):
        k, v = m.group(1).lower(), m.group(2).strip()
        if v.startswith('"') and v.endswith('"') and len(v) >= 2:
            v = re.sub(r"\\(.)", r"\1", v[1:-1])
        if k.endswith("*"):
            # RFC 8187: charset'lang'pct-encoded
            parts = v.split("'", 2)
            if len(parts) == 3:
                try:
                    v = unquote(parts[2], encoding=parts[0] or "utf-8", errors="replace")
                except LookupError:
                    v = unquote(parts[2], errors="replace")
            k = k[:-1]
            params[k] = v                      # the extended form wins
        else:
            params.setdefault(k, v)
    return head.strip().lower(), params


def disposition_filename(value: str) -> str | None:
    _, params = header_params(value)
    name = params.get("filename")
    if name is None:
        return None
    # browsers send the full client path in old IE versions: keep the last segment
    return name.replace("\\", "/").rsplit("/", 1)[-1] if name else name


def split(body: bytes, boundary: bytes, max_parts: int = 1000) -> tuple[list[Part], list[str]]:
    problems: list[str] = []
    parts: list[Part] = []
    delim = b"--" + boundary
    # first delimiter: at the very start or after a line end
    if body.startswith(delim):
        pos = 0
    else:
        i = body.find(b"\n" + delim)
        if i < 0:
            return parts, ["no multipart boundary found"]
        pos = i + 1
    while True:
        pos += len(delim)
        if body.startswith(b"--", pos):
            break                                          # close delimiter
        eol = body.find(b"\n", pos)
        if eol < 0:
            problems.append("multipart part without headers")
            break
        hstart = eol + 1
        # headers end at the first empty line
        hend = -1
        bstart = -1
        j = hstart
        while True:
            nl = body.find(b"\n", j)
            if nl < 0:
                break
            line = body[j:nl]
            if line in (b"", b"\r"):
                hend, bstart = j, nl + 1
                break
            j = nl + 1
        if hend < 0:
            problems.append("multipart part headers not terminated")
            break
        headers: list[tuple[str, str]] = []
        for raw in body[hstart:hend].split(b"\n"):
            raw = raw.rstrip(b"\r")
            if not raw:
                continue
            if raw[:1] in (b" ", b"\t") and headers:
                n, v = headers[-1]
                headers[-1] = (n, v + " " + raw.strip().decode("latin-1"))
                continue
            k, sep, v = raw.partition(b":")
            if not sep:
                problems.append("malformed multipart header line")
                continue
            headers.append((k.strip().decode("latin-1"), v.strip().decode("utf-8", "replace")))
        end = body.find(b"\n" + delim, bstart)
        if end < 0:
            problems.append("multipart body without closing delimiter")
            data = body[bstart:]
            nxt = -1
        else:
            data = body[bstart:end]
            if data.endswith(b"\r"):
                data = data[:-1]
            nxt = end + 1
        name = filename = ctype = None
        for k, v in headers:
            kl = k.lower()
            if kl == "content-disposition":
                _, params = header_params(v)
                name = params.get("name")
                filename = disposition_filename(v)
            elif kl == "content-type":
                ctype = v.split(";", 1)[0].strip().lower() or None
        parts.append(Part(tuple(headers), name, filename, ctype, data))
        if len(parts) >= max_parts:
            problems.append("multipart parts over the limit")
            break
        if nxt < 0:
            break
        pos = nxt
    return parts, problems
