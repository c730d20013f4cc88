"""One log line per configure run: what rackd did, and why.

A `Coalescer.on_outcome` listener, so a run that answered several callers
is logged once. The line names the family, the action (or what failed),
the reason, the host counts of a live change and the run's duration, e.g.::

    IPv4 configure: applied-live in 0.042 s: 2 hosts changed (hosts +1 -0 ~1)
    IPv4 configure: restarted in 0.61 s: dns_servers changed
    IPv4 configure: invalid document in 0.003 s: 2 problems: hosts[3].mac: ...
    IPv4 configure: rejected by dhcpd in 0.2 s: in snippet 'pxe-extra'
        (global_dhcp_snippets[0]) line 2: semicolon expected. (rendered line 47);
        nothing was changed: the previous config still serves

An operator reading ``journalctl -u rackd`` sees every change to DHCP
there, with nothing else needed.
"""

from twisted.logger import Logger
from twisted.python.failure import Failure

from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.dhcpd.check import located_text
from provisioningserver.services.coalesce import ConfigureTimeout
from provisioningserver.services.configure import ConfigRejected, DhcpdMissing, StartFailed

log = Logger(namespace="rackd.configure")

SHOWN_PROBLEMS = 3  # an invalid document's first problems, then a count


def describe(ip_version, result, seconds):
    """(level, text) of the line for one run."""
    head = f"IPv{ip_version} configure"
    took = f"in {seconds:.3g} s"
    if not isinstance(result, Failure):
        text = f"{head}: {result.action} {took}: {result.reason}"
        if result.hosts:
            counts = result.hosts
            renamed = f" ={counts['renamed']}" if counts.get("renamed") else ""
            text += (f" (hosts +{counts.get('added', 0)} -{counts.get('removed', 0)} "
                     f"~{counts.get('updated', 0)}{renamed})")
        return "info", text
    error = result.value
    if isinstance(error, DocumentError):
        shown = "; ".join(str(p) for p in error.problems[:SHOWN_PROBLEMS])
        more = len(error.problems) - SHOWN_PROBLEMS
        if more > 0:
            shown += f"; and {more} more"
        n = len(error.problems)
        return "warn", f"{head}: invalid document {took}: {n} problem{'s' * (n != 1)}: {shown}"
    if isinstance(error, ConfigRejected):
        found = "; ".join(located_text(e) for e in error.result.errors) or "no error text"
        before = f": {error.before}" if error.before else ""
        return "warn", f"{head}: rejected by dhcpd {took}: {found}; nothing was changed{before}"
    if isinstance(error, StartFailed):
        return "error", f"{head}: failed {took}: {error}"
    if isinstance(error, ConfigureTimeout):
        return "error", f"{head}: timed out {took}: {error}"
    if isinstance(error, DhcpdMissing):
        return "error", f"{head}: no dhcpd {took}: {error}"
    return "error", f"{head}: error {took}: {type(error).__name__}: {error}"



class ConfigureLog:
    """Logs each run through ``logger`` (a twisted Logger)."""

    def __init__(self, logger=log):
        self.logger = logger

    def __call__(self, ip_version, result, seconds):
        level, text = describe(ip_version, result, seconds)
        getattr(self.logger, level)("{text}", text=text)
