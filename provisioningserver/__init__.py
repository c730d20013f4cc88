"""rackd: a rack-controller DHCP agent that owns ISC dhcpd."""

__version__ = "0.1.0"
