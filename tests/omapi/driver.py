"""Drive `OmapiClient` from a separate process and print JSON results.

The lab tests run this inside a network namespace (``ip netns exec NS
python -m tests.omapi.driver``), because dhcpd's OMAPI port is only
reachable there. A JSON job comes on stdin, so the key secret never shows in
a process list:

    {"port": 7911, "key_name": "k", "key_secret": "...", "window": 16,
     "mode": "sequential" | "batch",
     "ops": [{"op": "add_host", "name": ..., "mac": ..., "ip": ...}, ...]}

``sequential`` awaits each op before the next; ``batch`` hands the host
changes to `OmapiClient.apply` at once. The output is one JSON object:
``{"results": [{"ok": value} | {"error": class name, "message": text}],
"seconds": elapsed}``.
"""

import json
import sys
import time

import attrs
from twisted.internet.defer import Deferred
from twisted.internet.task import react

from provisioningserver.omapi import client as omapi

_CHANGES = {
    "add_host": omapi.AddHost,
    "update_host_ip": omapi.UpdateHostIP,
    "remove_host": omapi.RemoveHost,
    "lookup_host": omapi.LookupHost,
}


def _plain(value):
    return attrs.asdict(value) if attrs.has(type(value)) else value


def _outcome(value=None, error=None):
    if error is not None:
        return {"error": type(error).__name__, "message": str(error)}
    return {"ok": _plain(value)}


async def _sequential(client, ops):
    results = []
    for op in ops:
        args = {k: v for k, v in op.items() if k != "op"}
        try:
            value = await getattr(client, op["op"])(**args)
        except Exception as e:
            results.append(_outcome(error=e))
        else:
            results.append(_outcome(value))
    return results


async def _batch(client, ops):
    changes = [
        _CHANGES[op["op"]](**{k: v for k, v in op.items() if k != "op"}) for op in ops
    ]
    done = await client.apply(changes)
    return [_outcome(r.value, r.error) for r in done]


async def _main(reactor, job):
    client = omapi.OmapiClient(
        reactor,
        job.get("host", "127.0.0.1"),
        job["port"],
        job["key_name"],
        job["key_secret"],
        timeout=job.get("timeout", 5.0),
        window=job.get("window", 16),
    )
    run = _batch if job.get("mode") == "batch" else _sequential
    started = time.monotonic()
    results = await run(client, job["ops"])
    seconds = time.monotonic() - started
    await client.disconnect()
    print(json.dumps({"results": results, "seconds": seconds}))


def main():
    job = json.load(sys.stdin)
    react(lambda reactor: Deferred.fromCoroutine(_main(reactor, job)))


if __name__ == "__main__":
    main()
