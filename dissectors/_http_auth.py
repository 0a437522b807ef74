"""Credentials HTTP/1.x carries in cleartext, read from a request: pure functions for
:mod:`dissectors.http`, which keeps them on the transaction and writes the ``credentials`` rows.

* ``Authorization`` / ``Proxy-Authorization`` Basic (RFC 7617: base64 of ``user:password``) and
  Digest (RFC 7616: the ``username`` and the ``response`` hash, the parameters' quoted strings unescaped);
* user-info in an absolute request target (``http://user:pass@host/``, RFC 3986 section 3.2.1, deprecated
  by RFC 9110 section 4.2.4 but still sent), shown with the password masked;
* urlencoded form fields that are plainly a password (``password``, ``passwd``, ``pwd``… or a name
  holding ``pass``/``pwd`` but not ``confirm``) with the likeliest user field beside them.

Limits: other schemes (Bearer, NTLM, Negotiate…) are not read; form fields are guessed by name only
(a password field with another name is missed); the dissector buffers at most 64 KiB of a form body.
"""
from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import parse_qsl, unquote

from decoder.model import MASK

_DIGEST_PARAM = re.compile(r'([A-Za-z0-9_\-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)')
_PASSWORD_FIELDS = frozenset({"password", "passwd", "pass", "pwd", "pw", "passwort", "senha",
                              "user_password", "login_password", "userpassword"})
_USER_FIELDS = ("username", "user", "login", "email", "uname", "user_name", "userid", "name",
                "log", "usr", "account", "mail")
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)([^/?#@\s]*)@")


def authorization(value: str) -> tuple[tuple[str, str, str] | None, str]:
    """An Authorization header value → ``((user, secret, kind) or None, problem)``: the credential of a
    Basic or Digest value, and "" or what is wrong with it (a Basic value that is not base64 gives no
    credential; one without a colon still does)."""
    scheme, _, rest = value.strip().partition(" ")
    scheme = scheme.lower()
    rest = rest.strip()
    if scheme == "basic":
        try:
            raw = base64.b64decode(rest + "=" * (-len(rest) % 4), validate=False)
        except (binascii.Error, ValueError):
            return None, "Basic credentials are not base64"
        user, sep, pw = raw.decode("utf-8", "replace").partition(":")
        return (user, pw, "basic"), "" if sep else "Basic credentials without a colon"
    if scheme == "digest":
        params = {}
        for m in _DIGEST_PARAM.finditer(rest):
            v = m.group(2)
            if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
                v = re.sub(r"\\(.)", r"\1", v[1:-1])
            params[m.group(1).lower()] = v
        return (params.get("username", ""), params.get("response", ""), "digest"), ""
    return None, ""


def masked_authorization(value: str) -> str:
    """An Authorization header value as events show it: the scheme, then MASK."""
    scheme = value.strip().partition(" ")[0]
    return f"{scheme} {MASK}" if scheme else MASK


def userinfo(uri: str) -> tuple[str, str, str] | None:
    """A request target with user-info → ``(target with the password masked, user, password)``, else None."""
    m = _USERINFO.match(uri)
    if m is None:
        return None
    user, sep, pw = m.group(2).partition(":")
    shown = f"{m.group(1)}{m.group(2).partition(':')[0]}{':' + MASK if sep else ''}@{uri[m.end():]}"
    return shown, unquote(user, errors="replace"), unquote(pw, errors="replace")


def form_credentials(body: bytes) -> tuple[str, str] | None:
    """An urlencoded form body → ``(user, password)`` when a field is plainly a non-empty password."""
    try:
        pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="replace")
    except ValueError:
        return None
    low = [(k.lower(), v) for k, v in pairs]
    pw = next(((k, v) for k, v in low if k in _PASSWORD_FIELDS
               or (("pass" in k or "pwd" in k) and "confirm" not in k)), None)
    if pw is None or not pw[1]:
        return None
    user = ""
    for cand in _USER_FIELDS:
        user = next((v for k, v in low if k == cand), "")
        if user:
            break
    if not user:
        user = next((v for k, v in low if "user" in k or "login" in k or "mail" in k), "")
    return user, pw[1]
