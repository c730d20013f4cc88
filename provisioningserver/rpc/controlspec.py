"""What each control-socket command carries, without Twisted.

One table for both ends: `rpc.control` builds its `amp.Command` classes'
``arguments`` and ``response`` from it (and documents each command there),
and `rpc.controlclient`, which ``rackctl`` calls the agent with, encodes and
decodes by it. A field is (name, kind, optional), the kinds being
`rpc.ampbox`'s.
"""

from provisioningserver.rpc.ampbox import BOOLEAN, FLOAT, INTEGER, JSON, PACKED, UNICODE

# The declared errors' codes (rpc.control maps its exceptions to these).
INVALID_DOCUMENT = "INVALID_DOCUMENT"
CONFIG_REJECTED = "CONFIG_REJECTED"
DHCPD_FAILED = "DHCPD_FAILED"
ENVIRONMENT = "ENVIRONMENT"
CONFIGURE_TIMEOUT = "CONFIGURE_TIMEOUT"
FAILOVER_REFUSED = "FAILOVER_REFUSED"
ERROR_CODES = (INVALID_DOCUMENT, CONFIG_REJECTED, DHCPD_FAILED, ENVIRONMENT,
               CONFIGURE_TIMEOUT, FAILOVER_REFUSED)


def _required(name, kind):
    return (name, kind, False)


def _optional(name, kind):
    return (name, kind, True)


# name -> (arguments, response)
COMMANDS = {
    "Configure": (
        (_required(b"ip_version", INTEGER), _required(b"document", PACKED),
         _optional(b"dry_run", BOOLEAN), _optional(b"allow_stop", BOOLEAN)),
        (_required(b"outcome", JSON),)),
    "StopDHCP": ((_required(b"ip_version", INTEGER),), (_required(b"outcome", JSON),)),
    "FailoverPartnerDown": (
        (_required(b"peer", UNICODE), _optional(b"force", BOOLEAN)),
        (_required(b"outcome", JSON),)),
    "GetStatus": ((), (_required(b"status", JSON),)),
    "ProbeForeignDHCP": ((_optional(b"interface", UNICODE),), (_required(b"probe", JSON),)),
    "GetLeases": ((), (_required(b"leases", JSON),)),
    "GetHistory": (
        (_optional(b"ip", UNICODE), _optional(b"mac", UNICODE), _optional(b"limit", INTEGER)),
        (_required(b"events", JSON),)),
    "GetPools": ((), (_required(b"pools", JSON),)),
    "GetUnknown": ((), (_required(b"clients", JSON),)),
    "GetTransactions": (
        (_optional(b"mac", UNICODE), _optional(b"ip", UNICODE), _optional(b"since", FLOAT),
         _optional(b"limit", INTEGER)),
        (_required(b"transactions", JSON),)),
    "GetProblems": ((), (_required(b"problems", JSON),)),
}
