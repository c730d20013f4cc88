"""Commands of the local control socket (rackctl -> rackd).

Declarations only: each command says what it carries and every failure the
caller should expect; the responders are in `provisioningserver.rpc.local`.
Documents and replies travel as `CompressedJSON`, so size is no limit.
What each command carries is declared once, in `rpc.controlspec`, which
rackctl's Twisted-free client (`rpc.controlclient`) reads too.
"""

import functools
import json

from twisted.protocols import amp

from provisioningserver.rpc import ampbox, arguments, controlspec
from provisioningserver.rpc.arguments import CompressedJSON


class InvalidDocument(Exception):
    """The document broke the schema; the reply lists each problem as
    ``{"field": path, "error": message}`` (JSON in the error description)."""


class ConfigRejected(Exception):
    """dhcpd -t rejected the rendered config; the description holds dhcpd's
    errors as JSON (line, text, caret position, secrets redacted; and where
    in the document: ``where`` in words, ``path``, ``snippet``,
    ``snippet_line``), ``before`` (what serves meanwhile: the previous config,
    or nothing served before) and ``error``, the whole in one sentence."""


class DhcpdFailed(Exception):
    """dhcpd did not come up with the new config. The description says what
    dhcpd said and whether the previous config was restored and serves."""


class EnvironmentProblem(Exception):
    """Something this rack lacks: dhcpd not installed, an unwritable
    directory. Not the document's fault."""


class ConfigureTimeout(Exception):
    """The configure did not finish in time. The JSON description says how
    long was waited (``seconds``), whether the caller's document was still
    ``queued`` or ``running``, and ``state_known``: true when the document was
    withdrawn unapplied (dhcpd keeps what it had), false when it may still be
    applied (GetDHCPStatus reports what happened)."""


class FailoverRefused(Exception):
    """rackctl failover partner-down was refused (the partner has not been
    unreachable for the safety time, the pair is in normal state, or no such peer)."""


def describe(kind, **fields):
    """The JSON description a declared error carries: ``kind`` and ``fields``."""
    return json.dumps({"kind": kind, **fields})


def bad_argument(error):
    """The `InvalidDocument` for an argument that could not be read (an
    `ampbox.BadArgument`): the argument is the field."""
    return InvalidDocument(describe("invalid-document", errors=[
        {"field": error.argument, "error": error.reason}]))


ERRORS = {
    InvalidDocument: controlspec.INVALID_DOCUMENT.encode("ascii"),
    ConfigRejected: controlspec.CONFIG_REJECTED.encode("ascii"),
    DhcpdFailed: controlspec.DHCPD_FAILED.encode("ascii"),
    EnvironmentProblem: controlspec.ENVIRONMENT.encode("ascii"),
    ConfigureTimeout: controlspec.CONFIGURE_TIMEOUT.encode("ascii"),
    FailoverRefused: controlspec.FAILOVER_REFUSED.encode("ascii"),
}

_AMP_TYPES = {
    ampbox.INTEGER: arguments.Integer, ampbox.FLOAT: arguments.Float,
    ampbox.BOOLEAN: arguments.Boolean, ampbox.UNICODE: arguments.Unicode,
    ampbox.BYTES: arguments.String, ampbox.JSON: CompressedJSON,
    ampbox.PACKED: functools.partial(CompressedJSON, packed=True),
}


def amp_fields(name):
    """The ``arguments`` and ``response`` of command ``name``, as amp
    argument types, from `controlspec.COMMANDS`."""
    arguments, response = controlspec.COMMANDS[name]

    def typed(fields):
        return [(field, _AMP_TYPES[kind](optional=optional)) for field, kind, optional in fields]

    return typed(arguments), typed(response)


class Configure(amp.Command):
    """Make one family's dhcpd serve ``document`` (the DHCP config document).

    A document with no shared networks stops that family's dhcpd, but only
    with ``allow_stop``: without it such a document is an `InvalidDocument`
    naming ``shared_networks``, since from a command line it is far more often
    a truncated or wrong file than a wish to stop DHCP. (The region's
    ConfigureDHCPv4/v6 carry no such guard: there an empty document is how the
    region says "serve nothing here".) With ``dry_run`` the document is
    validated, rendered and checked with ``dhcpd -t`` but nothing changes. The reply's ``outcome`` says what was
    done: action (unchanged, started, restarted, stopped, would-restart…) and why.
    """

    arguments, response = amp_fields("Configure")
    errors = ERRORS


class StopDHCP(amp.Command):
    """Stop one family's dhcpd and keep it stopped (its document is dropped)."""

    arguments, response = amp_fields("StopDHCP")
    errors = ERRORS


class FailoverPartnerDown(amp.Command):
    """Move this rack's dhcpd to partner-down for failover peer ``peer`` (IPv4),
    refused unless the partner has been unreachable for longer than the safety
    time; ``force`` skips the time check (see provisioningserver.dhcp.failover).
    The outcome: {action: "partner-down" | "nothing", reason}."""

    arguments, response = amp_fields("FailoverPartnerDown")
    errors = ERRORS


class GetStatus(amp.Command):
    """Per family: running / off / dead, pid, since, reason, config
    fingerprint, the last configure's outcome, the leases file's size."""

    arguments, response = amp_fields("GetStatus")
    errors = ERRORS


class ProbeForeignDHCP(amp.Command):
    """Send DHCPDISCOVERs on ``interface`` (default: every interface served, plus
    ``foreign_probe_interfaces``) and wait a few seconds for offers. ``probe``:
    a list per interface of {interface, probed_at, error (null, or why the
    socket failed), ignored ({reason: count}), servers: [{interface,
    server_id, address, mac, offered, first_seen, last_seen}]}, this rack's
    own server and its failover peers left out. An interface this node lacks
    fails InvalidDocument naming the field ``interface``."""

    arguments, response = amp_fields("ProbeForeignDHCP")
    errors = ERRORS


# Lease reports. Each answers from the lease journal and the applied configs;
# with lease events off there is no journal and they fail EnvironmentProblem.

class GetLeases(amp.Command):
    """Current leases per served subnet: a list of {subnet (null: outside
    every served subnet), leases: [{action, ip_family, ip, mac, duid,
    hostname, lease_time, timestamp, unknown_client, ends}]}."""

    arguments, response = amp_fields("GetLeases")
    errors = ERRORS


class GetHistory(amp.Command):
    """What happened to an address (``ip``) or a machine (``mac``), oldest
    first, within the history's retention: a list of events. An ``ip`` or
    ``mac`` that is not one fails InvalidDocument naming the field."""

    arguments, response = amp_fields("GetHistory")
    errors = ERRORS


class GetPools(amp.Command):
    """Usage of every served pool: a list of {subnet, range, size, active,
    reserved (host reservations inside the range), free, percent_used}."""

    arguments, response = amp_fields("GetPools")
    errors = ERRORS


class GetUnknown(amp.Command):
    """Clients that got a lease with no host reservation naming their MAC,
    newest commit per MAC: a list of events."""

    arguments, response = amp_fields("GetUnknown")
    errors = ERRORS


class GetTransactions(amp.Command):
    """dhcpd's per-packet log (the transaction log), oldest first: the newest
    ``limit`` (default 1000) transactions matching every filter given, each
    {family, type, time, mac, duid, ip, interface, relay, server, hostname,
    peer, xid, network, reason}. ``since`` is a Unix time. A bad ``mac``,
    ``ip``, ``since`` or ``limit`` fails InvalidDocument naming the field."""

    arguments, response = amp_fields("GetTransactions")
    errors = ERRORS


class GetProblems(amp.Command):
    """Requests dhcpd could not serve since rackd started, per subnet and
    pool: a list of {family, subnet, pool (a range, or null), kind
    (no_free_leases or nak), count, last_minute}."""

    arguments, response = amp_fields("GetProblems")
    errors = ERRORS
