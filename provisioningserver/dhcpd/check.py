"""Checking a rendered config with the real ``dhcpd -t``.

Only dhcpd knows exactly what dhcpd accepts (snippets are raw dhcpd text), so
every config is run through ``dhcpd -t -4|-6 -cf FILE`` before it is used.
The family flag must come before ``-cf``: ``-cf -4 FILE`` makes dhcpd read a
file named ``-4`` and proves nothing.

dhcpd reports each problem as three lines::

    FILE line N: message
    the offending line (as far as dhcpd had read it)
          ^            (a caret under the position of the error)

`parse_errors` turns that text into `DhcpdError` values (pure, tested on
recorded output); `check_config` does the I/O: a private temporary file (mode
0600: the config holds the OMAPI secret) and the process, with the process
runner injectable. dhcpd echoes lines of the config, so its output is
redacted before anyone sees it.

dhcpd's line numbers are the rendered file's, which nobody wrote. A caller
holding the document passes a refused result through `locate` with the
config's `provisioningserver.dhcp.sourcemap.source_map`: each error then
carries its `Origin` (a snippet's name and own line, a field's path, or
rackd's text), and `error_text` and `error_record` put it first wherever the
error is shown. The map is made only then, so an accepted config costs
nothing more.

Where the file goes matters on Debian: its AppArmor profile for dhcpd (from
isc-dhcp-server) lets dhcpd read only the places it names, and /tmp is not
one, so on a host that enforces it a check file in /tmp is unreadable and
every config would be rejected. The agent therefore writes it in its own
run_dir (``/run/rackd``, a tmpfs, so the secret never reaches a disk), which
the package's drop-in opens to dhcpd as ``CHECK_PREFIX*CHECK_SUFFIX``;
rackctl does the same when it may write there (`check_directory`), and falls
back to the system's temporary directory where it may not (a user, or a
machine without rackd's directories, where no profile confines dhcpd to them).
"""

import os
import re
import subprocess
import tempfile

import attrs

from provisioningserver.dhcpd.binary import find_dhcpd
from provisioningserver.dhcp.render import redact
from provisioningserver.dhcp.sourcemap import describe


# The check file's name; debian/apparmor/usr.sbin.dhcpd.d-rackd allows exactly this.
CHECK_PREFIX = "rackd-check-"
CHECK_SUFFIX = ".conf"


class DhcpdNotFound(Exception):
    """There is no dhcpd binary to check with."""


@attrs.frozen
class DhcpdError:
    error: str
    line_num: "int | None" = None
    line: "str | None" = None
    position: "int | None" = None
    # Where the line came from in the document (a sourcemap.Origin); set by `locate`.
    origin: object = None


@attrs.frozen
class CheckResult:
    ok: bool
    errors: tuple = ()
    output: str = ""  # dhcpd's stderr, secrets redacted


_LOCATED = re.compile(r"^(?P<file>.*?) line (?P<num>\d+): (?P<message>.*)$")
_CARET = re.compile(r"^(?P<indent>\s*)\^\s*$")
# dhcpd's closing words, not problems of their own.
_BOILERPLATE = ("Configuration file errors encountered", "exiting.", "If you think",
                "than a configuration", "bugs on either", "before submitting",
                "process and the information")


def parse_errors(output, path):
    """The problems dhcpd reported about the config file ``path``.

    A problem without a file location (failover, or a semantic check after
    parsing) is kept with only its message.
    """
    lines = output.splitlines()
    errors = []
    i = 0
    while i < len(lines):
        found = _LOCATED.match(lines[i])
        if found and found.group("file") == path:
            line = caret = None
            if i + 1 < len(lines) and not _LOCATED.match(lines[i + 1]):
                line = lines[i + 1]
                if i + 2 < len(lines) and _CARET.match(lines[i + 2]):
                    caret = len(_CARET.match(lines[i + 2]).group("indent"))
                    i += 1
                i += 1
            errors.append(DhcpdError(error=found.group("message"), line_num=int(found.group("num")),
                                     line=redact(line) if line is not None else None,
                                     position=caret))
        i += 1
    return tuple(errors)


def locate(result, source_map):
    """``result`` with each error that names a line given that line's origin
    in the document, from ``source_map`` (a `sourcemap.SourceMap`)."""
    return attrs.evolve(result, errors=tuple(
        attrs.evolve(e, origin=source_map.origin(e.line_num)) if e.line_num is not None else e
        for e in result.errors))


def error_text(message, line_num=None, where=None):
    """One complaint in words: the document's place first when known, e.g.
    ``in snippet 'pxe-extra' (global_dhcp_snippets[0]) line 2: semicolon
    expected. (rendered line 47)``; else ``line 47: ...``."""
    if where:
        rendered = f" (rendered line {line_num})" if line_num is not None else ""
        return f"{where}: {message}{rendered}"
    if line_num is not None:
        return f"line {line_num}: {message}"
    return message


def located_text(error):
    """`error_text` of a `DhcpdError`, with its origin when `locate` gave one."""
    where = describe(error.origin) if error.origin is not None else None
    return error_text(error.error, error.line_num, where)


def error_record(error):
    """A `DhcpdError` as the JSON rackctl and the control socket give: dhcpd's
    line (``line_num``, ``line``, ``position``) and, when located, ``where``
    in words with its parts (``path``, ``snippet``, ``snippet_line``)."""
    origin = error.origin
    return {"error": error.error, "line_num": error.line_num, "line": error.line,
            "position": error.position,
            "where": describe(origin) if origin is not None else None,
            "path": getattr(origin, "path", None), "snippet": getattr(origin, "snippet", None),
            "snippet_line": getattr(origin, "line", None)}


def _unlocated(output):
    """The last words of a failed run that named no line, as an error."""
    start = output.find("For info, please visit")
    body = output[start:].splitlines()[1:] if start >= 0 else output.splitlines()
    meaningful = [line.strip() for line in body
                  if line.strip() and not line.startswith(_BOILERPLATE)
                  and not line.startswith(("Config file:", "Database file:", "PID file:"))]
    return DhcpdError(error=meaningful[-1] if meaningful else "dhcpd rejected the config")


def _secrets(text):
    return [s for s in re.findall(r'\bsecret\s+"([^"\n]+)"', text) if s]


def _scrub(output, text):
    """dhcpd's output with no trace of the config's secrets."""
    output = redact(output)
    for secret in _secrets(text):
        output = output.replace(secret, "<redacted>")
    return output


def check_directory(preferred):
    """``preferred`` if this process may write there, else None (the system's temp dir)."""
    if os.path.isdir(preferred) and os.access(preferred, os.W_OK | os.X_OK):
        return preferred
    return None


def check_config(text, ip_version, dhcpd=None, timeout=30, *, directory=None,
                 run=subprocess.run):
    """Run ``dhcpd -t`` on ``text``; `CheckResult` says whether dhcpd accepts it.

    The config is written to a private file in ``directory`` (default: the
    system's temporary directory; the agent passes its run_dir, see above).
    """
    if ip_version not in (4, 6):
        raise ValueError(f"ip_version must be 4 or 6, not {ip_version!r}")
    binary = find_dhcpd(dhcpd)
    if binary is None:
        raise DhcpdNotFound(f"dhcpd not found ({dhcpd or 'on PATH or /usr/sbin'}); "
                            "install isc-dhcp-server")
    fd, path = tempfile.mkstemp(prefix=CHECK_PREFIX, suffix=CHECK_SUFFIX, dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        try:
            # dhcpd echoes the offending line cut where its lexer stopped,
            # which may be inside a UTF-8 character (a snippet's "pin\u202eg"
            # came back as "pin\xe2"; found by the document fuzzer): replaced.
            done = run([binary, "-t", f"-{ip_version}", "-cf", path],
                       capture_output=True, text=True, errors="replace", timeout=timeout,
                       check=False)
        except subprocess.TimeoutExpired:
            return CheckResult(ok=False, errors=(
                DhcpdError(f"dhcpd -t did not finish within {timeout} s"),))
        except OSError as error:
            raise DhcpdNotFound(f"cannot run {binary}: {error}") from error
    finally:
        os.unlink(path)
    output = _scrub(done.stderr + done.stdout, text)
    if done.returncode == 0:
        return CheckResult(ok=True, output=output)
    errors = parse_errors(output, path) or (_unlocated(output),)
    return CheckResult(ok=False, errors=errors, output=output)
