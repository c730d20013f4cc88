"""Keeping TLS out of a rack that never dials it.

A standalone rack (no region configured) makes no TLS connection: its
control socket is a local Unix socket, /metrics is plain HTTP on the rack's
own addresses. Yet Twisted looks for pyOpenSSL the first time its reactor
and its endpoints module are imported, and keeps what it found for the life
of the process; and pyOpenSSL brings cryptography's Rust bindings. Measured
here (a fresh interpreter, VmRSS after each import): the reactor alone costs
about 32 MB with pyOpenSSL found and about 20 MB without it, so TLS is
a quarter of what the agent holds before its first document.

Python's own way to say "this module is not here" is a ``None`` entry in
``sys.modules``: the import then raises ModuleNotFoundError, which Twisted
takes as a system without pyOpenSSL (its TLS transports off, everything
else as before). rackd asks for it before it imports the reactor, and only
when no region is configured; a rack with a region loads TLS as it always
did. The choice holds until rackd restarts, as the configuration does.
"""

import sys

REFUSED = ("OpenSSL",)


def refuse_tls():
    """Make pyOpenSSL unimportable in this process; False (nothing done)
    when it is already loaded, since what imported it already holds it."""
    if any(sys.modules.get(name) is not None for name in REFUSED):
        return False
    for name in REFUSED:
        sys.modules[name] = None
    return True
