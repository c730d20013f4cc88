"""The shared-secret handshake's pieces: digests, the secret file, challenges."""

import hashlib
import hmac
import os

import pytest
from twisted.internet import defer

from provisioningserver.rpc.auth import (
    AuthenticationFailed, Challenges, Handshake, SecretError, digest, is_valid, read_secret)
from tests.region.certs import write_secret

SECRET = bytes(range(32))


def counter():
    """A deterministic stand-in for os.urandom."""
    state = {"n": 0}

    def random(size):
        state["n"] += 1
        return state["n"].to_bytes(size, "big")

    return random


def test_digest_is_hmac_sha256_of_message_then_salt():
    """The digest is HMAC-SHA256(secret, message ‖ salt), as the issue specifies."""
    message, salt = b"m" * 16, b"s" * 16
    assert digest(SECRET, message, salt) == hmac.new(
        SECRET, message + salt, hashlib.sha256).digest()
    assert is_valid(SECRET, message, salt, digest(SECRET, message, salt))


@pytest.mark.parametrize("secret, salt", [
    (b"another secret of 32 bytes......", b"s" * 16),
    (SECRET, b"t" * 16),
    (SECRET, b"s" * 15),
    (SECRET, None),
], ids=["wrong-secret", "other-salt", "short-salt", "no-salt"])
def test_wrong_answers_are_invalid(secret, salt):
    """A digest made with another secret, or checked with another salt, fails."""
    answer = digest(secret, b"m" * 16, b"s" * 16)
    assert not is_valid(SECRET, b"m" * 16, salt, answer)


def test_secret_file_is_read_as_hex(tmp_path):
    """A 0600 file holding hex gives the secret's bytes."""
    path = tmp_path / "secret"
    write_secret(str(path), SECRET)
    assert read_secret(str(path)) == SECRET


@pytest.mark.parametrize("content, mode, message", [
    (SECRET.hex(), 0o644, "mode 0644; it must be 0600"),
    (SECRET.hex(), 0o640, "mode 0640"),
    ("not hex at all", 0o600, "does not hold a hex secret"),
    ("abcd", 0o600, "shorter than 16 bytes"),
], ids=["world-readable", "group-readable", "not-hex", "too-short"])
def test_bad_secret_files_are_refused_without_showing_the_secret(tmp_path, content, mode, message):
    """A secret file that is too open, not hex, or too short is refused; the
    error never contains the file's content."""
    path = tmp_path / "secret"
    path.write_text(content)
    os.chmod(path, mode)
    with pytest.raises(SecretError, match=message) as caught:
        read_secret(str(path))
    assert content not in str(caught.value)


def test_missing_secret_file_is_refused(tmp_path):
    """No file: a SecretError naming the path."""
    with pytest.raises(SecretError, match="cannot open secret file"):
        read_secret(str(tmp_path / "absent"))


def test_a_replaced_secret_file_is_read_anew(tmp_path):
    """read_secret caches nothing: replacing the file changes the next read."""
    path = str(tmp_path / "secret")
    write_secret(path, SECRET)
    assert read_secret(path) == SECRET
    write_secret(path, b"n" * 32)
    assert read_secret(path) == b"n" * 32


def test_answer_uses_a_fresh_salt_each_time():
    """Two answers to the same message carry different salts and digests."""
    handshake = Handshake(SECRET, Challenges(), random=counter())
    first, second = handshake.answer(b"m" * 16), handshake.answer(b"m" * 16)
    assert first["salt"] != second["salt"] and first["digest"] != second["digest"]
    assert handshake.answered


def test_answer_refuses_a_challenge_of_the_wrong_size():
    """Only 16-byte messages are answered."""
    with pytest.raises(ValueError, match="16 bytes"):
        Handshake(SECRET, Challenges()).answer(b"short")


def test_our_own_challenge_handed_back_is_not_answered():
    """A reflected challenge (one of ours, outstanding on any connection) is
    refused, so an impostor cannot have us answer our own challenge for it."""
    challenges = Challenges(random=counter())
    ours = Handshake(SECRET, challenges)
    sent = []
    ours.challenge(lambda message: sent.append(message) or defer.Deferred())
    other_connection = Handshake(SECRET, challenges)
    with pytest.raises(ValueError, match="one of our own"):
        other_connection.answer(sent[0])


def test_challenge_checks_the_answer_and_forgets_the_message():
    """The right answer marks the peer checked; the message is no longer outstanding."""
    challenges = Challenges(random=counter())
    ours, peer = Handshake(SECRET, challenges), Handshake(SECRET, Challenges())
    results = []
    ours.challenge(lambda m: defer.succeed(peer.answer(m))).addBoth(results.append)
    assert results == [True] and ours.peer_checked
    assert not challenges.outstanding


def test_a_replayed_digest_does_not_pass_a_new_challenge():
    """A digest and salt recorded from one handshake fail the next one, whose
    message is new."""
    challenges = Challenges()
    peer = Handshake(SECRET, Challenges())
    recorded = []
    Handshake(SECRET, challenges).challenge(
        lambda m: defer.succeed(recorded.append(peer.answer(m)) or recorded[0]))
    results = []
    second = Handshake(SECRET, challenges)
    second.challenge(lambda m: defer.succeed(recorded[0])).addBoth(results.append)
    results[0].trap(AuthenticationFailed)
    assert not second.peer_checked
