"""The OMAPI codec against pypureomapi, the reference: the same bytes for
every message rackd sends, the same values for every reply shape dhcpd
sends, signatures made and checked both ways, and a clear error for a frame
that never completes."""

import base64

import pytest
from pypureomapi import (
    OMAPI_OP_STATUS,
    OMAPI_OP_UPDATE,
    InBuffer,
    OmapiHMACMD5Authenticator,
    OmapiMessage,
    OmapiStartupMessage,
)

from provisioningserver.omapi import objects
from provisioningserver.omapi.errors import OmapiProtocolError
from provisioningserver.omapi.wire import (
    SIZE_LIMIT,
    Decoder,
    encode,
    encode_startup,
    sign,
    verifies,
)

SECRET = base64.b64encode(bytes(range(32)))
MAC = "02:00:00:00:00:01"


def key(authid=7):
    authenticator = OmapiHMACMD5Authenticator(b"omapi_key", SECRET)
    authenticator.authid = authid
    return authenticator


def requests():
    """Every kind of request the client sends."""
    return [
        objects.authenticator_open(key()),
        objects.host_create("h1", MAC, "198.18.0.10"),
        objects.host_create("h-ü", MAC, "2001:db8::10"),
        objects.object_open(b"host", mac=MAC),
        objects.object_open(b"host", name="h1"),
        objects.object_open(b"lease", ip="198.18.0.10"),
        objects.failover_open("peer"),
        objects.failover_set_local_state(12, "partner-down"),
        objects.host_set_ip(12, "198.18.0.11"),
        objects.object_delete(12),
    ]


def replies():
    """Reply shapes dhcpd sends: an object, a status with a message, an empty one."""
    return [
        OmapiMessage(authid=7, opcode=OMAPI_OP_UPDATE, handle=5, tid=9, rid=4,
                     obj=[(b"name", b"h1"), (b"hardware-address", bytes(6)),
                          (b"ip-address", bytes([198, 18, 0, 10]))]),
        OmapiMessage(authid=7, opcode=OMAPI_OP_STATUS, tid=10, rid=5,
                     message=[(b"result", b"\0\0\0\x17"), (b"message", b"not found")]),
        OmapiMessage(opcode=OMAPI_OP_STATUS, tid=11, rid=6),
    ]


@pytest.mark.parametrize("index", range(len(requests())))
def test_requests_encode_to_pypureomapis_bytes_signed_or_not(index):
    """Each request is byte for byte what pypureomapi would send, unsigned,
    for signing, and signed with the same key."""
    ours, theirs = requests()[index], requests()[index]
    theirs.tid = ours.tid = 123456
    assert encode(ours) == theirs.as_string()
    assert encode(ours, forsigning=True) == theirs.as_string(forsigning=True)
    sign(ours, key())
    theirs.sign(key())
    assert ours.signature == theirs.signature
    assert encode(ours) == theirs.as_string()


def test_a_signature_of_ours_verifies_with_pypureomapi_and_theirs_with_ours():
    """Signing is interchangeable; a wrong key or a changed byte fails."""
    ours = objects.host_create("h1", MAC, "198.18.0.10")
    sign(ours, key())
    assert ours.verify({7: key()})
    theirs = objects.object_open(b"host", name="h1")
    theirs.sign(key())
    assert verifies(theirs, key())
    other = OmapiHMACMD5Authenticator(b"omapi_key", base64.b64encode(bytes(32)))
    other.authid = 7
    assert not verifies(theirs, other)
    theirs.obj[0] = (b"name", b"h2")
    assert not verifies(theirs, key())


def test_startup_message_is_pypureomapis():
    """The startup message is the one pypureomapi sends (version 100, header 24)."""
    assert encode_startup() == OmapiStartupMessage().as_string()


def test_decoder_reads_what_pypureomapi_reads_from_any_split():
    """Startup and replies written back to back, fed in every 1-byte split and
    all at once, decode to the values pypureomapi's parser finds."""
    stream = OmapiStartupMessage().as_string()
    signed = replies()
    for message in signed[:2]:
        message.sign(key())
    stream += b"".join(message.as_string() for message in signed)
    reference = InBuffer(stream)
    parser = reference.parse_startup_message()
    expected = [next(parser)]
    for _ in signed:
        reference.resetsize()
        parser = reference.parse_message()
        expected.append(next(parser))
    for chunk in (1, 7, len(stream)):
        decoder = Decoder()
        got = []
        for start in range(0, len(stream), chunk):
            decoder.feed(stream[start:start + chunk])
            while (message := decoder.next_message()) is not None:
                got.append(message)
        assert len(got) == len(expected)
        assert (got[0].protocol_version, got[0].header_size) == (100, 24)
        for mine, theirs in zip(got[1:], expected[1:]):
            assert vars(theirs).items() <= vars(mine).items()
        assert verifies(got[1], key()) and verifies(got[2], key())


def test_a_decoded_reply_verifies_from_its_own_bytes():
    """The decoder keeps the signed bytes, so a reply whose signature does
    not match them (a tampered value) fails verification."""
    reply = replies()[0]
    reply.sign(key())
    data = bytearray(reply.as_string())
    data[data.index(b"h1") + 1] = ord("2")
    decoder = Decoder()
    decoder.feed(OmapiStartupMessage().as_string() + bytes(data))
    decoder.next_message()
    tampered = decoder.next_message()
    assert tampered.obj[0] == (b"name", b"h2")
    assert not verifies(tampered, key())


def test_a_frame_that_never_completes_is_a_protocol_error():
    """A value announced longer than the size limit is refused once more than
    the limit has arrived, instead of buffering without end."""
    decoder = Decoder()
    decoder.feed(OmapiStartupMessage().as_string())
    decoder.next_message()
    header = OmapiMessage(opcode=OMAPI_OP_UPDATE).as_string()[:24]
    decoder.feed(header + b"\0\x04name" + (SIZE_LIMIT * 2).to_bytes(4, "big"))
    assert decoder.next_message() is None
    decoder.feed(bytes(SIZE_LIMIT))
    with pytest.raises(OmapiProtocolError, match="no complete OMAPI message"):
        decoder.next_message()


def test_a_message_over_the_size_limit_is_not_sent():
    """Encoding refuses a message dhcpd would not take."""
    message = objects.host_create("h" * SIZE_LIMIT, MAC, "198.18.0.10")
    with pytest.raises(OmapiProtocolError, match="over 65536"):
        encode(message)


def test_pack_mac_matches_pypureomapi():
    """rackd's quick MAC packing gives pypureomapi's bytes for every form
    pypureomapi accepts, and its errors for the rest."""
    import pypureomapi

    from provisioningserver.omapi.objects import pack_mac

    # Which forms pypureomapi accepts depends on its version (0.8, Debian
    # 12's, refuses eight groups), so each form is judged by what it says.
    for mac in ("02:00:00:00:00:01", "AA:bb:Cc:dD:ee:FF", "2:0:0:0:0:1",
                "00:12:4B:00:0B:27:67:4B", "02:00:00:00:00", "02:00:00:00:00:0g",
                "02-00-00-00-00-01", "", None):
        try:
            theirs = pypureomapi.pack_mac(mac)
        except ValueError as error:
            with pytest.raises(ValueError) as ours:
                pack_mac(mac)
            assert str(ours.value) == str(error)
        else:
            assert pack_mac(mac) == theirs


def test_encode_signed_is_sign_then_encode():
    """Signing and encoding in one pass gives the bytes of `sign` followed by
    `encode`, and pypureomapi's."""
    from pypureomapi import OmapiHMACMD5Authenticator

    from provisioningserver.omapi.objects import host_create
    from provisioningserver.omapi.wire import encode, encode_signed, sign

    key = OmapiHMACMD5Authenticator(b"omapi_key", base64.b64encode(b"a secret of the tests"))
    key.authid = 7
    one, two, pure = (host_create("h1", "02:00:00:00:00:01", "198.18.0.9") for _ in range(3))
    for message in (one, two, pure):
        message.tid = 42
    sign(two, key)
    pure.sign(key)
    assert encode_signed(one, key) == encode(two) == pure.as_string()
    assert one.signature == two.signature


@pytest.mark.parametrize("secret", [SECRET, base64.b64encode(b"k"), base64.b64encode(bytes(64)),
                                    base64.b64encode(bytes(range(200)))])
def test_hmac_md5_authenticator_signs_as_pypureomapi_does(secret):
    """rackd's HMAC-MD5 authenticator (pads hashed once) gives pypureomapi's
    signature for keys shorter than, as long as and longer than MD5's block,
    and its messages verify both ways."""
    from provisioningserver.omapi.wire import HMACMD5Authenticator, encode_signed

    ours, theirs = HMACMD5Authenticator(b"k", secret), OmapiHMACMD5Authenticator(b"k", secret)
    for data in (b"", b"x", bytes(range(256)) * 3):
        assert ours.sign(data) == theirs.sign(data)
    ours.authid = theirs.authid = 7
    for message in requests():
        message.tid = 5
        data = encode_signed(message, ours)
        parsed = next(InBuffer(data).parse_message())
        assert parsed.verify({7: theirs}) and verifies(parsed, ours)


def test_pack_address_takes_what_ipaddress_takes():
    """The quick IPv4 packing gives ipaddress's bytes for every address it
    takes and ipaddress's ValueError for every string it refuses."""
    import ipaddress

    from provisioningserver.omapi.objects import pack_address

    for ip in ["198.18.0.1", "0.0.0.0", "255.255.255.255", "2001:db8::1", "::ffff:1.2.3.4",
               ipaddress.ip_address("198.18.0.9"), "1.2.3.04", "01.2.3.4", "1.2.3", "256.1.1.1",
               " 1.2.3.4", "1.2.3.4\n", "0x1.2.3.4", "\u0661.2.3.4", "1.2.3.4\x00", "",
               "1.2.3.4/32", "2001:db8::1%eth0"]:
        try:
            theirs = ipaddress.ip_address(ip).packed
        except ValueError:
            with pytest.raises(ValueError):
                pack_address(ip)
        else:
            assert pack_address(ip) == theirs, ip
