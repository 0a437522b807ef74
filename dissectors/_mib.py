"""A small bundled table of SNMP object names (no MIB compiler, no files).

What it covers: the MIB-2 groups of RFC 1213 (system, interfaces, at, ip, icmp,
tcp, udp, egp, snmp) with the later additions students meet most (sysOR table
from RFC 3418, ifXTable from RFC 2863, hrSystem from RFC 2790), the
SNMPv2-MIB notification objects and standard traps (RFC 3418: coldStart …
authenticationFailure), the SNMPv3 engine, MPD and USM statistics objects that
Report PDUs carry (RFC 3411, 3412, 3414), and the top of the tree
(``internet``, ``mib-2``, ``enterprises`` …).

:func:`oid_name` resolves the longest known prefix and appends the remaining
arcs as the instance: ``1.3.6.1.2.1.1.1.0`` → ``sysDescr.0``,
``1.3.6.1.2.1.2.2.1.10.3`` → ``ifInOctets.3``. Unknown OIDs give ``""``.

Limits: names only (no types, no index decoding, no enterprise MIBs).
The table is built once at import into a read-only mapping.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

__all__ = ["OID_NAMES", "oid_name", "GENERIC_TRAPS"]


def _columns(prefix: str, names: str, start: int = 1) -> dict[str, str]:
    """``names`` are consecutive arcs under ``prefix`` (``-`` skips an arc)."""
    out = {}
    for i, name in enumerate(names.split(), start):
        if name != "-":
            out[f"{prefix}.{i}"] = name
    return out


def _build() -> dict[str, str]:
    t: dict[str, str] = {
        "1.3.6.1": "internet",
        "1.3.6.1.1": "directory",
        "1.3.6.1.2": "mgmt",
        "1.3.6.1.2.1": "mib-2",
        "1.3.6.1.3": "experimental",
        "1.3.6.1.4": "private",
        "1.3.6.1.4.1": "enterprises",
        "1.3.6.1.5": "security",
        "1.3.6.1.6": "snmpV2",
        "1.3.6.1.6.1": "snmpDomains",
        "1.3.6.1.6.2": "snmpProxys",
        "1.3.6.1.6.3": "snmpModules",
    }
    m2 = "1.3.6.1.2.1"
    t.update(_columns(m2, "system interfaces at ip icmp tcp udp egp - transmission snmp"))
    t[f"{m2}.25"] = "host"
    t[f"{m2}.31"] = "ifMIB"
    # system (RFC 1213, RFC 3418)
    t.update(_columns(f"{m2}.1", "sysDescr sysObjectID sysUpTime sysContact sysName "
                                 "sysLocation sysServices sysORLastChange sysORTable"))
    t[f"{m2}.1.9.1"] = "sysOREntry"
    t.update(_columns(f"{m2}.1.9.1", "sysORIndex sysORID sysORDescr sysORUpTime"))
    # interfaces
    t.update(_columns(f"{m2}.2", "ifNumber ifTable"))
    t[f"{m2}.2.2.1"] = "ifEntry"
    t.update(_columns(f"{m2}.2.2.1",
                      "ifIndex ifDescr ifType ifMtu ifSpeed ifPhysAddress ifAdminStatus "
                      "ifOperStatus ifLastChange ifInOctets ifInUcastPkts ifInNUcastPkts "
                      "ifInDiscards ifInErrors ifInUnknownProtos ifOutOctets ifOutUcastPkts "
                      "ifOutNUcastPkts ifOutDiscards ifOutErrors ifOutQLen ifSpecific"))
    # at
    t[f"{m2}.3.1"] = "atTable"
    t[f"{m2}.3.1.1"] = "atEntry"
    t.update(_columns(f"{m2}.3.1.1", "atIfIndex atPhysAddress atNetAddress"))
    # ip
    t.update(_columns(f"{m2}.4",
                      "ipForwarding ipDefaultTTL ipInReceives ipInHdrErrors ipInAddrErrors "
                      "ipForwDatagrams ipInUnknownProtos ipInDiscards ipInDelivers "
                      "ipOutRequests ipOutDiscards ipOutNoRoutes ipReasmTimeout ipReasmReqds "
                      "ipReasmOKs ipReasmFails ipFragOKs ipFragFails ipFragCreates "
                      "ipAddrTable ipRouteTable ipNetToMediaTable ipRoutingDiscards"))
    t[f"{m2}.4.20.1"] = "ipAddrEntry"
    t.update(_columns(f"{m2}.4.20.1", "ipAdEntAddr ipAdEntIfIndex ipAdEntNetMask "
                                      "ipAdEntBcastAddr ipAdEntReasmMaxSize"))
    t[f"{m2}.4.21.1"] = "ipRouteEntry"
    t.update(_columns(f"{m2}.4.21.1",
                      "ipRouteDest ipRouteIfIndex ipRouteMetric1 ipRouteMetric2 "
                      "ipRouteMetric3 ipRouteMetric4 ipRouteNextHop ipRouteType "
                      "ipRouteProto ipRouteAge ipRouteMask ipRouteMetric5 ipRouteInfo"))
    t[f"{m2}.4.22.1"] = "ipNetToMediaEntry"
    t.update(_columns(f"{m2}.4.22.1", "ipNetToMediaIfIndex ipNetToMediaPhysAddress "
                                      "ipNetToMediaNetAddress ipNetToMediaType"))
    # icmp
    t.update(_columns(f"{m2}.5",
                      "icmpInMsgs icmpInErrors icmpInDestUnreachs icmpInTimeExcds "
                      "icmpInParmProbs icmpInSrcQuenchs icmpInRedirects icmpInEchos "
                      "icmpInEchoReps icmpInTimestamps icmpInTimestampReps icmpInAddrMasks "
                      "icmpInAddrMaskReps icmpOutMsgs icmpOutErrors icmpOutDestUnreachs "
                      "icmpOutTimeExcds icmpOutParmProbs icmpOutSrcQuenchs icmpOutRedirects "
                      "icmpOutEchos icmpOutEchoReps icmpOutTimestamps icmpOutTimestampReps "
                      "icmpOutAddrMasks icmpOutAddrMaskReps"))
    # tcp (RFC 1213, RFC 4022)
    t.update(_columns(f"{m2}.6",
                      "tcpRtoAlgorithm tcpRtoMin tcpRtoMax tcpMaxConn tcpActiveOpens "
                      "tcpPassiveOpens tcpAttemptFails tcpEstabResets tcpCurrEstab tcpInSegs "
                      "tcpOutSegs tcpRetransSegs tcpConnTable tcpInErrs tcpOutRsts - "
                      "tcpHCInSegs tcpHCOutSegs tcpConnectionTable tcpListenerTable"))
    t[f"{m2}.6.13.1"] = "tcpConnEntry"
    t.update(_columns(f"{m2}.6.13.1", "tcpConnState tcpConnLocalAddress tcpConnLocalPort "
                                      "tcpConnRemAddress tcpConnRemPort"))
    # udp (RFC 1213, RFC 4113)
    t.update(_columns(f"{m2}.7", "udpInDatagrams udpNoPorts udpInErrors udpOutDatagrams "
                                 "udpTable - udpEndpointTable udpHCInDatagrams "
                                 "udpHCOutDatagrams"))
    t[f"{m2}.7.5.1"] = "udpEntry"
    t.update(_columns(f"{m2}.7.5.1", "udpLocalAddress udpLocalPort"))
    # egp
    t.update(_columns(f"{m2}.8", "egpInMsgs egpInErrors egpOutMsgs egpOutErrors "
                                 "egpNeighTable egpAs"))
    t[f"{m2}.8.5.1"] = "egpNeighEntry"
    t.update(_columns(f"{m2}.8.5.1",
                      "egpNeighState egpNeighAddr egpNeighAs egpNeighInMsgs egpNeighInErrs "
                      "egpNeighOutMsgs egpNeighOutErrs egpNeighInErrMsgs egpNeighOutErrMsgs "
                      "egpNeighStateUps egpNeighStateDowns egpNeighIntervalHello "
                      "egpNeighIntervalPoll egpNeighMode egpNeighEventTrigger"))
    # snmp group (RFC 1213, RFC 3418)
    t.update(_columns(f"{m2}.11",
                      "snmpInPkts snmpOutPkts snmpInBadVersions snmpInBadCommunityNames "
                      "snmpInBadCommunityUses snmpInASNParseErrs - snmpInTooBigs "
                      "snmpInNoSuchNames snmpInBadValues snmpInReadOnlys snmpInGenErrs "
                      "snmpInTotalReqVars snmpInTotalSetVars snmpInGetRequests snmpInGetNexts "
                      "snmpInSetRequests snmpInGetResponses snmpInTraps snmpOutTooBigs "
                      "snmpOutNoSuchNames snmpOutBadValues - snmpOutGenErrs "
                      "snmpOutGetRequests snmpOutGetNexts snmpOutSetRequests "
                      "snmpOutGetResponses snmpOutTraps snmpEnableAuthenTraps "
                      "snmpSilentDrops snmpProxyDrops"))
    # host resources (RFC 2790)
    t.update(_columns(f"{m2}.25", "hrSystem hrStorage hrDevice hrSWRun hrSWRunPerf "
                                  "hrSWInstalled"))
    t.update(_columns(f"{m2}.25.1", "hrSystemUptime hrSystemDate hrSystemInitialLoadDevice "
                                    "hrSystemInitialLoadParameters hrSystemNumUsers "
                                    "hrSystemProcesses hrSystemMaxProcesses"))
    # ifMIB (RFC 2863)
    t[f"{m2}.31.1"] = "ifMIBObjects"
    t[f"{m2}.31.1.1"] = "ifXTable"
    t[f"{m2}.31.1.1.1"] = "ifXEntry"
    t.update(_columns(f"{m2}.31.1.1.1",
                      "ifName ifInMulticastPkts ifInBroadcastPkts ifOutMulticastPkts "
                      "ifOutBroadcastPkts ifHCInOctets ifHCInUcastPkts ifHCInMulticastPkts "
                      "ifHCInBroadcastPkts ifHCOutOctets ifHCOutUcastPkts "
                      "ifHCOutMulticastPkts ifHCOutBroadcastPkts ifLinkUpDownTrapEnable "
                      "ifHighSpeed ifPromiscuousMode ifConnectorPresent ifAlias "
                      "ifCounterDiscontinuityTime"))
    # SNMPv2-MIB notifications (RFC 3418)
    v2 = "1.3.6.1.6.3.1"
    t[v2] = "snmpMIB"
    t[f"{v2}.1"] = "snmpMIBObjects"
    t[f"{v2}.1.4"] = "snmpTrap"
    t[f"{v2}.1.4.1"] = "snmpTrapOID"
    t[f"{v2}.1.4.3"] = "snmpTrapEnterprise"
    t[f"{v2}.1.5"] = "snmpTraps"
    t.update(_columns(f"{v2}.1.5", "coldStart warmStart linkDown linkUp "
                                   "authenticationFailure egpNeighborLoss"))
    t[f"{v2}.1.6.1"] = "snmpSetSerialNo"
    # SNMPv3 framework, MPD, USM (RFC 3411, 3412, 3414)
    t["1.3.6.1.6.3.10"] = "snmpFrameworkMIB"
    t["1.3.6.1.6.3.10.2.1"] = "snmpEngine"
    t.update(_columns("1.3.6.1.6.3.10.2.1", "snmpEngineID snmpEngineBoots snmpEngineTime "
                                            "snmpEngineMaxMessageSize"))
    t["1.3.6.1.6.3.11"] = "snmpMPDMIB"
    t["1.3.6.1.6.3.11.2.1"] = "snmpMPDStats"
    t.update(_columns("1.3.6.1.6.3.11.2.1", "snmpUnknownSecurityModels snmpInvalidMsgs "
                                            "snmpUnknownPDUHandlers"))
    t["1.3.6.1.6.3.15"] = "snmpUsmMIB"
    t["1.3.6.1.6.3.15.1.1"] = "usmStats"
    t.update(_columns("1.3.6.1.6.3.15.1.1",
                      "usmStatsUnsupportedSecLevels usmStatsNotInTimeWindows "
                      "usmStatsUnknownUserNames usmStatsUnknownEngineIDs "
                      "usmStatsWrongDigests usmStatsDecryptionErrors"))
    return t


OID_NAMES: Mapping[str, str] = MappingProxyType(_build())
_MAX_KEY_ARCS = max(k.count(".") + 1 for k in OID_NAMES)

# SNMPv1 generic-trap values (RFC 1157 section 4.1.6).
GENERIC_TRAPS: Mapping[int, str] = MappingProxyType({
    0: "coldStart", 1: "warmStart", 2: "linkDown", 3: "linkUp",
    4: "authenticationFailure", 5: "egpNeighborLoss", 6: "enterpriseSpecific",
})


def oid_name(oid: str) -> str:
    """Longest known prefix's name plus the remaining arcs, or ``""``."""
    n = oid.count(".") + 1          # arcs
    key = oid
    while n > _MAX_KEY_ARCS:
        key = key[:key.rfind(".")]
        n -= 1
    while n > 3:                    # the first n arcs, longest first
        name = OID_NAMES.get(key)
        if name is not None:
            return name + oid[len(key):]
        key = key[:key.rfind(".")]
        n -= 1
    return ""
