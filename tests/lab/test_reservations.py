"""Live host reservations through rackd into the real dhcpd (issue B).

A rack host runs rackd (and the dhcpd it starts) and a client host sits on
the same switch. Reservations are changed with `rackctl configure`; the
client's next DISCOVER/REQUEST (tests/lab/rawclient.py) shows what dhcpd now
hands it, the real `omshell` in the rack's namespace shows the host objects
dhcpd holds, and dhcpd's pid shows that it was never restarted.
"""

import ipaddress
import json
import os
import signal
import sys

import pytest

from tests.lab.rackd import REPO
from tests.lab.rawclient import query
from tests.lab.rackd import pid_alive, rack_and_client, wait_until

pytestmark = pytest.mark.lab

KEY_NAME = "omapi_key"
POOL = ("198.18.0.100", "198.18.0.150")


def document(hosts=(), prefix=24, **top):
    net = ipaddress.ip_network(f"198.18.0.0/{prefix}")
    doc = {"shared_networks": [{"name": "lab", "subnets": [{
        "subnet_cidr": str(net),
        "router_ip": "198.18.0.254",
        "pools": [{"ip_range_low": POOL[0], "ip_range_high": POOL[1]}],
    }]}], "hosts": [dict(h) for h in hosts]}
    doc.update(top)
    return doc


def host(name, mac, ip):
    return {"host": name, "mac": mac, "ip": ip}


def agent_key(agent):
    with open(os.path.join(agent.state_dir, "omapi.key")) as f:
        return f.read().strip()


def offered(client, mac):
    """The address dhcpd ACKs for ``mac`` on a fresh DISCOVER and REQUEST."""
    result = query(client, mac=mac, request=True)
    assert result["acks"], result
    return result["acks"][0]["yiaddr"]


def in_pool(address):
    low, high = (ipaddress.ip_address(a) for a in POOL)
    return low <= ipaddress.ip_address(address) <= high


def omshell_host(agent, name, key=None):
    """omshell's view of host ``name`` in dhcpd: its attributes, or None."""
    script = (f"server 127.0.0.1\nport 7911\nkey {KEY_NAME} {key or agent_key(agent)}\n"
              f'connect\nnew host\nset name = "{name}"\nopen\n')
    out = agent.host.run(["omshell"], input=script).stdout
    if "not found" in out:
        return None
    assert "can't" not in out and "not connected" not in out, out
    return {name: _omshell_bytes(value) for name, value in
            (line.split(" = ", 1) for line in out.splitlines()
             if " = " in line and not line.startswith(">"))}


def _omshell_bytes(value):
    """omshell prints a value whose bytes are all printable as a quoted
    string ("nR?_Wz" for the MAC 6e:52:3f:5f:57:7a), any other as hex: hex."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return ":".join(f"{b:02x}" for b in value[1:-1].encode("latin-1"))
    return value


def omshell_ip(address):
    return ":".join(f"{b:02x}" for b in ipaddress.ip_address(address).packed)


def leases_text(agent):
    with open(os.path.join(agent.state_dir, "dhcpd.leases")) as f:
        return f.read()


def test_add_update_remove_move_the_client_live(lab):
    """Adding a reservation for the client's MAC gives it that address, an
    update moves it, a removal returns it to the pool: each applied live
    (dhcpd's pid unchanged) and each confirmed by omshell."""
    agent, client = rack_and_client(lab)
    mac = client.mac("eth0")
    assert agent.configure(document())["action"] == "started"
    pid = agent.dhcpd_pid()
    assert in_pool(offered(client, mac))

    outcome = agent.configure(document([host("c1", mac, "198.18.0.20")]))
    assert (outcome["action"], outcome["hosts"]) == ("applied-live", {"added": 1, "removed": 0, "updated": 0, "renamed": 0})
    seen = omshell_host(agent, "c1")
    assert seen["ip-address"] == omshell_ip("198.18.0.20") and seen["hardware-address"] == mac
    assert offered(client, mac) == "198.18.0.20"

    outcome = agent.configure(document([host("c1", mac, "198.18.0.21")]))
    assert (outcome["action"], outcome["hosts"]["updated"]) == ("applied-live", 1)
    assert omshell_host(agent, "c1")["ip-address"] == omshell_ip("198.18.0.21")
    assert offered(client, mac) == "198.18.0.21"

    outcome = agent.configure(document())
    assert (outcome["action"], outcome["hosts"]["removed"]) == ("applied-live", 1)
    assert omshell_host(agent, "c1") is None
    assert in_pool(offered(client, mac))
    assert agent.dhcpd_pid() == pid and pid_alive(pid)


def test_a_rename_is_left_to_dhcpds_object_under_its_old_name(lab):
    """Renaming the client's host sends nothing: dhcpd keeps the object as
    c1 (omshell), serves the same address, and is not restarted; a later
    address change and the removal reach that object through its old name,
    also after rackd restarts; a restart of dhcpd writes the new name."""
    agent, client = rack_and_client(lab)
    mac = client.mac("eth0")
    agent.configure(document([host("c1", mac, "198.18.0.50")]))
    pid = agent.dhcpd_pid()
    outcome = agent.configure(document([host("web-1", mac, "198.18.0.50")]))
    assert (outcome["action"], outcome["hosts"]) == (
        "applied-live", {"added": 0, "removed": 0, "updated": 0, "renamed": 1})
    assert omshell_host(agent, "c1")["hardware-address"] == mac
    assert omshell_host(agent, "web-1") is None
    assert offered(client, mac) == "198.18.0.50"
    agent.stop()
    agent.start()
    outcome = agent.configure(document([host("web-1", mac, "198.18.0.51")]))
    assert (outcome["action"], outcome["hosts"]["updated"]) == ("applied-live", 1)
    assert omshell_host(agent, "c1")["ip-address"] == omshell_ip("198.18.0.51")
    assert offered(client, mac) == "198.18.0.51"
    assert agent.dhcpd_pid() == pid
    outcome = agent.configure(document())
    assert (outcome["action"], outcome["hosts"]["removed"]) == ("applied-live", 1)
    assert omshell_host(agent, "c1") is None and in_pool(offered(client, mac))
    doc = document([host("web-2", mac, "198.18.0.52")])
    agent.configure(doc)
    agent.configure(document([host("web-3", mac, "198.18.0.52")]))
    doc["shared_networks"][0]["subnets"][0]["dns_servers"] = ["198.18.0.53"]
    doc["hosts"][0]["host"] = "web-3"
    assert agent.configure(doc)["action"] == "restarted"
    assert omshell_host(agent, "web-3")["ip-address"] == omshell_ip("198.18.0.52")
    assert offered(client, mac) == "198.18.0.52"


def test_restarted_rackd_with_the_same_document_changes_nothing(lab):
    """After live changes, stopping and starting rackd and sending the same
    document again is `unchanged`: dhcpd keeps its pid and the reservation."""
    agent, client = rack_and_client(lab)
    mac = client.mac("eth0")
    agent.configure(document())
    pid = agent.dhcpd_pid()
    doc = document([host("c1", mac, "198.18.0.30")])
    assert agent.configure(doc)["action"] == "applied-live"
    agent.stop()
    agent.start()
    assert agent.configure(doc)["action"] == "unchanged"
    assert agent.dhcpd_pid() == pid
    assert offered(client, mac) == "198.18.0.30"


def test_a_new_omapi_key_restarts_dhcpd_with_it(lab):
    """A document bringing its own OMAPI key is a restart (the old key no
    longer reaches dhcpd); afterwards dhcpd serves the reservations and
    answers OMAPI with the new key only."""
    agent, client = rack_and_client(lab)
    mac = client.mac("eth0")
    hosts = [host("c1", mac, "198.18.0.40")]
    agent.configure(document(hosts))
    pid = agent.dhcpd_pid()
    new_key = "bmV3IGtleSBmb3IgdGhlIHJlc2VydmF0aW9ucyB0ZXN0IG9mIHJhY2tkIQ=="
    outcome = agent.configure(document(hosts, omapi_key=new_key))
    assert outcome["action"] == "restarted" and "OMAPI key changed" in outcome["reason"]
    assert new_key not in json.dumps(outcome)
    assert agent.dhcpd_pid() != pid
    assert omshell_host(agent, "c1", key=new_key)["ip-address"] == omshell_ip("198.18.0.40")
    assert offered(client, mac) == "198.18.0.40"
    # Live changes go on with the document's key.
    outcome = agent.configure(document(hosts + [host("c2", "02:00:00:00:00:02", "198.18.0.41")],
                                       omapi_key=new_key))
    assert outcome["action"] == "applied-live"
    assert omshell_host(agent, "c2", key=new_key) is not None


def test_refused_omapi_change_falls_back_to_a_clean_restart(lab):
    """When dhcpd refuses a live change (here: an operator created a host of
    the same name by hand with omshell, so the add is a key conflict), rackd
    restarts dhcpd instead, says `OMAPI failed`, and the restarted dhcpd
    serves exactly the document's reservations (the hand-made one is gone
    with the leases file's host records)."""
    agent, client = rack_and_client(lab)
    mac = client.mac("eth0")
    agent.configure(document())
    pid = agent.dhcpd_pid()
    script = (f"server 127.0.0.1\nport 7911\nkey {KEY_NAME} {agent_key(agent)}\nconnect\n"
              'new host\nset name = "c1"\nset hardware-address = 02:00:00:00:00:09\n'
              "set hardware-type = 1\nset ip-address = 198.18.0.59\ncreate\n")
    agent.host.run(["omshell"], input=script)
    assert omshell_host(agent, "c1")["ip-address"] == omshell_ip("198.18.0.59")
    outcome = agent.configure(document([host("c1", mac, "198.18.0.50")]))
    assert outcome["action"] == "restarted", outcome
    assert "OMAPI failed" in outcome["reason"]
    assert agent.dhcpd_pid() != pid
    seen = omshell_host(agent, "c1")
    assert seen["ip-address"] == omshell_ip("198.18.0.50") and seen["hardware-address"] == mac
    assert offered(client, mac) == "198.18.0.50"
    assert "host c1" not in leases_text(agent)


def test_restarted_dhcpd_serves_reservations_from_the_config_alone(lab):
    """After live changes, a dhcpd restart (stop-dhcp, configure) finds a
    leases file cleaned of OMAPI host records, keeps the lease records, and
    still serves the reservations from the rendered config."""
    agent, client = rack_and_client(lab)
    mac = client.mac("eth0")
    agent.configure(document())
    offered(client, "02:00:00:00:00:77")  # a lease record that must survive
    doc = document([host("c1", mac, "198.18.0.60"), host("gone", "02:00:00:00:00:03", "198.18.0.61")])
    agent.configure(doc)
    doc = document([host("c1", mac, "198.18.0.60")])
    assert agent.configure(doc)["action"] == "applied-live"
    assert "host c1" in leases_text(agent) and "host gone" in leases_text(agent)
    agent.rackctl("stop-dhcp")
    assert agent.configure(doc)["action"] == "started"
    text = leases_text(agent)
    assert "host " not in text.replace("hostname", "")
    assert "02:00:00:00:00:77" in text
    assert offered(client, mac) == "198.18.0.60"
    assert omshell_host(agent, "gone") is None
    # The same after a crash: the monitor's restart cleans the file too.
    agent.configure(document([host("c1", mac, "198.18.0.62")]))
    pid = agent.dhcpd_pid()
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: agent.status()["v4"]["pid"] not in (None, pid)
               and agent.status()["v4"]["state"] == "running", what="dhcpd to come back")
    assert "host " not in leases_text(agent).replace("hostname", "")
    assert offered(client, mac) == "198.18.0.62"


def many(count, start=0, offset=0):
    """``count`` hosts in 198.18.0.0/16, outside the pool and the rack's addresses."""
    found = []
    for i in range(start, start + count):
        ip = ipaddress.ip_address("198.18.10.0") + i + offset
        found.append(host(f"h{i}", f"02:10:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}:01",
                          str(ip)))
    return found


def lookups(agent, hosts):
    """Look every host up by MAC over OMAPI, from a driver in the rack's namespace."""
    job = {"port": 7911, "key_name": KEY_NAME, "key_secret": agent_key(agent), "window": 16,
           "mode": "batch", "timeout": 30,
           "ops": [{"op": "lookup_host", "mac": h["mac"]} for h in hosts]}
    done = agent.host.run([sys.executable, "-m", "tests.omapi.driver"],
                          input=json.dumps(job), cwd=REPO, timeout=300)
    return json.loads(done.stdout)["results"]


def test_ten_thousand_mixed_changes_go_live_and_dhcpd_never_dies(lab):
    """10,000 adds, then 3,000 removes, 3,000 updates and 1,000 adds, all
    applied live; every host is then what the document says (looked up over
    OMAPI), removed ones are gone, and dhcpd kept one pid throughout."""
    agent, client = rack_and_client(lab, prefix=16)
    agent.configure(document(prefix=16))
    pid = agent.dhcpd_pid()
    first = many(10000)
    outcome = agent.configure(document(first, prefix=16))
    assert (outcome["action"], outcome["hosts"]["added"]) == ("applied-live", 10000), outcome
    kept = first[:4000]
    updated = [dict(h, ip=str(ipaddress.ip_address(h["ip"]) + 20000)) for h in first[4000:7000]]
    removed = first[7000:]
    added = many(1000, start=10000)
    final = kept + updated + added
    outcome = agent.configure(document(final, prefix=16))
    assert outcome["action"] == "applied-live", outcome
    assert outcome["hosts"] == {"added": 1000, "removed": 3000, "updated": 3000, "renamed": 0}
    assert agent.dhcpd_pid() == pid and pid_alive(pid)
    results = lookups(agent, final + removed)
    wrong = [(h, r) for h, r in zip(final, results) if r.get("ok") != dict(
        name=h["host"], mac=h["mac"], ip=h["ip"])]
    assert not wrong, wrong[:5]
    assert all(r.get("error") == "OmapiNotFound" for r in results[len(final):]), results[-3:]
    assert agent.dhcpd_pid() == pid and pid_alive(pid)
    assert offered(client, final[-1]["mac"]) == final[-1]["ip"]
