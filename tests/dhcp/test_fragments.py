"""The host declarations a `Fragments` keeps across renders, compressed in blocks.

What a cached render gives must be what rendering every host gives, byte
for byte, whatever changed; and a change must cost the hosts it touches
(rendered again) and the blocks around them (compressed again), not the site.
"""

import ipaddress

from provisioningserver.dhcp import model
from provisioningserver.dhcp.fragments import BLOCK, Fragments, declarations
from provisioningserver.dhcp.hosttable import HostTable, rows


def _host(i, name=None):
    return model.Host(host=name or f"h{i}", mac="02:10:00:%02x:%02x:01" % (i >> 8, i & 255),
                      ip=ipaddress.IPv4Address("198.18.1.0") + i)


def _config(hosts, ip_version=4):
    return model.DHCPConfig(ip_version=ip_version, hosts=tuple(hosts))


class Renderer:
    """Renders a declaration as the template would, counting the hosts it is asked for."""

    def __init__(self, accent=""):
        self.asked, self.accent = [], accent

    def __call__(self, i, host):
        self.asked.append(host.host)
        return (f"host {host.host} {{ # {self.accent}\n    hardware ethernet {host.mac};\n"
                f"    fixed-address {host.ip};\n}}\n")


def _plain(config, render_one):
    return "".join(render_one(i, h) for i, h in enumerate(config.hosts))


def _render(config, fragments):
    renderer = Renderer()
    text, _ = declarations(config, renderer, fragments)
    return text, renderer.asked


HOSTS = [_host(i) for i in range(10 * BLOCK)]


def _changed_blocks(before, after):
    return len(set(after) - set(before))


def test_a_warm_render_renders_nothing_and_keeps_every_block():
    """The same hosts again: no host rendered, the text unchanged, every block kept as it was."""
    fragments = Fragments()
    config = _config(HOSTS)
    cold, asked = _render(config, fragments)
    assert len(asked) == len(HOSTS) and cold == _plain(config, Renderer())
    blocks = fragments.packed()
    assert len(blocks) > len(HOSTS) // (4 * BLOCK)
    warm, asked = _render(config, fragments)
    assert (warm, asked) == (cold, [])
    assert all(a is b for a, b in zip(fragments.packed(), blocks))
    assert len(fragments) == len(HOSTS)


def test_one_host_inserted_in_the_middle_costs_one_render_and_one_block():
    """A host inserted in the middle: rendered alone, and only the block it falls in is new."""
    fragments = Fragments()
    _render(_config(HOSTS), fragments)
    before = fragments.packed()
    middle = len(HOSTS) // 2
    inserted = HOSTS[:middle] + [_host(len(HOSTS), "new")] + HOSTS[middle:]
    config = _config(inserted)
    text, asked = _render(config, fragments)
    assert asked == ["new"]
    assert text == _plain(config, Renderer())
    assert _changed_blocks(before, fragments.packed()) <= 2


def test_a_host_changed_or_removed_is_rendered_or_dropped_and_the_rest_kept():
    """A host's address changed, another removed: one render, a block or two each, the rest kept."""
    fragments = Fragments()
    _render(_config(HOSTS), fragments)
    before = fragments.packed()
    hosts = list(HOSTS)
    hosts[300] = model.Host(host="h300", mac=hosts[300].mac, ip=hosts[300].ip + 9000)
    del hosts[3 * BLOCK]
    text, asked = _render(_config(hosts), fragments)
    assert asked == ["h300"]
    assert text == _plain(_config(hosts), Renderer())
    assert _changed_blocks(before, fragments.packed()) <= 4


def test_an_equal_host_that_is_another_object_is_taken_from_the_cache():
    """Equal hosts built anew (as a state file read after a restart gives) are not rendered again."""
    fragments = Fragments()
    _render(_config(HOSTS), fragments)
    again = [model.Host(host=h.host, mac=h.mac, ip=h.ip) for h in HOSTS]
    _, asked = _render(_config(again), fragments)
    assert asked == []


def test_reordered_hosts_are_found_by_name_and_laid_out_in_the_new_order():
    """Every host in reverse order: nothing rendered again, each declaration in its new place."""
    fragments = Fragments()
    _render(_config(HOSTS), fragments)
    text, asked = _render(_config(HOSTS[::-1]), fragments)
    assert asked == []
    assert text == _plain(_config(HOSTS[::-1]), Renderer())


def test_another_family_renders_every_host_again():
    """Blocks rendered for DHCPv4 are not served to a DHCPv6 render of the same hosts."""
    fragments = Fragments()
    _render(_config(HOSTS[:10]), fragments)
    _, asked = _render(_config(HOSTS[:10], ip_version=6), fragments)
    assert len(asked) == 10


def test_declarations_are_found_by_name_and_text_that_is_not_ascii_is_kept_whole():
    """`Declarations.of` gives each named host's text, in the order asked, accents included."""
    fragments = Fragments()
    config = _config(HOSTS[:600])
    declarations(config, Renderer(accent="é"), fragments)
    assert fragments.packed()
    text, found = declarations(config, Renderer(), fragments)
    assert found.of(["h599", "h0", "h300"]) == [
        Renderer(accent="é")(599, HOSTS[599]), Renderer(accent="é")(0, HOSTS[0]),
        Renderer(accent="é")(300, HOSTS[300])]
    assert text == _plain(config, Renderer(accent="é"))


def test_kept_declarations_are_compressed_to_a_few_bytes_per_host():
    """What is kept for declarations of about 80 bytes is under 16 bytes per host."""
    fragments = Fragments()
    text, _ = _render(_config(HOSTS), fragments)
    kept = sum(len(data) for data in fragments.packed())
    assert len(text) / len(HOSTS) > 75 and kept / len(HOSTS) < 16


def _derived(source, hosts_before, changed):
    """A table built from ``source`` as a read would: each host of ``changed``
    copied from where it was in ``hosts_before``, or added when it is new."""
    built = rows(source)
    where = {h: k for k, h in enumerate(hosts_before)}
    for host in changed:
        if host in where:
            built.copy(where[host])
        else:
            built.add(host)
    return built.table()


def test_a_table_read_against_the_last_render_is_found_by_its_lineage():
    """Hosts tables copied from the last render's: only the new host is rendered, and the
    text is the uncached render's; the blocks away from it are kept as they were."""
    fragments = Fragments()
    source = HostTable.of(HOSTS)
    _render(_config(source), fragments)
    before = fragments.packed()
    middle = len(HOSTS) // 2
    changed = HOSTS[:middle] + [_host(len(HOSTS), "new")] + HOSTS[middle + 1:]
    table = _derived(source, HOSTS, changed)
    text, asked = _render(_config(table), fragments)
    assert asked == ["new"]
    assert text == _plain(_config(changed), Renderer())
    assert _changed_blocks(before, fragments.packed()) <= 2
    again, asked = _render(_config(table), fragments)
    assert (again, asked) == (text, [])


def test_a_table_read_against_the_same_table_as_the_last_render_is_found_too():
    """After a render that was not applied (a dry run), the next table read against the
    applied one is matched through it: only its own new host is rendered."""
    fragments = Fragments()
    source = HostTable.of(HOSTS)
    _render(_config(source), fragments)
    dry = _derived(source, HOSTS, HOSTS + [_host(len(HOSTS), "dry")])
    _render(_config(dry), fragments)
    real = _derived(source, HOSTS, [_host(len(HOSTS) + 1, "real")] + HOSTS)
    text, asked = _render(_config(real), fragments)
    assert asked == ["real"]
    assert text == _plain(_config(real), Renderer())


def test_declarations_of_a_table_are_found_by_name():
    """`Declarations.of` finds a table's hosts by name without making every host."""
    table = HostTable.of(HOSTS[:600])
    text, found = declarations(_config(table), Renderer(), Fragments())
    assert found.of(["h599", "h0"]) == [Renderer()(599, HOSTS[599]), Renderer()(0, HOSTS[0])]
    assert text == _plain(_config(table), Renderer())
