"""Test-only TLS material, generated when a test needs it (nothing committed).

`make_pki(directory)` writes a CA, a region certificate signed by it (for
127.0.0.1, ::1 and localhost) and its key, plus a second, unrelated CA for
the wrong-CA case. The keys are small EC keys made fresh every time.
"""

import datetime
import ipaddress
import os

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@attrs.frozen
class PKI:
    ca: str  # PEM file of the CA that signed the region's certificate
    cert: str  # the region's certificate
    key: str  # its private key
    other_ca: str  # a CA that signed nothing of ours
    fingerprint: str  # SHA-256 of the region's certificate, hex


def _name(common):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(subject, key, issuer, issuer_key, ca, sans=()):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path, data, mode=0o644):
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as stream:
        stream.write(data)
    return path


def make_pki(directory, addresses=()):
    """The PKI; the region's certificate names ``addresses`` (IPs, as text)
    besides the loopback ones."""
    pem = serialization.Encoding.PEM
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("rackd test CA", ca_key, "rackd test CA", ca_key, ca=True)
    other_key = ec.generate_private_key(ec.SECP256R1())
    other = _certificate("unrelated test CA", other_key, "unrelated test CA", other_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    sans = (x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
            *(x509.IPAddress(ipaddress.ip_address(a)) for a in addresses))
    cert = _certificate("test region", key, "rackd test CA", ca_key, ca=False, sans=sans)
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return PKI(
        ca=_write(os.path.join(directory, "ca.pem"), ca.public_bytes(pem)),
        cert=_write(os.path.join(directory, "region.pem"), cert.public_bytes(pem)),
        key=_write(os.path.join(directory, "region.key"), key_pem, 0o600),
        other_ca=_write(os.path.join(directory, "other-ca.pem"), other.public_bytes(pem)),
        fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
    )


def write_secret(path, secret=None):
    """A secret file as rackd wants it: hex, mode 0600. Returns the secret."""
    secret = secret if secret is not None else os.urandom(32)
    _write(path, secret.hex().encode("ascii") + b"\n", 0o600)
    os.chmod(path, 0o600)
    return secret
