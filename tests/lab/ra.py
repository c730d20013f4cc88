"""A minimal IPv6 router advertiser for a lab link.

Firmware that configures IPv6 waits for a router advertisement before it
settles: iPXE holds its "Configuring" step until its IPv6 configurator has
an answer or times out (about 13 s of a 25 s boot under TCG here), and
OVMF's IPv6 stack waits similarly before PXE and HTTP boot over IPv6. A real
site has a router sending them; this lab's stand-in sends one every
``interval`` seconds to all nodes (ff02::1) from ``interface``: managed and
other-configuration flags set (addresses and options come from DHCPv6, here
rackd's dhcpd6), router lifetime 0 (it is no default router), no prefix.

It runs inside a lab namespace as its own process:
``ip netns exec NS python -m tests.lab.ra -i eth0``; the kernel fills in the
ICMPv6 checksum of a raw ICMPv6 socket.
"""

import argparse
import socket
import struct
import sys
import time

ROUTER_ADVERTISEMENT = 134
MANAGED, OTHER = 0x80, 0x40


def advertisement(flags=MANAGED | OTHER, hop_limit=64, lifetime=0):
    """The ICMPv6 router advertisement (RFC 4861 4.2), checksum left zero."""
    return struct.pack("!BBHBBHII", ROUTER_ADVERTISEMENT, 0, 0, hop_limit, flags, lifetime, 0, 0)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.lab.ra")
    parser.add_argument("--interface", "-i", required=True)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    index = socket.if_nametoindex(args.interface)
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
    packet = advertisement()
    while True:
        sock.sendto(packet, ("ff02::1", 0, 0, index))
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
