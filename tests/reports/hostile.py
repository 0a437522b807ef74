"""A capture whose every decoded field carries script and HTML injection.

Real handshakes, real protocol syntax (built with dpkt via tests.builders and
dnspython): HTTP request line, headers, response and a downloaded file name;
SMTP EHLO, mail headers, body and an attachment name; FTP user, file name and
data; TFTP file name; DNS names and TXT data; SNMP community; Telnet text.
"""
from __future__ import annotations


import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from tests.builders import Conn, udp_packet, write_pcap

PWN1 = "<script>window.__pwned=1</script>"
PWN2 = '<img src=x onerror="window.__pwned=2">'
PWN3 = "\"'><svg onload=window.__pwned=3>"
NOSPACE = "<svg/onload=window.__pwned=4>"
PAYLOAD = PWN1 + PWN2 + PWN3
B = PAYLOAD.encode()

CLIENT, SERVER = "10.0.0.1", "10.0.0.2"


def _tcp(packets: list, port: int, cport: int, turns: list[tuple[str, bytes]]) -> None:
    c = Conn(c=(CLIENT, cport), s=(SERVER, port), cisn=1000 + cport, sisn=9000 + cport)
    packets += c.handshake()
    for who, data in turns:
        if who == "c":
            packets.append(c.client(data))
            packets.append(c.server_ack())
        else:
            packets.append(c.server(data))
            packets.append(c.client_ack())
    packets += c.close()


def _http(packets: list) -> None:
    body = PWN1.encode() + b"<p>" + B + b"</p>"
    req = (f"GET /{NOSPACE}?q={NOSPACE} HTTP/1.1\r\nHost: {PWN1}\r\nUser-Agent: {PAYLOAD}\r\n"
           f"Referer: javascript:window.__pwned=5\r\nX-Evil: {PAYLOAD}\r\n\r\n").encode()
    resp = (f"HTTP/1.1 200 {PAYLOAD}\r\nContent-Type: text/html\r\nServer: {PAYLOAD}\r\n"
            f"Content-Disposition: attachment; filename=\"{PWN2}.html\"\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    _tcp(packets, 80, 41001, [("c", req), ("s", resp)])


def _smtp(packets: list) -> None:
    msg = (f"From: {PWN1} <a@example.test>\r\nTo: {PWN2} <b@example.test>\r\nSubject: {PAYLOAD}\r\n"
           f"Message-ID: <{NOSPACE}@x>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=\"BB\"\r\n\r\n"
           f"--BB\r\nContent-Type: text/html\r\n\r\n{PAYLOAD}\r\n"
           f"--BB\r\nContent-Type: application/octet-stream\r\n"
           f"Content-Disposition: attachment; filename=\"{PWN2}.txt\"\r\n\r\n{PAYLOAD}\r\n--BB--\r\n").encode()
    _tcp(packets, 25, 41002, [
        ("s", f"220 {PAYLOAD} ESMTP\r\n".encode()),
        ("c", f"EHLO {NOSPACE}\r\n".encode()),
        ("s", b"250-mail.example.test\r\n250 AUTH PLAIN LOGIN\r\n"),
        ("c", b"MAIL FROM:<a@example.test>\r\n"), ("s", b"250 ok\r\n"),
        ("c", b"RCPT TO:<b@example.test>\r\n"), ("s", b"250 ok\r\n"),
        ("c", b"DATA\r\n"), ("s", b"354 go ahead\r\n"),
        ("c", msg + b".\r\n"), ("s", f"250 queued {PAYLOAD}\r\n".encode()),
        ("c", b"QUIT\r\n"), ("s", b"221 bye\r\n"),
    ])


def _ftp(packets: list) -> None:
    c = Conn(c=(CLIENT, 41003), s=(SERVER, 21), cisn=100, sisn=200)
    packets += c.handshake()

    def say(who, data):
        if who == "c":
            packets.extend([c.client(data), c.server_ack()])
        else:
            packets.extend([c.server(data), c.client_ack()])

    say("s", f"220 {PAYLOAD}\r\n".encode())
    say("c", f"USER {NOSPACE}\r\n".encode())
    say("s", b"331 need password\r\n")
    say("c", b"PASS hunter2-Secret\r\n")
    say("s", b"230 ok\r\n")
    say("c", b"PASV\r\n")
    say("s", b"227 Entering Passive Mode (10,0,0,2,117,48)\r\n")   # port 30000
    say("c", f"RETR {NOSPACE}.txt\r\n".encode())
    d = Conn(c=(CLIENT, 41004), s=(SERVER, 30000), cisn=300, sisn=400)
    packets += d.handshake()
    say("s", b"150 opening data connection\r\n")
    packets += [d.server(B), d.client_ack()]
    packets += d.close()
    say("s", f"226 done {PAYLOAD}\r\n".encode())
    say("c", b"QUIT\r\n")
    say("s", b"221 bye\r\n")
    packets += c.close()


def _telnet(packets: list) -> None:
    IAC, DO, WILL = 255, 253, 251
    _tcp(packets, 23, 41005, [
        ("s", bytes([IAC, WILL, 1, IAC, WILL, 3, IAC, DO, 24])),
        ("c", bytes([IAC, DO, 1, IAC, DO, 3])),
        ("s", f"{PAYLOAD}\r\nlogin: ".encode()),
        ("c", f"{NOSPACE}\r\n".encode()),
        ("s", f"{NOSPACE}\r\nPassword: ".encode()),
        ("c", b"pw-Secret-42\r\n"),
        ("s", f"\r\nLast login {PAYLOAD}\r\n$ ".encode()),
        ("c", f"echo {PWN1}\r\n".encode()),
        ("s", f"echo {PWN1}\r\n{PWN1}\r\n$ ".encode()),
    ])


def _dns(packets: list) -> None:
    name = dns.name.Name([PWN1.encode(), NOSPACE.encode(), b"example", b"test", b""])
    q = dns.message.make_query(name, dns.rdatatype.TXT, use_edns=False)
    q.id = 4242
    r = dns.message.make_response(q)
    rr = dns.rrset.from_text(name, 60, dns.rdataclass.IN, dns.rdatatype.TXT,
                             '"' + PAYLOAD.replace('"', '\\"') + '"')
    r.answer.append(rr)
    packets.append(udp_packet(CLIENT, 41006, SERVER, 53, q.to_wire()))
    packets.append(udp_packet(SERVER, 53, CLIENT, 41006, r.to_wire()))


def _ber(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 128:
        return bytes([tag, n]) + body
    ln = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(ln)]) + ln + body


def _int(v: int) -> bytes:
    return _ber(0x02, v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big", signed=True))


def _snmp(packets: list) -> None:
    oid = _ber(0x06, bytes([0x2B, 6, 1, 2, 1, 1, 5, 0]))           # 1.3.6.1.2.1.1.5.0 sysName.0
    vb_req = _ber(0x30, _ber(0x30, oid + b"\x05\x00"))
    vb_resp = _ber(0x30, _ber(0x30, oid + _ber(0x04, B)))
    comm = _ber(0x04, PWN2.encode())
    get = _ber(0x30, _int(1) + comm + _ber(0xA0, _int(77) + _int(0) + _int(0) + vb_req))
    resp = _ber(0x30, _int(1) + comm + _ber(0xA2, _int(77) + _int(0) + _int(0) + vb_resp))
    packets.append(udp_packet(CLIENT, 41007, SERVER, 161, get))
    packets.append(udp_packet(SERVER, 161, CLIENT, 41007, resp))


def _tftp(packets: list) -> None:
    fname = f"{PWN1}{NOSPACE}.txt".encode()
    packets.append(udp_packet(CLIENT, 41008, SERVER, 69, b"\x00\x01" + fname + b"\x00octet\x00"))
    packets.append(udp_packet(SERVER, 50123, CLIENT, 41008, b"\x00\x03\x00\x01" + B))
    packets.append(udp_packet(CLIENT, 41008, SERVER, 50123, b"\x00\x04\x00\x01"))


def write_hostile(path) -> None:
    packets: list = []
    for part in (_http, _smtp, _ftp, _telnet, _dns, _snmp, _tftp):
        part(packets)
    write_pcap(path, packets, step=0.002)
