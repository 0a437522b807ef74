#!/bin/sh
# Record wiretale's sample captures from real servers and clients on loopback.
# Run as root on a disposable Debian 12 (bookworm) machine:   sudo sh samples/record.sh [scenario ...]
# It installs Debian packages (servers are kept from starting by a policy-rc.d),
# overwrites the system configuration of postfix, then starts every server by hand:
# the labs in a network namespace of their own (the clients in a second one, the two
# joined by a veth pair made and removed by record.py), the others on 127.0.0.1 / ::1;
# records each scenario with dumpcap or tcpdump and writes samples/<capture> plus
# samples/expected/<capture stem>.json.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" != 0 ]; then echo "run as root" >&2; exit 1; fi
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
fi
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends \
    tcpdump tshark curl openssl socat expect ethtool iproute2 \
    postfix dovecot-core dovecot-imapd dovecot-pop3d swaks libnet-ssleay-perl libio-socket-ssl-perl \
    nginx-light inetutils-telnetd inetutils-telnet llmnrd \
    tftpd-hpa tftp-hpa bind9 bind9-dnsutils snmpd snmp snmptrapd lftp
python3 -m pip install -q 'pyftpdlib==2.2.0' 'pexpect>=4.8' 'websockets>=13'
exec python3 "$HERE/record.py" "$@"
