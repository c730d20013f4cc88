"""At rackd's start: each family's dhcpd brought back as it was applied.

Why. dhcpd outlives rackd, so a starting rackd mostly finds the dhcpd
its predecessor applied still serving, and adopts it without a restart
(its pid file, start record and config digest agree: `dhcpd.supervise`).
That is right after a clean stop. After a predecessor killed inside a
configure it is not: the dhcpd found may hold half of a live OMAPI batch
over the old config file, which adoption cannot see. The configure's
intent file (`services.intent`) says when that is so, and then the
family is mended instead of adopted.

How. With no intent file: the state's spec is run, adopting where it
runs (`restart=False`). With one: `intent.recover` picks the spec whose
config is on disk, dhcpd is restarted with it (never adopted: the restart
drops what OMAPI made), the state is saved with that spec and the
document not known, and only then is the intent removed, so a rackd
killed during the mending finds the intent again and mends again. One
log line says what was found and done.
"""

import hashlib

from twisted.internet import defer
from twisted.logger import Logger

from provisioningserver.services.dhcpstate import DHCPState
from provisioningserver.services.intent import clear_intent, read_intent, recover

log = Logger()


def _digest(path):
    try:
        with open(path, "rb") as stream:
            return hashlib.sha256(stream.read()).hexdigest()
    except FileNotFoundError:
        return None


def resume_family(state, monitor, ip_version):
    """A Deferred: the family's dhcpd adopted or started as applied, or
    mended after a configure that did not finish (see the module docstring)."""
    applied = state.get(ip_version)
    intent = read_intent(state.state_dir, ip_version)
    if intent is None:
        if applied.spec is None:
            return defer.succeed(None)
        return monitor.ensure_running(applied.spec, restart=False)
    known = intent.after or intent.before or applied.spec
    digest = _digest(known.config_path) if known is not None else None
    spec, which = recover(intent, applied.spec, digest)
    if spec is None:
        log.warn("IPv{v}: the last rackd died in a configure that had nothing running "
                 "before and wrote no config: nothing is started", v=ip_version)
        d = monitor.ensure_stopped(intent.after)
    else:
        log.warn("IPv{v}: the last rackd died in a configure; dhcpd is restarted with the "
                 "{which} config file as it is ({path}), and the next configure restarts "
                 "it once", v=ip_version, which=which, path=spec.config_path)
        d = monitor.ensure_running(spec, restart=True)

    def mended(result):
        state.save(ip_version, DHCPState(spec=spec, config=None))
        clear_intent(state.state_dir, ip_version)
        return result

    return d.addBoth(mended)
