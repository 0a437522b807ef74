#!/usr/bin/env python3
"""Record ``samples/nfs-tcp.pcap`` and ``samples/nfs-udp.pcap`` from a real user-space NFS server.

Run as root on Debian 12 through ``samples/record_nfs.sh`` (it installs the packages). The script
re-runs itself inside a new network namespace (``unshare -n``: only a loopback interface, so ports
111 and 2049 collide with nothing and no kernel NFS module is needed), then

1. seeds an export directory with fixed content (``hello.txt``, ``docs/notes.txt``, ``docs/report.bin``),
2. starts rpcbind and NFS-Ganesha (FSAL VFS; NFS v3 and v4, UDP and TCP; NFS on port 12049, which no
   port rule knows: clients learn it from the portmapper; MOUNT on 20048),
3. ``nfs-tcp.pcap``: ``rpcinfo -p`` (portmapper DUMP), ``showmount -e`` (MOUNT EXPORT), libnfs's
   ``nfs-ls`` (v3: portmapper GETPORT, MNT, READDIRPLUS), ``nfs-cp`` down (READ) and up (CREATE,
   WRITE), ``nfs-cp`` of a missing file (NFS3ERR_NOENT), ``nfs-ls`` over v4 (COMPOUND);
4. ``nfs-udp.pcap``: ``rpcinfo -u`` (rpcbind GETADDR and NULL over UDP) and ``nfs_udp_client.py``
   (portmapper GETPORT, MOUNT v1 and v3 MNT/UMNT, NFS v2 NULL refused by the server, LOOKUP, READ
   in order and out of order, CREATE, WRITE, COMMIT, READDIR — libnfs has no UDP transport);
5. writes ``samples/expected/nfs-{tcp,udp}.json``: the files served and their sha256, what each client
   read (checked equal to what was served) and wrote (checked equal to what the server stored).

NFS v2: Ganesha does not serve it (no v2 server is packaged in Debian 12), so v2 appears only as a
NULL call the server refuses with PROG_MISMATCH; v2 procedures are tested with fixtures built from
RFC 1094.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXPECTED = HERE / "expected"
NFS_PORT, MNT_PORT = 12049, 20048

GANESHA_CONF = """
NFS_CORE_PARAM {{
    Protocols = 3, 4;
    Enable_UDP = true;
    NFS_Port = {nfs_port};
    MNT_Port = {mnt_port};
    Enable_NLM = false;
    Enable_RQUOTA = false;
}}
NFSV4 {{ Graceless = true; }}
EXPORT {{
    Export_Id = 1;
    Path = {export};
    Pseudo = /export;
    Access_Type = RW;
    Squash = No_Root_Squash;
    Protocols = 3, 4;
    Transports = UDP, TCP;
    SecType = sys;
    FSAL {{ Name = VFS; }}
}}
LOG {{ Default_Log_Level = EVENT; }}
"""


def sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def run(cmd: list[str], check: bool = True) -> subprocess.CompletedProcess:
    print("  $", " ".join(cmd), flush=True)
    res = subprocess.run(cmd, capture_output=True, text=True)
    if check and res.returncode != 0:
        raise RuntimeError(f"{cmd} failed ({res.returncode}): {res.stdout}{res.stderr}")
    return res


def version(pkg: str) -> str:
    return run(["dpkg-query", "-W", "-f=${Version}", pkg]).stdout


class Capture:
    def __init__(self, path: Path, filt: str) -> None:
        self.path, self.filt = path, filt

    def __enter__(self) -> "Capture":
        self.p = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "-s", "0", "-w", str(self.path), self.filt],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)
        return self

    def __exit__(self, *exc) -> None:
        time.sleep(1.0)
        self.p.terminate()
        self.p.wait(10)


def seed(export: Path) -> dict[str, bytes]:
    rnd = random.Random("wiretale-nfs")
    files = {
        "hello.txt": b"Hello from an NFS export recorded for wiretale.\n" * 3,
        "docs/notes.txt": "".join(f"note {i:04d}: the file handle names the file, not its path\n"
                                  for i in range(130)).encode()[:6000],
        "docs/report.bin": rnd.randbytes(150_000),
    }
    for name, data in files.items():
        p = export / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


def start_servers(work: Path, export: Path) -> list[subprocess.Popen]:
    conf = work / "ganesha.conf"
    conf.write_text(GANESHA_CONF.format(export=export, nfs_port=NFS_PORT, mnt_port=MNT_PORT))
    procs = [subprocess.Popen(["rpcbind", "-f", "-w"])]
    time.sleep(1)
    procs.append(subprocess.Popen(["ganesha.nfsd", "-F", "-f", str(conf), "-L", str(work / "ganesha.log"),
                                   "-p", str(work / "ganesha.pid"), "-N", "NIV_EVENT"]))
    for _ in range(60):
        time.sleep(0.5)
        if "100003" in run(["rpcinfo", "-p", "127.0.0.1"], check=False).stdout:
            return procs
    raise RuntimeError("ganesha did not register with rpcbind:\n" + (work / "ganesha.log").read_text())


def record_tcp(export: Path, files: dict[str, bytes], work: Path) -> dict:
    url = f"nfs://127.0.0.1{export}"
    upload = random.Random("wiretale-nfs-upload").randbytes(70_000)
    (work / "upload.bin").write_bytes(upload)
    got = work / "got.bin"
    out: dict = {"commands": []}
    with Capture(HERE / "nfs-tcp.pcap", "tcp"):
        for cmd, check in [
            (["rpcinfo", "-p", "127.0.0.1"], True),
            (["showmount", "-e", "127.0.0.1"], True),
            (["nfs-ls", f"{url}?version=3"], True),
            (["nfs-cp", f"{url}/docs/report.bin?version=3", str(got)], True),
            (["nfs-cp", str(work / "upload.bin"), f"{url}/upload.bin?version=3"], True),
            (["nfs-cp", f"{url}/missing.txt?version=3", str(work / "none")], False),
            (["nfs-ls", f"nfs://127.0.0.1/export?version=4&nfsport={NFS_PORT}"], True),
        ]:
            res = run(cmd, check=check)
            out["commands"].append({"argv": cmd, "returncode": res.returncode, "stdout": res.stdout})
            time.sleep(0.3)
    read = got.read_bytes()
    assert read == files["docs/report.bin"], "nfs-cp read something else than the server's file"
    stored = (export / "upload.bin").read_bytes()
    assert stored == upload, "the server stored something else than nfs-cp wrote"
    out["read"] = [{"path": f"{export}/docs/report.bin", "client": "nfs-cp", "size": len(read),
                    "sha256": sha256(read)}]
    out["written"] = [{"path": f"{export}/upload.bin", "client": "nfs-cp", "size": len(upload),
                       "sha256": sha256(upload)}]
    out["missing"] = [f"{export}/missing.txt"]
    return out


def record_udp(export: Path, files: dict[str, bytes]) -> dict:
    with Capture(HERE / "nfs-udp.pcap", "udp"):
        rpcinfo = run(["rpcinfo", "-u", "127.0.0.1", "mountd", "3"])
        client = run([sys.executable, str(HERE / "nfs_udp_client.py"), "127.0.0.1", str(export)])
    got = json.loads(client.stdout)
    assert got["read"]["sha256"] == sha256(files["hello.txt"]), "UDP read differs from the served file"
    assert got["read_out_of_order"]["sha256"] == sha256(files["docs/notes.txt"])
    stored = (export / "udp-upload.txt").read_bytes()
    assert sha256(stored) == got["write"]["sha256"], "the server stored something else than was written"
    return {"rpcinfo": rpcinfo.stdout, "client": got}


def write_expected(stem: str, files: dict[str, bytes], export: Path, facts: dict, description: str) -> None:
    cap = HERE / f"{stem}.pcap"
    transport = stem.rsplit("-", 1)[1]
    doc = {
        "capture": cap.name, "format": "pcap", "interface": "lo (a network namespace of its own)",
        "link_type": "ether", "capture_filter": transport,
        "capture_sha256": sha256(cap.read_bytes()),
        # the kernel picks the clients' reserved ports; tshark takes some for other protocols (854: DLEP)
        "tshark_decode_as": [f"{transport}.port=={port},rpc" for port in (MNT_PORT, NFS_PORT)],
        "protocols": ["portmapper", "mount", "nfs"],
        "description": description,
        "recorded_with": {"script": "samples/record_nfs.py", "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00",
                                                                                          time.gmtime())},
        "software": {"debian": {p: version(p) for p in ("nfs-ganesha", "nfs-ganesha-vfs", "rpcbind",
                                                        "libnfs-utils", "nfs-common")},
                     "python": sys.version.split()[0]},
        "servers": [{"service": "portmapper", "software": "rpcbind", "addr": "127.0.0.1", "port": 111},
                    {"service": "mount", "software": "nfs-ganesha", "addr": "127.0.0.1", "port": MNT_PORT},
                    {"service": "nfs", "software": "nfs-ganesha", "addr": "127.0.0.1", "port": NFS_PORT,
                     "versions": [3, 4]}],
        "export": str(export),
        "server_files": {f"{export}/{n}": {"size": len(d), "sha256": sha256(d)} for n, d in files.items()},
        **facts,
    }
    (EXPECTED / f"{stem}.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def main() -> None:
    if os.geteuid() != 0:
        sys.exit("run as root")
    if not os.environ.get("WT_NFS_NETNS"):
        os.environ["WT_NFS_NETNS"] = "1"
        os.execvp("unshare", ["unshare", "-n", sys.executable, __file__, *sys.argv[1:]])
    run(["ip", "link", "set", "lo", "up"])
    work = Path(tempfile.mkdtemp(prefix="wiretale-nfs-"))
    export = Path("/srv/wiretale-nfs")       # a fixed path: it is in the capture (MNT, showmount)
    shutil.rmtree(export, ignore_errors=True)
    export.mkdir(parents=True)
    files = seed(export)
    procs = start_servers(work, export)
    try:
        tcp = record_tcp(export, files, work)
        udp = record_udp(export, files)
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(20)
    write_expected("nfs-tcp", files, export, tcp,
                   f"rpcbind and NFS-Ganesha (NFS on {NFS_PORT}, MOUNT on {MNT_PORT}) in a network namespace. "
                   "rpcinfo -p; showmount -e; nfs-ls v3; nfs-cp of docs/report.bin down; nfs-cp of upload.bin "
                   "up; nfs-cp of a missing file; nfs-ls v4.")
    write_expected("nfs-udp", files, export, udp,
                   "The same servers over UDP: rpcinfo -u mountd 3; samples/nfs_udp_client.py (GETPORT, MOUNT v1 "
                   "MNT/UMNT, MOUNT v3 MNT, NFS v2 NULL refused, LOOKUP, READ in 4 KiB blocks, READ out of "
                   "order, LOOKUP of a missing file, CREATE, WRITE, COMMIT, READDIR, UMNT).")
    print("wrote", [str(HERE / f"nfs-{t}.pcap") for t in ("tcp", "udp")])


if __name__ == "__main__":
    main()
