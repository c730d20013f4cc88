"""How a configure fails, as the exceptions its callers catch.

They live apart from the executor (`services.configure`, which raises
them and from which callers import them) so that the executor's module
holds the carrying out alone; each says what serves after it, since that
is what an operator reading the error needs next.
"""


class DhcpdMissing(Exception):
    """No dhcpd binary where rackd looks for one."""


# What serves after a rejection (ConfigRejected.before): a rejection changes nothing.
STILL_SERVES = "the previous config still serves"
UNKNOWN_SERVES = "dhcpd keeps serving the config it had (not one this rackd applied)"
NOTHING_SERVED = "nothing served before"


class ConfigRejected(Exception):
    """dhcpd -t refused the rendered config. ``result`` is the `CheckResult`
    (its errors located in the document); ``before`` says what serves."""

    def __init__(self, result, before=None):
        self.result, self.before = result, before
        tail = f"; {before}" if before else ""
        super().__init__(f"dhcpd rejected the rendered config{tail}")


class StartFailed(Exception):
    """dhcpd did not come up with the new config."""

    def __init__(self, reason, rolled_back, restored):
        self.reason, self.rolled_back, self.restored = reason, rolled_back, restored
        if not rolled_back:
            tail = "there was no previous config: dhcpd is stopped"
        elif restored:
            tail = "the previous config was restored and dhcpd serves it again"
        else:
            tail = "the previous config was restored but dhcpd did not come up with it either"
        super().__init__(f"dhcpd did not come up with the new config: {reason}; {tail}")


class ConfigureCancelled(Exception):
    """A configure cancelled part-way (its caller's deadline passed).
    ``rolled_back``: it had changed dhcpd and the applied state was put back;
    ``restored``: dhcpd serves the applied state (True too when nothing had
    changed yet)."""

    def __init__(self, rolled_back, restored):
        self.rolled_back, self.restored = rolled_back, restored
        super().__init__(
            "cancelled before anything changed" if not rolled_back else
            "cancelled and rolled back: dhcpd serves the last applied config" if restored else
            "cancelled; the rollback failed: dhcpd did not come up with the last applied config")
