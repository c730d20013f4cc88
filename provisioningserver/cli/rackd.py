"""``rackd --config FILE``: run the agent in the foreground.

SIGTERM and SIGINT stop rackd cleanly; the dhcpd processes it supervises keep
serving (they run in their own sessions) and the next rackd adopts them.
"""

import argparse
import os
import sys

from provisioningserver import __version__
from provisioningserver.config import DEFAULT_CONFIG_PATH, load_config
from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.system import memory, notls


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="rackd", description="rack-controller DHCP agent")
    parser.add_argument("--config", default=DEFAULT_CONFIG_PATH,
                        help=f"rackd's YAML config (default {DEFAULT_CONFIG_PATH})")
    parser.add_argument("--version", action="version", version=f"rackd {__version__}")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        config = load_config(args.config)
    except DocumentError as error:
        for problem in error.problems:
            print(f"rackd: {args.config}: {problem}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"rackd: cannot read {args.config}: {error.strerror}", file=sys.stderr)
        return 3

    if not config.region:  # standalone: no TLS connection to make
        notls.refuse_tls()
    memory.prefer_mmap()  # before any thread allocates
    from twisted.internet import reactor
    from twisted.logger import globalLogBeginner

    from provisioningserver.cli.logoutput import observer

    from provisioningserver.system import priority
    from provisioningserver.tap import makeService

    globalLogBeginner.beginLoggingTo([observer(sys.stderr, os.environ)])
    priority.lower_own(config.nice)  # before any thread: they inherit it
    top = makeService(config, reactor)
    failed = []

    def start():
        try:
            top.privilegedStartService()
            top.startService()
        except Exception as error:  # a busy socket, an unwritable directory
            print(f"rackd: cannot start: {error}", file=sys.stderr)
            failed.append(error)
            reactor.stop()

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", top.stopService)
    reactor.run()
    return 3 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
