"""The documents the fuzzer starts from: every example and the tests' own.

A mutation can only reach a field some seed has, so the seeds between them
hold every field of the document: the examples in examples/ (with their
YAML text, comments and all, for the byte mutations), the tests' base
documents (tests/dhcp/documents.py: failover, snippets at every level), a
generated site of three shared networks (tests/dhcp/samples.py), and one
document per family that adds what none of those has: option overrides on
a subnet and a host, boot files, next_server, iPXE scripts, the access
policy flags and the failover numbers.

Each seed is checked to be valid when loaded: a mutation of an invalid
seed would prove nothing about the validator.
"""

import copy

from provisioningserver.dhcp.document import load_document, parse_document
from provisioningserver.dhcp.docwrite import to_document
from tests.dhcp import documents, samples


def _everything(ip_version):
    """`documents.base` with every optional field the others lack."""
    doc = copy.deepcopy(documents.base(ip_version))
    v4 = ip_version == 4
    subnet = doc["shared_networks"][0]["subnets"][0]
    pool = subnet["pools"][0]
    subnet["options"] = ({"time-servers": ["198.18.0.2"], "root-path": "/srv/root",
                          "default-lease-time": 900, "time-offset": -3600}
                         if v4 else {"dhcp6.preference": 7, "dhcp6.info-refresh-time": 600})
    subnet["next_server"] = "198.18.0.9" if v4 else "2001:db8:0:1::9"
    subnet["boot_files"] = {"uefi_amd64_tftp": "shim/shimx64.efi",
                            "uefi_amd64_http": "grub/bootx64.efi"}
    subnet["ignore_unknown_clients"] = False
    pool["known_clients_only"] = True
    doc["hosts"][0]["options"] = (
        {"host-name": "node-one", "filename": "custom/boot.efi", "next-server": "198.18.0.10",
         "domain-search": ["maas.example", "example"]}
        if v4 else {"dhcp6.name-servers": ["2001:db8:0:1::53"],
                    "dhcp6.bootfile-url": "http://[2001:db8:0:1::9]/boot.efi"})
    doc["ipxe_machine_script"] = "/ipxe/${mac:hexhyp}.cfg"
    doc["ipxe_enlist_script"] = "http://198.18.0.9:5248/enlist.ipxe"
    if v4:
        doc["failover_peers"][0].update({"port": 647, "peer_port": 847, "mclt": 1800,
                                         "split": 128, "max_response_delay": 30,
                                         "auto_partner_down": 3600})
    return doc


def seeds():
    """[(name, ip_version, document value, YAML text or None)], each valid."""
    found = []
    for name in samples.examples():
        text = (samples.EXAMPLES / name).read_text(encoding="utf-8")
        found.append((name, samples.example_version(name), load_document(text), text))
    for version in (4, 6):
        found.append((f"documents.v{version}", version, documents.base(version), None))
        found.append((f"everything-v{version}", version, _everything(version), None))
        site = to_document(samples.large_document(version, hosts=12))
        found.append((f"site-v{version}", version, site, None))
    for name, version, doc, _ in found:
        parse_document(doc, version)  # raises if a seed is not valid
    return found
