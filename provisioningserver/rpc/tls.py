"""TLS for the rack's connection to a region: TLS 1.2 or newer, the region's
certificate checked against a CA file (with its host name) or pinned by its
SHA-256 fingerprint.

The CA file is read for every connection attempt (`FreshTLSEndpoint`), so a
replaced CA or pin takes effect on the next connection without a restart.
"""

import re
import hmac

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from OpenSSL import SSL
from twisted.internet import defer, ssl
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator, IStreamClientEndpoint
from zope.interface import implementer


class TLSSettingsError(Exception):
    """The CA file or the fingerprint is unusable."""


_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def _load_certificates(data):
    """Every certificate of a PEM bundle (one by one: Debian 12's cryptography
    38 has no load_pem_x509_certificates)."""
    blocks = _PEM_BLOCK.findall(data)
    if not blocks:
        raise ValueError("no PEM certificate in the file")
    return [x509.load_pem_x509_certificate(block) for block in blocks]


def parse_fingerprint(text):
    """``"ab:cd:…"`` or ``"abcd…"`` (64 hex digits) -> 32 bytes."""
    try:
        pin = bytes.fromhex(text.replace(":", "").strip())
    except ValueError:
        pin = b""
    if len(pin) != 32:
        raise TLSSettingsError(f"region_fingerprint: expected 64 hex digits (SHA-256), got {text!r}")
    return pin


def _min_tls12(context):
    context.set_min_proto_version(SSL.TLS1_2_VERSION)


@implementer(IOpenSSLClientConnectionCreator)
class PinnedCertificate:
    """Accept exactly the server certificate with this SHA-256 fingerprint.

    The pin replaces the CA and host name checks: it names the one
    certificate that is acceptable, whoever issued it.
    """

    def __init__(self, pin):
        self.pin = pin

    def _verify(self, connection, certificate, errno, depth, preverified):
        if depth > 0:
            return True  # the chain above the leaf is irrelevant to a pin
        seen = certificate.to_cryptography().fingerprint(hashes.SHA256())
        return hmac.compare_digest(seen, self.pin)

    def clientConnectionForTLS(self, tls_protocol):
        context = SSL.Context(SSL.TLS_CLIENT_METHOD)
        _min_tls12(context)
        context.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, self._verify)
        connection = SSL.Connection(context, None)
        connection.set_app_data(tls_protocol)
        return connection


def ca_options(hostname, ca_file):
    """Client TLS options trusting the certificates in ``ca_file`` (PEM)."""
    try:
        with open(ca_file, "rb") as stream:
            certificates = _load_certificates(stream.read())
    except (OSError, ValueError) as error:
        raise TLSSettingsError(f"region_ca {ca_file}: {error}")
    roots = ssl.trustRootFromCertificates(
        [ssl.Certificate.loadPEM(c.public_bytes(Encoding.PEM)) for c in certificates])
    return ssl.optionsForClientTLS(
        hostname, trustRoot=roots,
        extraCertificateOptions={"raiseMinimumTo": ssl.TLSVersion.TLSv1_2})


def client_tls(hostname, ca_file=None, fingerprint=None):
    """The connection creator for one attempt: pinned if a fingerprint is set."""
    if fingerprint:
        return PinnedCertificate(parse_fingerprint(fingerprint))
    if ca_file:
        return ca_options(hostname, ca_file)
    raise TLSSettingsError("a region needs region_ca or region_fingerprint")


@implementer(IStreamClientEndpoint)
class FreshTLSEndpoint:
    """TCP to host:port wrapped in TLS whose settings are read at each connect."""

    def __init__(self, reactor, host, port, ca_file=None, fingerprint=None, timeout=30):
        self.reactor, self.host, self.port = reactor, host, port
        self.ca_file, self.fingerprint, self.timeout = ca_file, fingerprint, timeout

    def connect(self, factory):
        try:
            creator = client_tls(self.host, self.ca_file, self.fingerprint)
        except TLSSettingsError:
            return defer.fail()
        tcp = HostnameEndpoint(self.reactor, self.host, self.port, timeout=self.timeout)
        return wrapClientTLS(creator, tcp).connect(factory)

    def __repr__(self):
        return f"<region {self.host}:{self.port}>"
