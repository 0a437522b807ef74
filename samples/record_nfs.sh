#!/bin/sh
# Record samples/nfs-tcp.pcap and samples/nfs-udp.pcap (see samples/record_nfs.py) from NFS-Ganesha and
# rpcbind with libnfs's tools and a small Python UDP client, in a network namespace of their own.
# Run as root on a disposable Debian 12 (bookworm):   sudo sh samples/record_nfs.sh
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" != 0 ]; then echo "run as root" >&2; exit 1; fi
# (a service the packages start stays in the host's namespace: it collides with nothing of the recording)
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends tcpdump iproute2 util-linux rpcbind nfs-ganesha nfs-ganesha-vfs \
    libnfs-utils nfs-common
exec python3 "$HERE/record_nfs.py" "$@"
