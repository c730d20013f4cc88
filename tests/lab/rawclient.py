"""The lab's own DHCPv4 client: send any options, show all that came back.

dhclient only shows what its script is given; to see a server's full answer
(sname, file, siaddr, options nobody asked about) and to send options
dhclient cannot (option 93, odd chaddrs, vendor and user classes), tests use
this client. It runs inside a lab namespace as its own process (Python 3.11
cannot switch a thread's namespace), so `query` runs
``ip netns exec NS python -m tests.lab.rawclient ...`` and reads the JSON it
prints: ``{"offers": [...], "acks": [...], "naks": [...]}``, each reply as
`dhcppacket.parse` gives it.

The socket is UDP port 68 bound to the interface (SO_BINDTODEVICE), with the
broadcast flag set in every request so that the server's replies are
broadcast and reach it although the interface has no address.
"""

import argparse
import json
import os
import random
import select
import socket
import struct
import sys
import time

from tests.lab import dhcppacket

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_option(spec):
    """``CODE=HEX`` or ``CODE=text:STRING`` or ``CODE=u16:N[,N]`` -> (code, bytes)."""
    code, sep, value = spec.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError("option must be CODE=VALUE, got %r" % spec)
    if value.startswith("text:"):
        data = value[5:].encode()
    elif value.startswith("u16:"):
        data = b"".join(struct.pack("!H", int(n)) for n in value[4:].split(","))
    else:
        data = bytes.fromhex(value.replace(":", ""))
    return int(code), data


def client_options(args):
    options = {55: bytes(args.parameters)}
    if args.arch is not None:
        options[93] = b"".join(struct.pack("!H", a) for a in args.arch)
    if args.vendor_class:
        options[60] = args.vendor_class.encode()
    if args.user_class:
        options[77] = args.user_class.encode()
    for code, data in args.option:
        options[code] = data
    return options


def open_socket(ifname):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
    sock.bind(("", 68))
    return sock


def collect(sock, xid, seconds, settle, clock=time):
    """Every reply to ``xid`` within ``seconds``, parsed.

    Once a reply is in, others (from more servers) get ``settle`` seconds
    more, so that a test does not always wait out the whole timeout.
    """
    replies = []
    deadline = clock.monotonic() + seconds
    while True:
        left = deadline - clock.monotonic()
        if left <= 0:
            return replies
        ready, _, _ = select.select([sock], [], [], left)
        if not ready:
            return replies
        data = sock.recv(4096)
        try:
            reply = dhcppacket.parse(data)
        except dhcppacket.PacketError:
            continue
        if reply["op"] == dhcppacket.BOOTREPLY and reply["xid"] == xid:
            replies.append(reply)
            deadline = min(deadline, clock.monotonic() + settle)


def exchange(sock, args):
    """DISCOVER, collect offers; with --request, REQUEST the first, collect acks."""
    xid = random.getrandbits(32)
    options = client_options(args)
    send = lambda msg: sock.sendto(msg, ("255.255.255.255", 67))  # noqa: E731
    send(dhcppacket.build("DISCOVER", xid, args.mac, options))
    replies = collect(sock, xid, args.timeout, args.settle)
    result = {"xid": xid, "offers": [], "acks": [], "naks": []}
    result["offers"] = [r for r in replies if r["message_type"] == "OFFER"]
    if args.request and result["offers"]:
        offer = result["offers"][0]
        request = dict(options)
        request[50] = socket.inet_aton(offer["yiaddr"])
        request[54] = socket.inet_aton(offer["options"]["server-identifier"])
        send(dhcppacket.build("REQUEST", xid, args.mac, request))
        replies = collect(sock, xid, args.timeout, args.settle)
        result["acks"] = [r for r in replies if r["message_type"] == "ACK"]
        result["naks"] = [r for r in replies if r["message_type"] == "NAK"]
    return result


def argument_parser():
    parser = argparse.ArgumentParser(prog="python -m tests.lab.rawclient")
    parser.add_argument("--interface", "-i", required=True)
    parser.add_argument("--mac", help="chaddr (default: a random locally administered one)")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds to collect replies")
    parser.add_argument(
        "--settle", type=float, default=0.3, help="seconds to wait for more replies after one"
    )
    parser.add_argument("--request", action="store_true", help="REQUEST the first offer")
    parser.add_argument("--arch", type=int, action="append", help="option 93 value (repeatable)")
    parser.add_argument("--vendor-class", help="option 60")
    parser.add_argument("--user-class", help="option 77")
    parser.add_argument(
        "--parameters", type=lambda s: [int(n) for n in s.split(",")],
        default=list(dhcppacket.DEFAULT_PARAMETERS), help="option 55, comma-separated codes",
    )
    parser.add_argument(
        "--option", "-o", type=parse_option, action="append", default=[],
        help="CODE=HEX, CODE=text:STRING or CODE=u16:N,N (repeatable)",
    )
    return parser


def random_mac():
    return "02:" + ":".join("%02x" % random.getrandbits(8) for _ in range(5))


def main(argv=None):
    args = argument_parser().parse_args(argv)
    args.mac = args.mac or random_mac()
    with open_socket(args.interface) as sock:
        result = exchange(sock, args)
    result["mac"] = args.mac
    json.dump(result, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


def query(host, ifname="eth0", *, mac=None, arch=None, vendor_class=None, user_class=None,
          parameters=None, options=None, request=False, timeout=2.0, settle=0.3):
    """Run the client in ``host``'s namespace; returns its JSON result.

    ``arch`` is a list of option-93 values; ``options`` maps code to bytes.
    """
    argv = [sys.executable, "-m", "tests.lab.rawclient", "-i", ifname,
            "--timeout", str(timeout), "--settle", str(settle)]
    if mac:
        argv += ["--mac", mac]
    for value in arch or ():
        argv += ["--arch", str(value)]
    if vendor_class:
        argv += ["--vendor-class", vendor_class]
    if user_class:
        argv += ["--user-class", user_class]
    if parameters is not None:
        argv += ["--parameters", ",".join(str(p) for p in parameters)]
    for code, data in (options or {}).items():
        argv += ["--option", "%d=%s" % (code, bytes(data).hex())]
    if request:
        argv.append("--request")
    result = host.run(argv, cwd=REPO, timeout=timeout * 2 + 20)
    return json.loads(result.stdout)


if __name__ == "__main__":
    sys.exit(main())
