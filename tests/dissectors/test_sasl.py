"""dissectors._sasl.SaslExchange, the SASL reading POP3 AUTH and IMAP AUTHENTICATE share:
which client lines are responses, what is shown of them, and the credential per mechanism."""
from __future__ import annotations

import base64

import pytest

from dissectors._sasl import SaslExchange


def b64(raw: bytes) -> bytes:
    return base64.b64encode(raw)


def test_responses_follow_challenges_when_the_server_is_seen():
    s = SaslExchange("login")
    assert s.client_line(b"NOOP", server_seen=True) is None          # no challenge yet: a command
    assert s.challenge("VXNlcm5hbWU6") == "Username:"
    assert s.client_line(b64(b"anna") + b"\r", server_seen=True) == ("YW5uYQ==", "anna")
    assert s.client_line(b"NOOP", server_seen=True) is None
    assert s.challenge("UGFzc3dvcmQ6") == "Password:"
    assert s.client_line(b64(b"pw"), server_seen=True) == ("cHc=", "pw")
    assert s.credential() == ("anna", "pw", "password")


def test_without_the_server_the_mechanism_says_how_many_lines_are_responses():
    s = SaslExchange("PLAIN")
    assert s.client_line(b64(b"\x00tim\x00secret"), server_seen=False) == (
        b64(b"\x00tim\x00secret").decode(), "\\0tim\\0secret")
    assert s.client_line(b"STAT", server_seen=False) is None
    assert s.credential() == ("tim", "secret", "password")


def test_star_cancels_at_any_time_and_binary_is_not_shown():
    s = SaslExchange("CRAM-MD5", initial=None)
    assert s.challenge("not base64!") == ""
    assert s.client_line(b64(b"\xff\xfe"), server_seen=True) == (b64(b"\xff\xfe").decode(), "")
    assert s.client_line(b" * ", server_seen=True) == ("*", "")
    assert s.cancelled and s.credential() is None


@pytest.mark.parametrize("mech,responses,want", [
    ("PLAIN", [b64(b"admin\x00bob\x00pw").decode()], ("bob", "pw", "password")),
    ("LOGIN", [b64(b"joe").decode()], ("joe", "", "password")),
    ("CRAM-MD5", [b64(b"tim b913a602c7eda7a495b4e6e7334d3890").decode()],
     ("tim", "b913a602c7eda7a495b4e6e7334d3890", "cram-md5")),
    ("XOAUTH2", [b64(b"user=a@b\x01auth=Bearer tok\x01\x01").decode()], ("a@b", "tok", "oauth2")),
    ("OAUTHBEARER", [b64(b"n,a=u@x,\x01auth=Bearer t2\x01\x01").decode()], ("u@x", "t2", "oauth2")),
    ("EXTERNAL", [""], None),
])
def test_credentials_per_mechanism(mech, responses, want):
    s = SaslExchange(mech, responses[0])
    assert s.credential() == want
