"""How long to wait before trying again: one exponential backoff for rackd.

Three things in rackd retry after a failure: the monitor restarting a dhcpd
that died (`provisioningserver.dhcpd.supervise`), the region link redialling
after a failed handshake (`provisioningserver.rpc.region`), and the forwarder
sending lease events again after the region refused a batch
(`provisioningserver.leases.forward`). Each waits ``initial`` seconds after
the first failure and ``factor`` times longer after each further one, never
more than ``maximum``; a success starts the sequence afresh. They differ only
in their numbers, so the rule lives here once.

The reconnecting region client's own redial after a dropped connection is
Twisted's `backoffPolicy` (with jitter), inside `ClientService`; this one is
deterministic, which the monitor's restart-storm arithmetic relies on.
"""

import attrs


def _positive(instance, attribute, value):
    if not value > 0:
        raise ValueError(f"{attribute.name} must be positive, got {value!r}")


@attrs.frozen
class Backoff:
    """``delay(n)``: the wait after the n-th failure in a row (0 for none)."""

    initial: float = attrs.field(default=1.0, validator=_positive)
    maximum: float = attrs.field(default=60.0, validator=_positive)
    factor: float = attrs.field(default=2.0, validator=_positive)

    def delay(self, failures):
        if failures <= 0:
            return 0
        # Capped before it is raised to a power that would overflow a float.
        exponent = min(failures - 1, 1024)
        try:
            return min(self.maximum, self.initial * self.factor**exponent)
        except OverflowError:
            return self.maximum
