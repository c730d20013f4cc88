"""The shared-secret handshake between a rack and its region.

Both sides know a secret; neither ever sends it. Each side challenges the
other with ``Authenticate(message)``, 16 random bytes, and the other answers
with a fresh 16-byte ``salt`` and ``digest = HMAC-SHA256(secret, message ‖
salt)``. The challenger recomputes the digest and compares in constant time.
Until a side has checked its peer it refuses every other command; a failed
check closes the connection.

Why a fresh random message each time: a digest recorded from one handshake
answers only that handshake's message, so replaying it fails the next one.
Why `Challenges` exists: with both sides answering, an impostor could hand
our own challenge back to us (on this connection or another one) and
forward our answer as its own. So a side refuses to answer any message that
is one of its own outstanding challenges.

The secret file is read when a connection starts, never cached, so that a
replaced file takes effect on the next connection. It holds the secret as
hex (as a region of MAAS lineage writes it) and must be mode 0600 or
stricter. The secret never appears in logs or error messages.
"""

import hashlib
import hmac
import os
import stat

NONCE_BYTES = 16
MIN_SECRET_BYTES = 16


class SecretError(Exception):
    """The secret file is missing, unreadable, too open, or not a secret."""


class AuthenticationFailed(Exception):
    """The peer's answer to our challenge was wrong (no secret in the text)."""


def read_secret(path):
    """The secret from ``path``; `SecretError` if its mode or content is wrong."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as error:
        raise SecretError(f"cannot open secret file {path}: {error.strerror}")
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode & 0o077:
            raise SecretError(f"secret file {path} has mode {mode:04o}; it must be 0600")
        raw = os.read(fd, 4096)
    finally:
        os.close(fd)
    try:
        secret = bytes.fromhex(raw.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise SecretError(f"secret file {path} does not hold a hex secret")
    if len(secret) < MIN_SECRET_BYTES:
        raise SecretError(f"secret in {path} is shorter than {MIN_SECRET_BYTES} bytes")
    return secret


def digest(secret, message, salt):
    return hmac.new(secret, message + salt, hashlib.sha256).digest()


def is_valid(secret, message, salt, answer):
    """True when ``answer`` is the digest of ``message`` with the peer's ``salt``."""
    if not isinstance(salt, bytes) or len(salt) != NONCE_BYTES:
        return False
    return hmac.compare_digest(digest(secret, message, salt), answer)


class Challenges:
    """Our outstanding challenges, shared by every connection of a process."""

    def __init__(self, random=os.urandom):
        self.random = random
        self.outstanding = set()

    def new(self):
        message = self.random(NONCE_BYTES)
        self.outstanding.add(message)
        return message

    def done(self, message):
        self.outstanding.discard(message)

    def is_ours(self, message):
        return message in self.outstanding


class Handshake:
    """One connection's side of the handshake.

    ``secret`` is read once, when the connection starts. `answer` serves the
    peer's challenge; `challenge` sends ours through ``call_authenticate``
    (message -> Deferred of {"digest", "salt"}) and fails with
    `AuthenticationFailed` on a wrong answer. ``peer_checked`` says whether
    the peer has proved it knows the secret.
    """

    def __init__(self, secret, challenges, random=os.urandom):
        self.secret = secret
        self.challenges = challenges
        self.random = random
        self.peer_checked = False
        self.answered = False

    def answer(self, message):
        """Our answer to the peer's challenge: {"digest", "salt"}."""
        if not isinstance(message, bytes) or len(message) != NONCE_BYTES:
            raise ValueError(f"a challenge is {NONCE_BYTES} bytes, got {len(message)}")
        if self.challenges.is_ours(message):
            raise ValueError("the challenge is one of our own: refusing to answer it")
        salt = self.random(NONCE_BYTES)
        self.answered = True
        return {"digest": digest(self.secret, message, salt), "salt": salt}

    def challenge(self, call_authenticate):
        message = self.challenges.new()

        def check(reply):
            if not is_valid(self.secret, message, reply["salt"], reply["digest"]):
                raise AuthenticationFailed("the peer does not know the shared secret")
            self.peer_checked = True
            return True

        def forget(result):
            self.challenges.done(message)
            return result

        return call_authenticate(message).addCallback(check).addBoth(forget)
