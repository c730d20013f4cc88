"""A process that refuses TLS: pyOpenSSL is not importable, and Twisted's
reactor and endpoints load as they do on a system without it.

Each case runs in a fresh interpreter, as rackd does: the refusal is made
before anything imports Twisted, and lasts for the process.
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = """
import json, sys
from provisioningserver.system import notls
first = notls.refuse_tls()
from twisted.internet import endpoints, reactor
from twisted.internet import posixbase
try:
    import OpenSSL
    importable = True
except ImportError:
    importable = False
print(json.dumps({"first": first, "again": notls.refuse_tls(), "importable": importable,
                  "loaded": sorted(m for m in sys.modules if m.startswith(("cryptography", "OpenSSL"))
                                   and sys.modules[m] is not None),
                  "reactor_tls": posixbase.tls is not None,
                  "endpoints_tls": endpoints.TLSMemoryBIOFactory is not None}))
"""


def run(script):
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, env={**os.environ, "PYTHONPATH": ROOT})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_refused_tls_loads_neither_pyopenssl_nor_cryptography():
    """After refuse_tls the reactor and endpoints import without TLS, and
    pyOpenSSL cannot be imported later either."""
    found = run(SCRIPT)
    assert found == {"first": True, "again": True, "importable": False, "loaded": [],
                     "reactor_tls": False, "endpoints_tls": False}


def test_once_pyopenssl_is_loaded_nothing_is_refused():
    """Where pyOpenSSL is already loaded, refuse_tls does nothing and says so."""
    found = run("import OpenSSL\n" + SCRIPT)
    assert found["first"] is False and found["importable"] is True
    assert found["reactor_tls"] is True and found["endpoints_tls"] is True
