"""Commands of the local control socket (rackctl -> rackd).

Declarations only: each command says what it carries and every failure the
caller should expect; the responders are in `provisioningserver.rpc.local`.
Documents and replies travel as `CompressedJSON`, so size is no limit.
"""

from twisted.protocols import amp

from provisioningserver.rpc.arguments import CompressedJSON


class InvalidDocument(Exception):
    """The document broke the schema; the reply lists each problem as
    ``{"field": path, "error": message}`` (JSON in the error description)."""


class ConfigRejected(Exception):
    """dhcpd -t rejected the rendered config; the description holds dhcpd's
    errors (line, text, caret position) as JSON, secrets redacted."""


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


ERRORS = {
    InvalidDocument: b"INVALID_DOCUMENT",
    ConfigRejected: b"CONFIG_REJECTED",
    DhcpdFailed: b"DHCPD_FAILED",
    EnvironmentProblem: b"ENVIRONMENT",
    ConfigureTimeout: b"CONFIGURE_TIMEOUT",
}


class Configure(amp.Command):
    """Make one family's dhcpd serve ``document`` (the DHCP config document).

    A document with no shared networks stops that family's dhcpd. With
    ``dry_run`` the document is validated, rendered and checked with
    ``dhcpd -t`` but nothing changes. The reply's ``outcome`` says what was
    done: action (unchanged, started, restarted, stopped, would-restart…) and why.
    """

    arguments = [
        (b"ip_version", amp.Integer()),
        (b"document", CompressedJSON()),
        (b"dry_run", amp.Boolean(optional=True)),
    ]
    response = [(b"outcome", CompressedJSON())]
    errors = ERRORS


class StopDHCP(amp.Command):
    """Stop one family's dhcpd and keep it stopped (its document is dropped)."""

    arguments = [(b"ip_version", amp.Integer())]
    response = [(b"outcome", CompressedJSON())]
    errors = ERRORS


class GetStatus(amp.Command):
    """Per family: running / off / dead, pid, since, reason, config
    fingerprint, the last configure's outcome, the leases file's size."""

    arguments = []
    response = [(b"status", CompressedJSON())]
    errors = ERRORS
