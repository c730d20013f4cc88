"""Undo steps for a lab, run in reverse, however the run ends.

A lab creates things outside the Python process (namespaces, processes,
files), so losing track of them leaves real debris on the machine. Every
creation pushes its undo step here the moment it succeeds; `close` runs the
steps newest first and keeps going past failures, so a failing step never
strands the ones below it.

Labs that are still open are also closed at interpreter exit and on SIGTERM.
That needs one process-wide list of open stacks: it is the only global here,
and it holds nothing but stacks that have not been closed yet.
"""

import atexit
import os
import signal
import threading


class TeardownError(Exception):
    """Some undo steps failed; ``failures`` holds (description, exception)."""

    def __init__(self, failures):
        self.failures = list(failures)
        lines = ["%s: %s" % (what, exc) for what, exc in self.failures]
        super().__init__("teardown steps failed: " + "; ".join(lines))


class Teardown:
    """A stack of named undo steps."""

    def __init__(self):
        self._steps = []
        self.closed = False

    def push(self, description, step):
        """Remember ``step`` (a no-argument callable) to run at close."""
        if self.closed:
            raise RuntimeError("teardown already ran; cannot add " + description)
        self._steps.append((description, step))

    def __len__(self):
        return len(self._steps)

    def close(self):
        """Run every step, newest first; raise TeardownError if any failed.

        Safe to call twice: the second call does nothing.
        """
        failures = []
        while self._steps:
            description, step = self._steps.pop()
            try:
                step()
            except Exception as exc:  # keep undoing the rest
                failures.append((description, exc))
        self.closed = True
        _open_stacks.discard(self)
        if failures:
            raise TeardownError(failures)


_open_stacks = set()
_hooks_lock = threading.Lock()
_hooks_installed = False


def track(teardown):
    """Close ``teardown`` at interpreter exit or SIGTERM if nobody else does."""
    _install_hooks()
    _open_stacks.add(teardown)


def untrack(teardown):
    """Leave ``teardown`` open at exit (a lab kept up on purpose)."""
    _open_stacks.discard(teardown)


def close_all():
    """Close every tracked stack; failures are reported on stderr only."""
    for teardown in list(_open_stacks):
        try:
            teardown.close()
        except TeardownError as exc:
            os.write(2, ("lab teardown: %s\n" % exc).encode())


def _install_hooks():
    global _hooks_installed
    with _hooks_lock:
        if _hooks_installed:
            return
        _hooks_installed = True
    atexit.register(close_all)
    # Signal handlers can only be set from the main thread; elsewhere atexit
    # is all we get.
    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum, frame):
        close_all()
        if callable(previous):
            previous(signum, frame)
            return
        # Die of SIGTERM as we would have without this handler, so the
        # parent sees the usual exit status.
        signal.signal(signal.SIGTERM, previous or signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)
