"""Real servers and clients on the loopback interface for the live-capture tests and the RSS benchmark.

* SMTP: aiosmtpd's Controller (a real SMTP server) and smtplib;
* HTTP: http.server's ThreadingHTTPServer and urllib;
* DNS: a small UDP responder whose answers dnspython builds, and dnspython's client.

Each server listens on 127.0.0.1 on a free port from the kernel (so concurrent runs do not
collide) and records what it saw, which the tests use as the oracle for the decoded tables.
"""
from __future__ import annotations

import socket
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------- SMTP
@dataclass
class SmtpServer:
    port: int
    messages: list = field(default_factory=list)   # (mail_from, rcpt_tos, content bytes)
    controller: object = None

    def start(self) -> "SmtpServer":
        from aiosmtpd.controller import Controller

        server = self

        class Handler:
            async def handle_DATA(self, srv, session, envelope):
                server.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
                return "250 Message accepted for delivery"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()


def send_mail(port: int, sender: str, rcpts: list[str], subject: str, body: str) -> None:
    import smtplib
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(rcpts)
    msg["Subject"] = subject
    msg.set_content(body)
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.example", timeout=10) as s:
        s.send_message(msg, from_addr=sender, to_addrs=rcpts)


# ----------------------------------------------------------------------------- HTTP
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):  # noqa: N802
        if self.path.startswith("/missing"):
            body = b"no such page\n"
            self.send_response(404, "Not Found")
        else:
            body = (f"hello from {self.path}\n" * 3).encode()
            self.send_response(200, "OK")
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.seen.append(("GET", self.path, len(body)))  # type: ignore[attr-defined]

    def do_POST(self):  # noqa: N802
        n = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(n)
        body = b"got %d bytes\n" % len(data)
        self.send_response(201, "Created")
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.seen.append(("POST", self.path, len(body)))  # type: ignore[attr-defined]

    def log_message(self, *args):  # quiet
        pass


class HttpServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.httpd.seen = []  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def seen(self) -> list:
        return self.httpd.seen  # type: ignore[attr-defined]

    def start(self) -> "HttpServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def http_get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def http_post(port: int, path: str, data: bytes) -> tuple[int, bytes]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method="POST",
                                 headers={"Content-Type": "application/octet-stream"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.read()


# ----------------------------------------------------------------------------- DNS
class DnsServer:
    """Answers every A query with ``answer`` (TTL 60) — dnspython builds the reply."""

    def __init__(self, port: int, answer: str = "192.0.2.7") -> None:
        self.port = port
        self.answer = answer
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.2)
        self.queries: list[str] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> "DnsServer":
        self.thread.start()
        return self

    def _serve(self) -> None:
        import dns.message
        import dns.rrset

        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                q = dns.message.from_wire(data)
            except Exception:
                continue
            self.queries.append(q.question[0].name.to_text())
            r = dns.message.make_response(q)
            r.answer.append(dns.rrset.from_text(q.question[0].name, 60, "IN", "A", self.answer))
            self.sock.sendto(r.to_wire(), peer)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(2)
        self.sock.close()


def dns_query(port: int, name: str, timeout: float = 5.0):
    import dns.message
    import dns.query

    return dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1", port=port, timeout=timeout)


def dns_send_only(port: int, name: str) -> bytes:
    """One query datagram, no answer expected (nobody listens)."""
    import dns.message

    wire = dns.message.make_query(name, "A").to_wire()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(wire, ("127.0.0.1", port))
    return wire
