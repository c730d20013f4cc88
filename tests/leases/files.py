"""Files as dhcpd and rackd write them, for the lease tests: leases-file
records, appends, rewrites, and the applied state KnownClients watches."""

import os

from provisioningserver.leases.lookups import KnownClients, file_version


def append(path, text):
    with open(path, "a") as f:
        f.write(text)


def grow(path):
    append(path, " ")


IP = "198.18.1.0"
MAC = "02:00:5e:10:00:01"
CLTT = "6 2026/11/28 23:48:14"


def lease(ip=IP, mac=MAC, state="active", ends="6 2026/11/28 23:58:14"):
    """A lease record as dhcpd 4.4 writes it; active ones last 600 s by default."""
    return (f"lease {ip} {{\n  starts {CLTT};\n  ends {ends};\n  cltt {CLTT};\n"
            f"  binding state {state};\n  next binding state free;\n"
            f"  hardware ethernet {mac};\n  client-hostname \"a\";\n"
            "  on expiry {\n    log (info, \"x\");\n  }\n}\n")


LEASES_HEADER = ("# This lease file was written by isc-dhcp-4.4.3-P1\n\n"
                 "authoring-byte-order little-endian;\n\n")


def replace(path, text):
    """A new file (new inode) at ``path``, as dhcpd's and rackd's rewrites make."""
    with open(path + ".new", "w") as f:
        f.write(text)
    os.replace(path + ".new", path)


def truncate(path, text):
    """The same file (same inode), cut and written anew."""
    with open(path, "w") as f:
        f.write(text)


def known_clients(tmp_path, macs):
    """A KnownClients of the applied file in tmp_path; ``macs`` (a list) may
    change; the calls of its ``macs()`` are counted in the returned list."""
    calls = []

    def read():
        calls.append(1)
        return (m for m in macs)  # a generator, as rackd's is

    path = str(tmp_path / "applied-v4.json")
    return path, KnownClients(file_version(path), read), calls
