"""The mutation engine: one seeded random generator, documents in, broken documents out.

A fuzzer is only as good as what it tries, and a reproducible one is worth
far more than a lucky one: every document here follows from one integer
(`Mutator.document(index)` builds the document for that index from the
campaign's seed alone), so a failure found at document 73,512 is rebuilt
by asking for document 73,512 again, without running the 73,511 before it.

Each document starts as a valid seed (`tests.fuzz.seeds`) and gets one to
four mutations, each at a random place: a value, a key, or a whole
section. What the mutations try is what has broken document readers
before: the characters of dhcpd's syntax inside strings (quotes,
backslashes, braces, semicolons, line breaks, ``#``), NUL and other
control characters, lone surrogates, 10,000-character strings, values of
the wrong type, keys missing, unknown, or given twice, nesting thousands
deep, addresses of the other family or outside their subnet, and YAML's
own surprises (``yes``, ``0x1f``, dates, tags). The result is then written
as JSON or YAML text (`tests.fuzz.emit`), and one document in five also
has its bytes broken: invalid UTF-8, another encoding, a byte order mark,
CRLF, a NUL, a cut.

Nothing here knows rackd: this module imports nothing of provisioningserver,
so the same engine serves the test suite (tests/fuzz/test_documents.py)
and the benchmark (bench/fuzz_documents.py).
"""

import copy
import ipaddress
import random

from tests.fuzz.emit import BigInt, Deep, Pairs, Plain, to_json, to_yaml

# Inserted into strings: dhcpd's syntax, control characters, encodings' edges.
TRICKY = ['"', "\\", "{", "}", ";", "\n", "\r", "#", "\x00", "\t", " ", "\x7f", "\x1b",
          "\ud800", "\udfff", "\u2028", "\x85", "\ufeff", "\u202e", "é", "\U0001f600",
          "'", "${mac}", "$", ",", "=", "/", "..", "%eth0", "*", "!"]
# Whole payloads that would add a dhcpd statement if a string could leave its place.
PAYLOADS = ['"; option routers 198.18.9.9; "', "x; } subnet 198.18.9.0 netmask 255.255.255.0 {",
            "a\n  deny unknown-clients;\n", "# comment\nallow bootp;", 'x" { }', "\\\"; }",
            "a\\", "a\\\nb", "}}}", "{{ lease_time }}", "{% if 1 %}", "\"\"\"", "a\x00b",
            "\x00rackd-host-declarations\x00"]
# Values of the wrong type (or type-valid but odd).
ODD_VALUES = [0, -1, 1, 2 ** 31, 2 ** 64, 1.5, float("nan"), float("inf"), True, False,
              None, "", " ", [], {}, "1", "null", "true", [None], {"": None},
              BigInt("9" * 5000), "0" * 300]
# YAML scalars YAML reads as something else than the string they look like.
YAML_PLAIN = ["yes", "no", "on", "off", "~", "0x1f", "0o17", "1_000", "12:30:00",
              "2001-01-01", "2001-01-01T10:00:00Z", ".inf", "-.nan", "!!binary aGVsbG8=",
              "!!set {a, b}", "!!str 1", "!!int '7'", "!!float 1", "&a 1", "!!null ''",
              "!!timestamp 2001-12-14", "'single'", "|\n  literal", "!!python/object:os.system x",
              "[1, 2", "{a: b", "*undefined", "? complex"]
# Values at the edges of what is valid, by the key they stand under: these
# are meant to be accepted, and so reach the renderer and dhcpd -t.
EDGES = {
    "host": ["a", "a" * 63, "0", "x-1", "deny", "host", "subnet", "option", "true", "NODE-1",
             "known", "unknown-clients"],
    "name": ["a", "a" * 64, "a.b:c-d_e", "shared-network", "peer", "failover", "0", "é ü",
             "x" * 1000, "name: with a colon", "# hash", "{brace}", '"quoted"', "a;b"],
    "description": ["", "é" * 3000, "}", '"', "{", ";", "\\", "#", "\u2028 line sep \u2028"],
    "domain_name": ["a", "example.", ("a" * 63 + ".") * 3 + "a" * 61, "xn--bcher-kva.example",
                    "local", "deny", "a-b.c-d", "1.example"],
    "mac": ["AA-BB-CC-DD-EE-FF", "aabbccddeeff", "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff",
            "01:00:5e:00:00:01", " 52:54:00:00:00:09 ", "aa:bb:cc:dd:ee:ff\n"],
    "interface": ["eth0.100", "a" * 15, "br-lan_1", "veth.1", "0", "lo"],
    "ipxe_machine_script": ["/a/${mac}", "https://h.example/x?y=1&z=${net0/ip}", "/" + "a" * 254,
                            "http://[2001:db8::1]/x", "/${mac:hexhyp}/${uuid}"],
    "value": ["", "   ", "# only a comment", "option domain-name \"x\";", "\n\n\n",
              "ping-check false;\r\n", "\t# tab"],
    "omapi_key": ["AAAAAAAAAAAAAAAAAAAAAA==", "A" * 1000, "A" * 2048, "A" * 20000],
    "boot_file": ["a" * 128, "a/b/c.efi", "~x+y-z.efi", "a" * 129],
    "root-path": ["é" * 127, "a" * 255, "/with space", "x" * 256],
    "mtu": [68, 65535, 1500, 1280, 576],
    "number": [0, 1, 255, 256, 65535, 2 ** 31 - 1, 2 ** 32 - 1, -2 ** 31],
}
EDGES["search_list"] = EDGES["domain_name"]
EDGES["host-name"] = EDGES["domain_name"]
EDGES["ipxe_enlist_script"] = EDGES["ipxe_machine_script"]
EDGES["tftp-server-name"] = EDGES["root-path"]
EDGES["filename"] = EDGES["bootfile-name"] = EDGES["root-path"]
BAD_BYTES = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80",
             b"\x80", b"\xfe\xff", b"\x00"]


def _paths(value):
    """Every (path, node) of ``value``, the root first; a path is a tuple of keys and indexes."""
    found, stack = [], [((), value)]
    while stack:
        path, node = stack.pop()
        found.append((path, node))
        if isinstance(node, dict):
            stack.extend((path + (k,), v) for k, v in node.items())
        elif type(node) is list:  # not into Pairs: its items are (key, value)
            stack.extend((path + (i,), v) for i, v in enumerate(node))
    found.sort(key=lambda item: [str(step) for step in item[0]])
    return found


def _get(value, path):
    for step in path:
        value = value[step]
    return value


def _set(value, path, new):
    if not path:
        return new
    _get(value, path[:-1])[path[-1]] = new
    return value


def show(path):
    """A path as the document reader writes it: ``hosts[0].ip``."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


class Mutator:
    """Documents for a campaign: ``seeds`` are (name, ip_version, value, text or None)."""

    def __init__(self, seeds, seed):
        self.seeds, self.seed = list(seeds), seed
        self.where = ()
        self.strings = sorted({n for _, _, doc, _ in self.seeds for _, n in _paths(doc)
                               if isinstance(n, str)})

    def document(self, index):
        """(seed name, ip_version, bytes, format, [what was done]) for document ``index``."""
        rng = random.Random(f"{self.seed}:{index}")
        name, version, doc, text = rng.choice(self.seeds)
        done = []
        if text is not None and rng.random() < 0.1:
            data, fmt = text.encode("utf-8"), "yaml-original"
        else:
            doc = copy.deepcopy(doc)
            for _ in range(rng.choice((1, 1, 1, 1, 2, 2, 3, 4))):
                doc = self.mutate(rng, doc, done)
            fmt = rng.choice(("json", "json", "yaml", "yaml", "json-indented"))
            if fmt == "yaml":
                text = to_yaml(doc)
            else:
                text = to_json(doc, indent=2 if fmt == "json-indented" else None)
            data = text.encode("utf-8", "surrogatepass")
        if rng.random() < 0.1 or fmt == "yaml-original":
            data = self.break_bytes(rng, data, done)
        if rng.random() < 0.03:
            version = 10 - version  # a document of one family read as the other
            done.append(f"read as IPv{version}")
        return name, version, data, fmt, done

    def mutate(self, rng, doc, done):
        """One mutation at a random place of ``doc``; its description goes to ``done``."""
        nodes = _paths(doc)
        kind = rng.choice(_KINDS)
        path, node = rng.choice(nodes)
        self.where = path  # a mutation that chooses its own place says so here
        result = getattr(self, "_" + kind)(rng, doc, path, node)
        if result is None:  # not applicable here: a value of the wrong type instead
            self.where = path
            kind, result = "odd_value", self._odd_value(rng, doc, path, node)
        done.append(f"{kind} at {show(self.where) or '(root)'}")
        return result

    # The mutations: each returns the document, or None when it cannot apply at ``path``.

    def _inject(self, rng, doc, path, node):
        strings = [(p, n) for p, n in _paths(doc) if isinstance(n, str)]
        if not strings:
            return None
        path, node = rng.choice(strings)
        self.where = path
        extra = rng.choice(TRICKY if rng.random() < 0.7 else PAYLOADS)
        at = rng.randint(0, len(node))
        return _set(doc, path, node[:at] + extra + node[at:])

    def _edge(self, rng, doc, path, node):
        """A value at the edge of valid for the key it stands under."""
        keys = [(p, n) for p, n in _paths(doc) if p and _edge_key(p) in EDGES]
        if not keys:
            return None
        path, node = rng.choice(keys)
        self.where = path
        return _set(doc, path, rng.choice(EDGES[_edge_key(path)]))

    def _grow(self, rng, doc, path, node):
        """A list made long: its items repeated (many DNS servers, search
        names, snippets; repeated hosts and pools are refused, as they should be)."""
        # Not a list holding deep nesting: 300 copies of 100,000 levels made
        # 60 MB documents that took gigabytes to read, and prove no more.
        lists = [(p, n) for p, n in _paths(doc) if type(n) is list and n
                 and not any(isinstance(item, Deep) for _, item in _paths(n))]
        if not lists:
            return None
        path, node = rng.choice(lists)
        self.where = path
        times = rng.choice((2, 16, 64, 300))
        # Each item a copy of its own: one deepcopy of the repeated list would
        # keep the repeats one object, and a later mutation of one changes all.
        return _set(doc, path, [copy.deepcopy(item)
                                for item in (node * times)[:max(times, len(node))]])

    def _long_string(self, rng, doc, path, node):
        base = node if isinstance(node, str) and node else rng.choice(self.strings)
        return _set(doc, path, (base * (10000 // max(len(base), 1) + 1))[:10000])

    def _odd_value(self, rng, doc, path, node):
        return _set(doc, path, copy.deepcopy(rng.choice(ODD_VALUES + [[node], {"value": node}])))

    def _yaml_plain(self, rng, doc, path, node):
        return _set(doc, path, Plain(rng.choice(YAML_PLAIN)))

    def _deep(self, rng, doc, path, node):
        depth = rng.choice((50, 200, 990, 1000, 3000, 100000))
        return _set(doc, path, Deep(depth, node if not isinstance(node, (dict, list)) else 0,
                                    mapping=rng.random() < 0.5))

    def _drop_key(self, rng, doc, path, node):
        if not isinstance(node, dict) or not node:
            return None
        del node[rng.choice(sorted(node))]
        return doc

    def _unknown_key(self, rng, doc, path, node):
        if not isinstance(node, dict):
            return None
        key = rng.choice(sorted(node) or ["x"])
        new = rng.choice([key + "s", key.upper(), key[:-1], " " + key, key + "\n", "", "a.b[0]",
                          "\ud800", "é", key.replace("_", "-")])
        node[new] = rng.choice(ODD_VALUES[:12])
        return doc

    def _twice_key(self, rng, doc, path, node):
        if not isinstance(node, dict) or not node:
            return None
        key = rng.choice(sorted(node))
        pairs = Pairs(node.items())
        other = copy.deepcopy(rng.choice(ODD_VALUES[:12] + [node[key]]))
        pairs.insert(rng.randint(0, len(pairs)), (key, other))
        return _set(doc, path, pairs)

    def _copy_item(self, rng, doc, path, node):
        if type(node) is not list or not node:
            return None
        item = copy.deepcopy(rng.choice(node))
        node.insert(rng.randint(0, len(node)), item)
        return doc

    def _drop_item(self, rng, doc, path, node):
        if type(node) is not list or not node:
            return None
        del node[rng.randrange(len(node))]
        return doc

    def _transplant(self, rng, doc, path, node):
        """A value from elsewhere (this document or another seed) put here."""
        _, _, other, _ = rng.choice(self.seeds)
        _, value = rng.choice(_paths(other))
        return _set(doc, path, copy.deepcopy(value))

    def _address(self, rng, doc, path, node):
        addresses = [(p, n) for p, n in _paths(doc) if isinstance(n, str) and _ip(n)]
        if not addresses:
            return None
        path, node = rng.choice(addresses)
        self.where = path
        return _set(doc, path, rng.choice(_address_variants(node, rng)))

    def _swap_range(self, rng, doc, path, node):
        pools = [(p, n) for p, n in _paths(doc) if isinstance(n, dict) and "ip_range_low" in n]
        if not pools:
            return None
        self.where, pool = rng.choice(pools)
        pool["ip_range_low"], pool["ip_range_high"] = (pool.get("ip_range_high"),
                                                       pool.get("ip_range_low"))
        return doc

    def _same_as(self, rng, doc, path, node):
        """A string set to another string of the document (duplicate names,
        addresses, MACs; a peer name where a pool's peer should be)."""
        strings = [(p, n) for p, n in _paths(doc) if isinstance(n, str)]
        if len(strings) < 2:
            return None
        (path, _), (_, value) = rng.sample(strings, 2)
        self.where = path
        return _set(doc, path, value)

    # Bytes.

    def break_bytes(self, rng, data, done):
        kind = rng.choice(("bad_bytes", "bad_bytes", "latin1", "utf16", "bom", "crlf", "cut",
                           "nul", "flip"))
        done.append(f"bytes: {kind}")
        at = rng.randint(0, len(data))
        if kind == "bad_bytes":
            return data[:at] + rng.choice(BAD_BYTES) + data[at:]
        if kind == "latin1":
            text = data.decode("utf-8", "surrogatepass").replace('"', '"é', 1)
            return text.encode("latin-1", "replace")
        if kind == "utf16":
            return data.decode("utf-8", "surrogatepass").encode("utf-16", "surrogatepass")
        if kind == "bom":
            return b"\xef\xbb\xbf" + data
        if kind == "crlf":
            return data.replace(b"\n", b"\r\n")
        if kind == "cut":
            return data[:at]
        if kind == "nul":
            return data[:at] + b"\x00" + data[at:]
        flipped = bytearray(data)
        if flipped:
            flipped[min(at, len(flipped) - 1)] ^= 1 << rng.randrange(8)
        return bytes(flipped)


_KINDS = ("edge", "edge", "edge", "edge", "edge", "inject", "inject", "inject", "long_string", "odd_value", "odd_value", "yaml_plain",
          "deep", "drop_key", "drop_key", "unknown_key", "twice_key", "copy_item", "copy_item",
          "drop_item", "grow", "transplant", "address", "address", "address", "swap_range", "same_as")
KINDS = tuple(sorted(set(_KINDS)))


def _edge_key(path):
    """The `EDGES` key for the value at ``path``: its key, or its list's."""
    steps = [step for step in path if isinstance(step, str)]
    if not steps:
        return None
    key = steps[-1]
    if key in ("port", "peer_port", "mclt", "split", "max_response_delay", "auto_partner_down",
               "max_unacked_updates", "load_balance_max_seconds", "default-lease-time",
               "max-lease-time", "min-lease-time", "preferred-lifetime", "time-offset",
               "default-ip-ttl", "dhcp6.preference", "dhcp6.info-refresh-time"):
        return "number"
    if len(steps) >= 2 and steps[-2] == "boot_files":
        return "boot_file"
    return key


def _ip(text):
    try:
        return ipaddress.ip_interface(text.strip())
    except ValueError:
        return None


def _address_variants(text, rng):
    """Addresses and networks near ``text``: the other family, outside the
    subnet, the subnet's edges, forms dhcpd or Python read differently."""
    iface = _ip(text)
    ip, net = iface.ip, iface.network
    variants = [str(ip + 1) if int(ip) + 1 < 2 ** ip.max_prefixlen else str(ip),
                str(net.network_address), str(net.broadcast_address),
                "2001:db8::5" if ip.version == 4 else "198.18.0.5",
                f"::ffff:{ip}" if ip.version == 4 else "::ffff:198.18.0.5",
                "198.19.255.255", "198.18.255.1", "203.0.113.1", "0.0.0.0", "::", "::1",
                "fe80::1%eth0", "224.0.0.1", "255.255.255.255", "127.0.0.1",
                f" {ip} ", f"{ip}\n", str(ip).replace(".", ".0", 1), f"{ip}/{ip.max_prefixlen}",
                f"{ip}/0", f"{net.network_address}/{max(net.prefixlen - 8, 0)}",
                f"{net.network_address}/{min(net.prefixlen + 8, ip.max_prefixlen)}",
                str(ip).upper(), ip.exploded, f"{ip}%25", str(int(ip)), "2001:db8::/32",
                "198.18.0.0/15", "1.2.3"]
    if "/" in text:
        variants += [f"{ip + 1}/{net.prefixlen}", f"{net.network_address}/{net.prefixlen + 1}"
                     if net.prefixlen < ip.max_prefixlen else text]
    rng.shuffle(variants)
    return variants
