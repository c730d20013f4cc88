"""`HostTable`: a config's hosts as columns, equal to the tuple of its hosts,
and what a table read against another records of where its hosts came from."""

import ipaddress

import attrs
import pytest

from provisioningserver.dhcp import model
from provisioningserver.dhcp.hosttable import HostTable, macs, names, rows


def _host(i, **fields):
    return model.Host(host=f"h{i}", mac="02:10:00:00:%02x:%02x" % (i >> 8, i & 255),
                      ip=ipaddress.IPv4Address("198.18.1.0") + i, **fields)


HOSTS = tuple(_host(i) for i in range(20))


def test_a_table_is_the_sequence_of_its_hosts():
    """Equal to the tuple both ways, hashed alike, indexed, sliced and added as a tuple is."""
    table = HostTable.of(HOSTS)
    assert len(table) == 20 and list(table) == list(HOSTS)
    assert table == HOSTS and HOSTS == table and table != HOSTS[1:]
    assert hash(table) == hash(HOSTS)
    assert table[3] == HOSTS[3] and table[-1] == HOSTS[-1] and table[2:5] == HOSTS[2:5]
    assert table + (HOSTS[0],) == HOSTS + (HOSTS[0],)
    with pytest.raises(IndexError):
        table[20]
    assert HostTable.of(()) == () and len(HostTable.of(())) == 0


def test_a_config_keeps_a_table_as_it_is_and_equals_the_config_of_the_tuple():
    """`DHCPConfig` takes a table without turning it into a tuple, and compares equal."""
    table = HostTable.of(HOSTS)
    config = model.DHCPConfig(ip_version=4, hosts=table)
    assert config.hosts is table
    assert config == model.DHCPConfig(ip_version=4, hosts=HOSTS)
    assert attrs.evolve(config, hosts=list(HOSTS)).hosts == HOSTS


def test_snippets_options_and_every_family_come_back():
    """A host's snippets and option overrides, IPv6 addresses and a table of both families."""
    snippet = model.Snippet(name="s", value="# raw")
    option = model.OptionSetting(name="domain-name", value="x.example")
    v6 = model.Host(host="six", mac="02:00:00:00:00:06", ip=ipaddress.IPv6Address("2001:db8::6"),
                    options=(option,))
    hosts = (_host(1, dhcp_snippets=(snippet,)), _host(2), v6)
    table = HostTable.of(hosts)
    assert list(table) == list(hosts) and table.ip_version is None
    assert HostTable.of([v6]).ip_version == 6 and HostTable.of(HOSTS).ip_version == 4
    assert table.has_extras(0) and not table.has_extras(1) and table.has_extras(2)


def test_fields_are_read_and_counted_whole_without_making_hosts():
    """Names, MACs and addresses come out in order, and a count finds only whole values:
    h1 is not counted in h12, nor 8.1.1.1 in 198.1.1.1."""
    hosts = [model.Host(host=n, mac=m, ip=ipaddress.IPv4Address(a)) for n, m, a in (
        ("h1", "02:00:00:00:00:01", "8.1.1.1"), ("h12", "02:00:00:00:00:11", "198.1.1.1"),
        ("xh1", "02:00:00:00:00:01", "198.1.1.10"))]
    table = HostTable.of(hosts)
    assert table.names() == names(hosts) == ["h1", "h12", "xh1"]
    assert table.macs() == macs(hosts) and table.ip_texts() == ["8.1.1.1", "198.1.1.1",
                                                                 "198.1.1.10"]
    assert table.ip_ints() == [int(h.ip) for h in hosts]
    assert [table.count_name(n) for n in ("h1", "h12", "h", "1")] == [1, 1, 0, 0]
    assert table.count_mac("02:00:00:00:00:01") == 2 and table.count_mac("00:01") == 0
    assert [table.count_ip_text(a) for a in ("8.1.1.1", "198.1.1.1", "1.1.1")] == [1, 1, 0]
    assert table.index("h12") == 1 and table.name(2) == "xh1" and table.ip_text(0) == "8.1.1.1"
    with pytest.raises(ValueError):
        table.index("h")


def test_a_table_built_from_another_records_its_runs_and_the_hosts_new_and_gone():
    """Copied runs, a host added between them, one left out: the lineage says which is which."""
    source = HostTable.of(HOSTS)
    built = rows(source)
    built.copy(0, 5)
    built.add(_host(99))
    built.copy(6)
    built.copy(7, 13)
    table = built.table()
    assert list(table) == list(HOSTS[:5] + (_host(99),) + HOSTS[6:])
    assert list(table.runs()) == [(0, 0, 5), (6, 6, 14)]
    assert list(table.fresh) == [5] and list(table.gone) == [5]
    assert table.derived_from(source) and not source.derived_from(table)
    assert [table.source_index(i) for i in (0, 5, 6)] == [0, None, 6]
    other = rows(source)
    other.copy(1, 3)
    assert other.table().sibling_of(table) and not HostTable.of(HOSTS).sibling_of(table)
    assert not table.derived_from(HostTable.of(HOSTS))  # an equal table is another table


def test_copies_keep_snippets_and_a_host_copied_twice_is_seen():
    """A copied host keeps what only the file carries; one copied twice means a name twice."""
    snippet = model.Snippet(name="s", value="# raw")
    source = HostTable.of((HOSTS[0], _host(1, dhcp_snippets=(snippet,)), HOSTS[2]))
    built = rows(source)
    built.copy(1, 2)
    built.copy(0)
    assert not built.copied_twice()
    assert built.table()[0].dhcp_snippets == (snippet,)
    twice = rows(source)
    twice.copy(0, 2)
    twice.copy(1)
    assert twice.copied_twice()


def test_a_table_holds_a_few_objects_of_some_fifty_bytes_a_host():
    """10,000 hosts: under 60 bytes a host in all, against some 300 as `Host` objects."""
    hosts = [_host(i) for i in range(10000)]
    assert HostTable.of(hosts).footprint() / len(hosts) < 60
