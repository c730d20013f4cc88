"""A Twisted server in a child process, for the tests that need a real socket.

The script given defines ``FACTORY``; `serving` listens with it on a UNIX
socket in the child and returns once it listens. The child is killed when
the test is done with it, also when the test fails, and stops by itself
after a minute in any case.
"""

import contextlib
import os
import subprocess
import sys

_LISTEN = """
import sys as _sys
from twisted.internet import reactor as _reactor
_reactor.listenUNIX(_sys.argv[1], FACTORY)
_reactor.callLater(60, _reactor.stop)
_reactor.callWhenRunning(lambda: print("ready", flush=True))
_reactor.run()
"""


@contextlib.contextmanager
def serving(script, path):
    """Serve ``script``'s FACTORY at the UNIX socket ``path`` until the block ends."""
    child = subprocess.Popen([sys.executable, "-c", script + _LISTEN, path],
                             stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert child.stdout.readline().strip() == "ready"
        yield path
    finally:
        child.kill()
        child.wait(10)
