"""Lease events from dhcpd's own per-packet log lines (pure).

dhcpd logs every lease it hands out and every release it accepts, in lines
it writes anyway (`provisioningserver.leases.txlog` parses them). rackd's
default event source makes its commit and release events from those lines,
so dhcpd writes nothing extra per lease; only expiries, which dhcpd does not
log, come from a ``log()`` in ``on expiry`` (`provisioningserver.dhcp.hooks`).

    DHCPACK on IP to MAC [(NAME)] via ...        commit (v4; renewals too)
    BOOTREPLY on IP to MAC [(NAME)] via ...      commit (v4, BOOTP, a pool address)
    BOOTREPLY for IP to NAME (MAC) via ...       commit (v4, BOOTP, a fixed address)
    DHCPRELEASE of IP from MAC ... (found)       release (v4)
    Reply NA: address IP to client with duid D   commit (v6), valid for N s
    Client D releases address IP                 release (v6)

Not events: a DHCPACK that answers a DHCPINFORM (no lease), a release dhcpd
did not find, a Reply NA with a valid lifetime of 0 (dhcpd withdrawing an
address the client still had), Advertise lines (offers).

What the lines do not say comes from elsewhere: the DHCPv4 lease time from
the leases file (`provisioningserver.leases.leasetimes`), or for a fixed
address from the record dhcpd logs before its DHCPACK, and whether a host
reservation names the client from rackd's applied host list.
"""

from provisioningserver.dhcp.leaserecord import LeaseEvent, clean_hostname


class Unusable(ValueError):
    """A transaction that should be an event but lacks what one needs."""


def lease_event(transaction, lease_time, known):
    """The `LeaseEvent` a transaction is, or None if it is none.

    ``lease_time(ip, mac)`` gives a DHCPv4 lease's time (or None);
    ``known(mac)`` is True when a reservation names the MAC, None when that
    cannot be told. Raises Unusable for an event without its client.
    """
    t = transaction
    if t.family == 4:
        if t.type in ("ACK", "BOOTREPLY") and not t.inform:
            action = "commit"
        elif t.type == "RELEASE" and t.reason == "found":
            action = "release"
        else:
            return None
        if t.mac is None or t.ip is None:
            raise Unusable(f"a DHCPv4 {t.type} without a MAC address")
        hostname = None if t.hostname is None else clean_hostname(t.hostname)
        if action == "release":
            return LeaseEvent(action=action, ip_family=4, ip=t.ip, mac=t.mac,
                              hostname=hostname, timestamp=t.time)
        is_known = known(t.mac)
        return LeaseEvent(action=action, ip_family=4, ip=t.ip, mac=t.mac, hostname=hostname,
                          lease_time=lease_time(t.ip, t.mac), timestamp=t.time,
                          unknown_client=None if is_known is None else not is_known)
    if t.type == "REPLY" and t.ip is not None and t.duid is not None:
        if t.lease_time == 0:
            return None
        return LeaseEvent(action="commit", ip_family=6, ip=t.ip, duid=t.duid,
                          lease_time=t.lease_time, timestamp=t.time)
    if t.type == "RELEASE" and t.ip is not None and t.duid is not None:
        return LeaseEvent(action="release", ip_family=6, ip=t.ip, duid=t.duid,
                          timestamp=t.time)
    return None
