"""Errors of the OMAPI client, and how dhcpd's status replies map onto them.

dhcpd answers a request it cannot carry out with a *status* message whose
``result`` value is an ISC result code and whose optional ``message`` value is
a short English text. pypureomapi 1.1 turns all of them into one generic
failure; here every code that a caller acts on differently gets its own
exception class, and the code and dhcpd's own words travel along in
``result`` and ``server_message``.

The codes below are the ones dhcpd 4.4.3-P1 was seen to send (see
tests/omapi/test_dhcpd.py): 23 for a missing object or handle, 18 for
an object that already exists or an update that would clash with another
host, and the DHCP result class (``0x60000`` + n) for key problems.

None of these messages ever carries the key secret: the client never passes
it to an exception, and nothing here reads it.
"""

ISC_R_SUCCESS = 0
ISC_R_NOPERM = 6
ISC_R_EXISTS = 18
ISC_R_NOTFOUND = 23

# dhcpd's own result class; the offsets follow omapip/result.h of ISC DHCP.
_DHCP_CLASS = 6 << 16
DHCP_R_KEYCONFLICT = _DHCP_CLASS + 7
DHCP_R_NOKEYS = _DHCP_CLASS + 9
DHCP_R_KEY_UNKNOWN = _DHCP_CLASS + 10
DHCP_R_INVALIDKEY = _DHCP_CLASS + 11


class OmapiError(Exception):
    """Base of every OMAPI failure.

    ``result`` is dhcpd's status code when dhcpd sent one, else None;
    ``server_message`` is dhcpd's text (possibly empty).
    """

    def __init__(self, message, result=None, server_message=""):
        super().__init__(message)
        self.result = result
        self.server_message = server_message


class OmapiNotFound(OmapiError):
    """The object named in the request does not exist in dhcpd."""


class OmapiKeyConflict(OmapiError):
    """The object already exists, or the change would clash with another
    object's key (its name, hardware address or IP address)."""


class OmapiNotAuthorized(OmapiError):
    """dhcpd refused the key: unknown key name, wrong secret, or a reply
    that is not signed by the key this connection authenticated with."""


class OmapiTimeout(OmapiError):
    """dhcpd answered nothing on the connection for the client's timeout
    while requests were outstanding (a slow but answering dhcpd is not
    timed out); the connection was dropped, because its stream state is then
    unknown, and every request outstanding on it fails with this."""


class OmapiConnectionLost(OmapiError):
    """The connection to dhcpd could not be made, or was lost before the
    reply came."""


class OmapiProtocolError(OmapiError):
    """dhcpd (or whatever answered) broke the OMAPI protocol: a reply nobody
    asked for, a startup message of another protocol version, a bad frame."""


_BY_RESULT = {
    ISC_R_NOTFOUND: OmapiNotFound,
    ISC_R_EXISTS: OmapiKeyConflict,
    DHCP_R_KEYCONFLICT: OmapiKeyConflict,
    ISC_R_NOPERM: OmapiNotAuthorized,
    DHCP_R_NOKEYS: OmapiNotAuthorized,
    DHCP_R_KEY_UNKNOWN: OmapiNotAuthorized,
    DHCP_R_INVALIDKEY: OmapiNotAuthorized,
}

_DEFAULT_TEXT = {
    DHCP_R_INVALIDKEY: "invalid key (wrong secret?)",
    DHCP_R_KEY_UNKNOWN: "key unknown",
    DHCP_R_NOKEYS: "no keys",
}


def describe_result(result):
    """A short name for a status code, for messages: ``23`` or
    ``dhcp+11``."""
    if result >= _DHCP_CLASS and result < _DHCP_CLASS + 0x10000:
        return f"dhcp+{result - _DHCP_CLASS}"
    return str(result)


def error_from_status(result, server_message, doing):
    """The exception for a status reply with a non-zero ``result``.

    ``doing`` says what the client asked for ("add host 02:..:01"), so that
    the message names the request as well as dhcpd's answer.
    """
    text = server_message or _DEFAULT_TEXT.get(result, "no message")
    cls = _BY_RESULT.get(result, OmapiError)
    return cls(
        f"{doing}: dhcpd said {text!r} (status {describe_result(result)})",
        result=result,
        server_message=server_message,
    )
