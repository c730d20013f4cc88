"""Commands between a region controller and rackd, over AMP on TLS.

Declarations only, importable by a region or a test: the rack's responders
are in `provisioningserver.rpc.rack_responders` and `.region`, the test
region's in ``tests.region``. Documents, lease batches and replies travel as
`CompressedJSON`, so a 50,000-host document fits.

Before any other command both sides run `Authenticate` (see
`provisioningserver.rpc.auth`); until a side has checked its peer it answers
everything else with `NotAuthenticated`, and a wrong answer closes the
connection. Errors carry a JSON description; the configure errors are those
of the local control socket (`provisioningserver.rpc.control`), so one
translation serves both.
"""

from twisted.protocols import amp

from provisioningserver.rpc.arguments import CompressedJSON
from provisioningserver.rpc.control import (  # noqa: F401 (re-exported for regions)
    ConfigRejected, ConfigureTimeout, DhcpdFailed, EnvironmentProblem, InvalidDocument)


class NotAuthenticated(Exception):
    """The command came before the peer proved it knows the shared secret."""


class InvalidChallenge(Exception):
    """An Authenticate message that is not 16 bytes, or that is the answerer's
    own outstanding challenge handed back (a reflection)."""


class NotRegistered(Exception):
    """A rack-to-region report on a connection whose rack has not registered."""


class RegistrationRefused(Exception):
    """The region does not accept this rack (unknown id, or a duplicate)."""


CONFIGURE_ERRORS = {
    InvalidDocument: b"INVALID_DOCUMENT",
    ConfigRejected: b"CONFIG_REJECTED",
    DhcpdFailed: b"DHCPD_FAILED",
    EnvironmentProblem: b"ENVIRONMENT",
    ConfigureTimeout: b"CONFIGURE_TIMEOUT",
    NotAuthenticated: b"NOT_AUTHENTICATED",
}
VALIDATE_ERRORS = {
    InvalidDocument: b"INVALID_DOCUMENT",  # only a document that did not arrive whole
    EnvironmentProblem: b"ENVIRONMENT",
    ConfigureTimeout: b"CONFIGURE_TIMEOUT",
    NotAuthenticated: b"NOT_AUTHENTICATED",
}
REPORT_ERRORS = {
    NotAuthenticated: b"NOT_AUTHENTICATED",
    NotRegistered: b"NOT_REGISTERED",
}


# Both directions.

class Authenticate(amp.Command):
    """Prove knowledge of the shared secret: reply with a fresh 16-byte
    ``salt`` and ``digest`` = HMAC-SHA256(secret, message ‖ salt)."""

    arguments = [(b"message", amp.String())]
    response = [(b"digest", amp.String()), (b"salt", amp.String())]
    errors = {InvalidChallenge: b"INVALID_CHALLENGE"}


# Region -> rack.

class _Configure(amp.Command):
    arguments = [(b"document", CompressedJSON(packed=True))]
    response = [(b"outcome", CompressedJSON())]
    errors = CONFIGURE_ERRORS


class ConfigureDHCPv4(_Configure):
    """Make the rack's IPv4 dhcpd serve ``document`` (the DHCP config document;
    no shared networks stops it). Calls that queue behind a running one are
    coalesced: only the newest document is applied, and each caller gets the
    outcome that covers it. ``outcome``: ip_version, action (unchanged,
    applied-live, started, restarted, stopped), reason, fingerprint, warnings,
    interfaces, hosts (live change counts)."""


class ConfigureDHCPv6(_Configure):
    """As `ConfigureDHCPv4`, for the rack's IPv6 dhcpd."""


class _Validate(amp.Command):
    arguments = [(b"document", CompressedJSON(packed=True))]
    response = [(b"errors", CompressedJSON())]
    errors = VALIDATE_ERRORS


class ValidateDHCPv4Config(_Validate):
    """Check ``document`` as `ConfigureDHCPv4` would, with the real ``dhcpd -t``,
    changing nothing. ``errors`` is a list of {error, field, line_num, line,
    position}: ``field`` is the document path for rackd's own checks (the line
    keys are then null), the line keys locate dhcpd's complaints (secret lines
    redacted; ``field`` null). An empty list means valid."""


class ValidateDHCPv6Config(_Validate):
    """As `ValidateDHCPv4Config`, checking the document as the rack's IPv6 dhcpd would."""


class GetDHCPStatus(amp.Command):
    """Per family (``v4``, ``v6``): state (running, off, dead), pid, since,
    reason, restarts, config fingerprint, interfaces, the last configure's
    outcome, the leases file's size."""

    arguments = []
    response = [(b"status", CompressedJSON())]
    errors = {NotAuthenticated: b"NOT_AUTHENTICATED"}


# Rack -> region.

class RegisterRack(amp.Command):
    """Identify the rack on this connection (sent after every (re)connect).
    The reply names the region controller that answered."""

    arguments = [(b"rack_id", amp.Unicode()), (b"name", amp.Unicode()),
                 (b"version", amp.Unicode(optional=True))]
    response = [(b"region", amp.Unicode())]
    errors = {NotAuthenticated: b"NOT_AUTHENTICATED",
              RegistrationRefused: b"REGISTRATION_REFUSED"}


class UpdateLeases(amp.Command):
    """A batch of lease events, oldest first. Each is {action (commit, expiry,
    release), mac, duid (DHCPv6, else null), ip_family (4 or 6), ip,
    timestamp (seconds since the epoch), lease_time, hostname,
    unknown_client, id, journal}: (journal, id) names the event for good, so a
    batch sent again after a lost reply is stored once. The reply counts the
    events stored; the rack forgets a batch only after this reply."""

    arguments = [(b"events", CompressedJSON())]
    response = [(b"stored", amp.Integer())]
    errors = REPORT_ERRORS


class UpdateServices(amp.Command):
    """The state of the rack's DHCP services: a list of {service (dhcpd,
    dhcpd6), status (running, off, dead), status_info, failover_state (null
    when not known or not configured)}. Sent after registering and after
    every configure."""

    arguments = [(b"services", CompressedJSON())]
    response = []
    errors = REPORT_ERRORS


class ReportForeignDHCPServer(amp.Command):
    """DHCP servers other than this rack's (and its failover peers) that answered
    the latest probe on ``interface``: a list of {ip, mac, server_id, offered,
    first_seen, last_seen} (ip and mac: the offer's sender; server_id: its
    option 54, "" when absent; times in seconds since the epoch), empty when
    there are none (so the region can clear a warning). Sent after every probe."""

    arguments = [(b"interface", amp.Unicode()), (b"servers", CompressedJSON())]
    response = []
    errors = REPORT_ERRORS
