"""``rackctl interfaces [--json] [--ipv6] [DOC]``: this node's links, and where
a document would be served.

Without DOC it shows the snapshot `discover` reads: every link with its kind,
state, stacking and addresses, including the ones dhcpd cannot listen on (and
why). With DOC it also runs the selection rules for one family and shows,
per subnet, the interface and this rack's address, or that it is relayed
(and on which interface its relayed packets arrive), its boot server, and
why; then dhcpd's interfaces and the empty subnet declarations it needs
(with the shared network each goes in).

Exit codes as for the other rackctl commands (`provisioningserver.cli.common`):
OK done; INVALID the document cannot be read, is invalid, or cannot be
served here (each problem with its field path).
"""

import json

from provisioningserver.cli import output
from provisioningserver.cli.common import INVALID, OK
from provisioningserver.dhcp.errors import DocumentError


def add_interfaces_arguments(parser):
    parser.add_argument("document", metavar="DOC", nargs="?",
                        help="a DHCP config document (YAML or JSON): show where it would be served")
    parser.add_argument("--ipv6", action="store_true",
                        help="select for the DHCPv6 config (default: DHCPv4)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _stacking(link):
    parts = []
    if link.kind == "vlan":
        tag = f"VLAN {link.vlan_id}" if link.vlan_id is not None else "VLAN"
        parts.append(f"{tag} on {link.parent or '?'}")
    if link.members:
        parts.append("members " + ", ".join(link.members))
    if link.ports:
        parts.append("ports " + ", ".join(link.ports))
    if link.master:
        parts.append(f"enslaved to {link.master}")
    if link.why_not:
        parts.append(f"cannot carry DHCP: {link.why_not}")
    return "; ".join(parts)


def snapshot_text(snapshot):
    """The links, one block each, for people."""
    width = max((len(link.name) for link in snapshot.links), default=4)
    states = max((len(link.state) for link in snapshot.links), default=2)
    lines = ["Links:"]
    for link in snapshot.links:
        head = (f"  {link.name:<{width}}  {link.kind:<8}  {link.state:<{states}}  "
                f"{link.mac or '-':<17}  mtu {link.mtu if link.mtu is not None else '-'}")
        lines.append(head.rstrip())
        stacking = _stacking(link)
        if stacking:
            lines.append(f"  {'':<{width}}  {stacking}")
        if link.addresses:
            lines.append(f"  {'':<{width}}  " + " ".join(str(a) for a in link.addresses))
    return "\n".join(lines)


def selection_text(selection, ip_version):
    """Per subnet: where and why; then what dhcpd is started with."""
    lines = [f"IPv{ip_version} subnets:"]
    for cidr, choice in selection.reasons.items():
        if choice.interface:
            where = f"{choice.interface} {choice.address}"
        else:
            where = "relayed" + (f", received on {choice.received_on}"
                                 if choice.received_on else "")
        server = choice.boot_server
        where += f"; boot server {server}" if server is not None else "; no boot options"
        lines.append(f"  {cidr}: {where}")
        lines.append(f"    {choice.why}")
    lines.append("dhcpd listens on: " + (" ".join(selection.interfaces) or "-"))
    if selection.empty_subnets:
        lines.append("empty subnet declarations (listening networks the document lacks): "
                     + " ".join(_empty(n, selection) for n in selection.empty_subnets))
    return "\n".join(lines)


def _empty(network, selection):
    home = selection.empty_in.get(network)
    return f"{network} (in shared network \"{home}\")" if home else str(network)


def selection_dict(selection):
    return {
        "interfaces": list(selection.interfaces),
        "subnets": [{"subnet": str(c.subnet), "interface": c.interface,
                     "address": str(c.address) if c.address is not None else None,
                     "relayed": c.interface is None, "received_on": c.received_on,
                     "boot_server": str(c.boot_server) if c.boot_server is not None else None,
                     "why": c.why}
                    for c in selection.reasons.values()],
        "empty_subnets": [str(n) for n in selection.empty_subnets],
        "empty_subnets_in": {str(n): name for n, name in selection.empty_in.items()},
    }


def run_interfaces(args, out, err, discover=None):
    """Run the command; returns the exit code. ``discover`` is injectable for tests."""
    # Here, not at the top: rackctl's other commands never load netifaces.
    from provisioningserver.dhcp.document import document_from_file
    from provisioningserver.network.selection import select

    if discover is None:
        from provisioningserver.network.discovery import discover
    snapshot = discover()
    report = {"links": snapshot.to_dict()["links"]}
    if args.document is None:
        print(json.dumps(report, indent=2) if args.json else snapshot_text(snapshot), file=out)
        return OK
    ip_version = 6 if args.ipv6 else 4
    try:
        config = document_from_file(args.document, ip_version)
        selection = select(config, snapshot)
    except OSError as error:
        message = f"cannot read {args.document}: {error.strerror or error}"
        if args.json:
            print(output.message_json(message), file=out)
        print(f"rackctl: {message}", file=err)
        return INVALID
    except DocumentError as error:
        if args.json:
            print(json.dumps(dict(report, **json.loads(output.problems_json(error))), indent=2),
                  file=out)
        else:
            print(snapshot_text(snapshot), file=out)
        print(output.problems_text(error, args.document), file=err)
        return INVALID
    if args.json:
        report["selection"] = dict(selection_dict(selection), ip_version=ip_version)
        print(json.dumps(report, indent=2), file=out)
    else:
        print(snapshot_text(snapshot), file=out)
        print(selection_text(selection, ip_version), file=out)
    return OK
