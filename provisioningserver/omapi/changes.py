"""The changes a batch is made of, and what became of each. No I/O.

`OmapiClient.apply` takes these values; `ChangeResult` is what it hands
back for each. An add and a lookup are one request each, and nearly every
change of a large batch is one of them, so `one_request` describes those
two as data (the message, the words that name it in errors, and how its
reply is read): the client sends them on its Deferred-free batch path and
on the Deferred path of `add_host` and `lookup_host` alike. An update or a
remove is two requests (open, then change by the handle) and stays a
coroutine in the client.
"""

import attrs

from provisioningserver.omapi import objects


@attrs.frozen
class AddHost:
    name: str
    mac: str
    ip: str


@attrs.frozen
class UpdateHostIP:
    ip: str
    mac: str | None = None
    name: str | None = None


@attrs.frozen
class RemoveHost:
    mac: str | None = None
    name: str | None = None


@attrs.frozen
class LookupHost:
    mac: str | None = None
    name: str | None = None


@attrs.frozen
class ChangeResult:
    """What became of one change of a batch: ``value`` on success (a
    `HostInfo` for a lookup, else None), ``error`` (an `OmapiError`) on
    failure."""

    change: object
    value: object = None
    error: Exception | None = None

    @property
    def ok(self):
        return self.error is None


def which(mac, name):
    """How a host that a change names is named in its errors."""
    return f"host {name!r}" if name is not None else f"host {mac}"


def _added(reply, doing):
    objects.check_reply(reply, doing)


def _host_found(reply, doing):
    return objects.host_info(objects.check_reply(reply, doing))


def one_request(change):
    """``(message, doing, interpret)`` of an add or a lookup, the changes
    that are one request each; None for any other change. A bad MAC or
    address raises ValueError here, before anything is sent."""
    kind = type(change)
    if kind is AddHost:
        doing = f"add host {change.name!r} ({change.mac}, {change.ip})"
        return objects.host_create(change.name, change.mac, change.ip), doing, _added
    if kind is LookupHost:
        doing = f"look up {which(change.mac, change.name)}"
        return objects.object_open(b"host", mac=change.mac, name=change.name), doing, _host_found
    return None
