"""rackd's log: journald's form under systemd, no AMP chatter (cli.logoutput)."""

import io

from twisted.logger import Logger, LogLevel, globalLogPublisher
from twisted.python.failure import Failure

from provisioningserver.cli.logoutput import is_chatter, journal_line, observer


def event(level=LogLevel.info, fmt="IPv4 configure: restarted", namespace="rackd", **kw):
    return {"log_level": level, "log_format": fmt, "log_namespace": namespace, "log_time": 0.0,
            **kw}


def test_a_journal_line_has_the_priority_and_no_timestamp():
    """Under systemd each line starts with <N> (journald's level) and carries
    no time of its own: the journal stamps it."""
    assert journal_line(event(LogLevel.warn, "dhcpd {pid} died", pid=7)) == (
        "<4>[rackd] dhcpd 7 died\n")
    assert journal_line(event(LogLevel.error)).startswith("<3>")
    assert journal_line(event(LogLevel.info)).startswith("<6>")


def test_a_traceback_stays_at_the_events_priority():
    """Every line of a traceback carries the prefix, so none is misfiled."""
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        failure = Failure()
    lines = journal_line(event(LogLevel.critical, "oops", log_failure=failure)).splitlines()
    assert len(lines) > 2 and all(line.startswith("<2>") for line in lines)
    assert "RuntimeError: boom" in lines[-1]


def test_amp_connection_chatter_is_recognised():
    """Twisted's 'AMP connection established/lost' lines are chatter;
    rackd's own lines are not."""
    amp = "twisted.protocols.amp"
    assert is_chatter(event(fmt="{cls} connection established (HOST:{host} PEER:{peer})",
                            namespace=amp))
    assert is_chatter(event(fmt="{cls} connection lost (HOST:{host} PEER:{peer})", namespace=amp))
    assert not is_chatter(event(fmt="while receiving response to command", namespace=amp))
    assert not is_chatter(event(fmt="{cls} connection lost", namespace="rackd"))


def test_the_observer_drops_chatter_and_keeps_the_rest():
    """Through the real observer: chatter gone, other lines kept, in the
    journal's form when $JOURNAL_STREAM is set and with a time otherwise."""
    for environ, prefix in (({"JOURNAL_STREAM": "8:1234"}, "<6>"), ({}, "")):
        out = io.StringIO()
        observe = observer(out, environ)
        observe(event(fmt="{cls} connection established (HOST:{host} PEER:{peer})",
                      namespace="twisted.protocols.amp", cls="AMP", host="h", peer="p"))
        observe(event(fmt="IPv4 configure: unchanged"))
        text = out.getvalue()
        assert "connection established" not in text
        assert "IPv4 configure: unchanged" in text
        assert text.startswith(prefix)
        if not environ:
            assert text[:4].isdigit()  # text lines start with the time


def test_a_real_amp_connection_logs_nothing_through_the_observer():
    """An AMP connection made and lost in memory leaves no line."""
    from twisted.internet.testing import StringTransport
    from twisted.protocols import amp

    out = io.StringIO()
    observe = observer(out, {})
    globalLogPublisher.addObserver(observe)
    try:
        protocol = amp.AMP()
        protocol.makeConnection(StringTransport())
        protocol.connectionLost(Failure(ConnectionError("gone")))
        Logger(namespace="rackd").info("a line of rackd's own")
    finally:
        globalLogPublisher.removeObserver(observe)
    assert "connection" not in out.getvalue()
    assert "a line of rackd's own" in out.getvalue()


def test_factory_start_and_stop_lines_are_chatter():
    """A factory's 'Starting factory' / 'Stopping factory' (one per probe and
    OMAPI connection) is chatter; other lines of the same namespace are not."""
    ns = "twisted.internet.protocol.Factory"
    assert is_chatter(event(fmt="Starting factory {factory!r}", namespace=ns))
    assert is_chatter(event(fmt="Stopping factory {factory!r}", namespace=ns))
    assert not is_chatter(event(fmt="Factory failed {factory!r}", namespace=ns))


def test_older_twisteds_legacy_chatter_is_recognised():
    """Twisted 22.4 (Debian 12's) writes the same lines through log.msg, as
    finished text: those are chatter too; other legacy lines are not."""
    legacy = {"log_namespace": "log_legacy", "log_level": LogLevel.info, "log_time": 0.0,
              "log_format": None}
    host = "IPv4Address(type='TCP', host='10.0.0.1', port=1)"
    assert is_chatter({**legacy, "message": (f"AMP connection established (HOST:{host} "
                                             f"PEER:{host})",)})
    assert is_chatter({**legacy, "message": (f"GatedAMP connection lost (HOST:{host} "
                                             f"PEER:{host})",)})
    assert is_chatter({**legacy, "message": ("Starting factory <Factory at 0x1>",)})
    assert not is_chatter({**legacy, "message": ("dhcpd 7 died",)})
    assert not is_chatter({**legacy, "message": ()})
