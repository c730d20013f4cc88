"""rackd's own configuration: /etc/rackd/rackd.yaml.

Every key is optional and has a default suited to a rack node installed from
the Debian package; a lab or a test points the directories somewhere private.
Unknown keys are an error (a typo must not silently fall back to a default).
"""

import ipaddress
import os

import attrs

from provisioningserver.dhcp.doctext import decode, load_document
from provisioningserver.dhcp.errors import DocumentError, Problem
from provisioningserver.dhcp.failover import SAFETY_TIME
from provisioningserver.dhcp.hooks import Notify, plain_path
from provisioningserver.dhcp.render import BootSettings, RenderInputs

DEFAULT_CONFIG_PATH = "/etc/rackd/rackd.yaml"
DEFAULT_METRICS = "127.0.0.1:5249"
DEFAULT_DHCP_NOTIFY = "/usr/lib/rackd/dhcp-notify"  # where the Debian package puts it


def parse_metrics_address(text):
    """``host:port`` (an IP address and a TCP port; IPv6 in brackets) -> (host, port);
    ValueError saying what is wrong."""
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        if ":" not in host:
            raise ValueError(f"expected an IPv6 address in brackets, got {text!r}")
    elif ":" in host:
        raise ValueError(f"an IPv6 address goes in brackets ([::1]:5249), got {text!r}")
    if not (sep and port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"expected address:port with a TCP port, got {text!r}")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"expected an IP address to listen on, got {host!r}") from None
    return host, int(port)


@attrs.frozen
class RackdConfig:
    state_dir: str = "/var/lib/rackd"
    run_dir: str = "/run/rackd"
    control_socket: "str | None" = None  # default: run_dir/control.sock
    dhcpd: "str | None" = None  # default: found on PATH
    omapi_port_v4: int = 7911
    omapi_port_v6: int = 7912
    lease_time: int = 600
    pxe_lease_time: int = 30
    boot: BootSettings = BootSettings()
    # The region (see provisioningserver.rpc.region): no endpoints = standalone.
    region: tuple = ()  # "host:port" of each region controller
    region_ca: "str | None" = None  # PEM CA file that signed the region's certificate
    region_fingerprint: "str | None" = None  # or the region certificate's SHA-256 (hex)
    secret_file: str = "/var/lib/rackd/secret"  # the shared secret, hex, mode 0600
    rack_id: "str | None" = None  # default: rack_name
    rack_name: "str | None" = None  # default: the host name
    # Lease events (provisioningserver.leases.journal and friends).
    lease_events: bool = True  # dhcpd logs each lease event; rackd follows the log
    # Where events come from: "log" (dhcpd's own lines, no cost to dhcpd) or
    # "dhcp-notify" (dhcpd runs the dhcp_notify program per event through
    # execute(); it spools while rackd is down). dhcpd's log still gives the
    # transactions either way.
    lease_source: str = "log"
    dhcp_notify: str = DEFAULT_DHCP_NOTIFY  # the hook program (scripts/dhcp-notify.c)
    journal_max_bytes: int = 64 << 20  # history and transactions give way (leases.retention)
    history_days: int = 30  # lease history retention
    transactions_days: int = 7  # transaction log (dhcpd's per-packet lines) retention
    transactions_max_rows: int = 1_000_000  # and its size, pruned hourly
    # dhcp-notify's socket; default: state_dir/dhcp-notify.sock (dhcp-notify's built-in path)
    lease_socket: "str | None" = None
    # How dhcpd runs: "process" (rackd's child, adopted across restarts) or "systemd"
    # (units rackd-dhcpd.service / rackd-dhcpd6.service; provisioningserver.dhcpd.systemd).
    service_backend: str = "process"
    # Seconds the failover partner must have been unreachable before
    # `rackctl failover partner-down` acts without --force (dhcp.failover).
    failover_safety_time: int = SAFETY_TIME
    # The Prometheus endpoint (provisioningserver.services.metricshttp): "host:port"
    # ("[::1]:5249" for IPv6), or None (`metrics: false` in rackd.yaml) for none.
    metrics: "str | None" = DEFAULT_METRICS
    # The foreign DHCP probe (provisioningserver.services.foreign): seconds between
    # probes (0: only `rackctl probe`), and interfaces probed besides those served.
    foreign_probe_interval: int = 600
    foreign_probe_interfaces: tuple = ()
    # The niceness rackd runs at, below dhcpd's (provisioningserver.system.priority).
    nice: int = 10
    # A warning names where the reactor thread was when it answered nothing for
    # this many seconds (provisioningserver.services.stallwatch); 0: no watch.
    stall_log_seconds: float = 0.5

    @property
    def control_socket_path(self):
        return self.control_socket or os.path.join(self.run_dir, "control.sock")

    @property
    def lease_socket_path(self):
        return self.lease_socket or os.path.join(self.state_dir, "dhcp-notify.sock")

    @property
    def lease_spool_path(self):
        return os.path.join(self.state_dir, "dhcp-notify.spool")

    @property
    def journal_path(self):
        return os.path.join(self.state_dir, "leases.db")

    def omapi_port(self, ip_version):
        return self.omapi_port_v4 if ip_version == 4 else self.omapi_port_v6

    def render_inputs(self, ip_version, selection, omapi_key, ntp_addresses):
        """What rendering needs beyond the document, for one family: the one
        place it is put together, for the agent (`services.configure`) and for
        ``rackctl render`` and ``check`` alike, so that rackctl prints the
        config the agent would write.

        ``selection`` is a `network.selection.Selection` (this rack's
        address per subnet, the empty subnet declarations); the key and the
        resolved NTP addresses come from the caller, which does the I/O."""
        return RenderInputs(
            ntp_addresses=ntp_addresses,
            rack_addresses=selection.rack_addresses,
            relay_addresses=selection.relay_addresses,
            omapi_port=self.omapi_port(ip_version),
            omapi_key=omapi_key,
            boot=self.boot,
            lease_time=self.lease_time,
            pxe_lease_time=self.pxe_lease_time,
            empty_subnets=selection.empty_subnets,
            empty_in=selection.empty_in,
            lease_hooks=self.lease_events,
            lease_notify=self.lease_notify,
        )

    @property
    def lease_notify(self):
        """The dhcp-notify hook settings when that is the source, else None."""
        if self.lease_source != "dhcp-notify":
            return None
        return Notify(self.dhcp_notify, self.lease_socket_path, self.lease_spool_path)

    @property
    def metrics_address(self):
        """(host, port) of the metrics endpoint, or None when it is off."""
        return None if self.metrics is None else parse_metrics_address(self.metrics)


_INT_KEYS = ("omapi_port_v4", "omapi_port_v6", "lease_time", "pxe_lease_time",
             "journal_max_bytes", "history_days", "failover_safety_time",
             "transactions_days", "transactions_max_rows")
_STR_KEYS = ("state_dir", "run_dir", "control_socket", "dhcpd", "region_ca",
             "region_fingerprint", "secret_file", "rack_id", "rack_name", "lease_socket",
             "dhcp_notify")
_BOOL_KEYS = ("lease_events",)
SERVICE_BACKENDS = ("process", "systemd")
LEASE_SOURCES = ("log", "dhcp-notify")
_CHOICES = {"service_backend": SERVICE_BACKENDS, "lease_source": LEASE_SOURCES}


def config_from_mapping(data, source="rackd config"):
    """Build a `RackdConfig`; raises `DocumentError` naming each bad key."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DocumentError([Problem("", f"{source} must be a mapping")])
    problems, values = [], {}
    boot_fields = {f.name: f for f in attrs.fields(BootSettings)}
    for key, value in data.items():
        if key in _STR_KEYS:
            if value is not None and not isinstance(value, str):
                problems.append(Problem(key, f"expected a string, got {value!r}"))
            else:
                values[key] = value
        elif key in _INT_KEYS:
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                problems.append(Problem(key, f"expected a positive whole number, got {value!r}"))
            else:
                values[key] = value
        elif key in _BOOL_KEYS:
            if not isinstance(value, bool):
                problems.append(Problem(key, f"expected true or false, got {value!r}"))
            else:
                values[key] = value
        elif key in _CHOICES:
            if value not in _CHOICES[key]:
                problems.append(Problem(key, f"expected one of {', '.join(_CHOICES[key])}, "
                                             f"got {value!r}"))
            else:
                values[key] = value
        elif key == "metrics":
            if value is False:
                values[key] = None
            elif not isinstance(value, str):
                problems.append(Problem(key, f"expected address:port or false, got {value!r}"))
            else:
                try:
                    parse_metrics_address(value)
                    values[key] = value
                except ValueError as error:
                    problems.append(Problem(key, str(error)))
        elif key == "foreign_probe_interval":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                problems.append(Problem(key, f"expected seconds (0 for never), got {value!r}"))
            else:
                values[key] = value
        elif key == "stall_log_seconds":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                problems.append(Problem(key, f"expected seconds (0 for no watch), got {value!r}"))
            else:
                values[key] = float(value)
        elif key == "nice":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 19:
                problems.append(Problem(key, f"expected a niceness from 0 to 19, got {value!r}"))
            else:
                values[key] = value
        elif key == "foreign_probe_interfaces":
            if not isinstance(value, list) or not all(
                    isinstance(v, str) and v and "/" not in v for v in value):
                problems.append(Problem(key, f"expected a list of interface names, "
                                             f"got {value!r}"))
            else:
                values[key] = tuple(value)
        elif key == "region":
            problems.extend(_region_problems(value))
            if isinstance(value, list):
                values["region"] = tuple(value)
        elif key == "boot":
            boot = {}
            for bkey, bvalue in (value or {}).items() if isinstance(value, dict) else ():
                field = boot_fields.get(bkey)
                if field is None:
                    problems.append(Problem(f"boot.{bkey}", "unknown field"))
                elif not isinstance(bvalue, type(field.default)) or isinstance(bvalue, bool):
                    problems.append(Problem(f"boot.{bkey}", f"expected "
                                            f"{type(field.default).__name__}, got {bvalue!r}"))
                else:
                    boot[bkey] = bvalue
            if not isinstance(value, dict):
                problems.append(Problem("boot", f"expected a mapping, got {value!r}"))
            values["boot"] = BootSettings(**boot)
        else:
            problems.append(Problem(key, "unknown field"))
    for port in ("omapi_port_v4", "omapi_port_v6"):
        if values.get(port, 1) > 65535:
            problems.append(Problem(port, f"{values[port]} is not a TCP port"))
    if values.get("region") and not (values.get("region_ca") or values.get("region_fingerprint")):
        problems.append(Problem("region_ca", "a region needs region_ca or region_fingerprint "
                                "to check its certificate"))
    for key in ("dhcp_notify", "lease_socket"):
        path = values.get(key)
        # dhcpd.conf carries these paths in execute(): absolute, nothing to quote.
        if path is not None and not plain_path(path):
            problems.append(Problem(key, f"expected an absolute path without quotes or spaces, "
                                         f"got {path!r}"))
    if problems:
        raise DocumentError(problems)
    return RackdConfig(**values)


def _region_problems(value):
    if not isinstance(value, list):
        return [Problem("region", f"expected a list of host:port, got {value!r}")]
    problems = []
    for i, text in enumerate(value):
        host, sep, port = text.rpartition(":") if isinstance(text, str) else ("", "", "")
        if not (sep and host and port.isdigit() and 0 < int(port) < 65536):
            problems.append(Problem(f"region[{i}]", f"expected host:port, got {text!r}"))
    return problems


def load_config(path):
    """Read rackd's YAML config; a missing default file means all defaults."""
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except FileNotFoundError:
        if path == DEFAULT_CONFIG_PATH:
            return RackdConfig()
        raise
    # Read as documents are: not UTF-8, nested too deeply or holding lone
    # surrogates is a DocumentError naming the file, not a traceback.
    return config_from_mapping(load_document(decode(data, str(path)), str(path)), source=path)
