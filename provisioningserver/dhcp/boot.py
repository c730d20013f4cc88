"""Which boot file each kind of client gets: the client-architecture table.

A PXE client says what it is in DHCPv4 option 93 (DHCPv6 option 61), a 16-bit
code from the IANA "Processor Architecture Types" registry. Each code maps to a
boot method: a loader fetched over TFTP from this rack (``filename`` plus
``next-server``, with a path-prefix in option 210 where the loader wants one),
or a URL fetched over HTTP (UEFI HTTP boot, whose reply must carry the vendor
class ``HTTPClient``). Codes absent from the table fall back to the default
method. iPXE, whatever its architecture, is chained to a script instead
(`ipxe_scripts`): one for machines with a host reservation and one for any
other when the document names them. The table is data; `provisioningserver.dhcp.render` turns it into
dhcpd's conditionals and the tests enumerate it.
"""

import attrs

from provisioningserver.dhcp import syntax


@attrs.frozen
class BootMethod:
    """One row of the table.

    ``name`` is what a subnet's ``disabled_boot_architectures`` names.
    ``path`` is the loader's path on the TFTP or HTTP server; ``http`` says the
    client fetches a URL rather than a TFTP file.
    """

    name: str
    codes: tuple
    path: str
    http: bool = False
    path_prefix: bool = False
    description: str = ""


BOOT_METHODS = (
    BootMethod("pxe", (0x00,), "lpxelinux.0", path_prefix=True,
               description="BIOS x86 (PXELINUX)"),
    BootMethod("uefi_ia32_tftp", (0x06,), "bootia32.efi",
               description="UEFI x86 32-bit over TFTP"),
    BootMethod("uefi_amd64_tftp", (0x07,), "bootx64.efi",
               description="UEFI x86-64 over TFTP (code 7, as x86-64 firmware sends it)"),
    BootMethod("uefi_ebc_tftp", (0x09,), "bootx64.efi",
               description="UEFI byte code / x86-64 over TFTP (code 9)"),
    BootMethod("uefi_arm64_tftp", (0x0B,), "grubaa64.efi",
               description="UEFI ARM64 over TFTP"),
    BootMethod("open-firmware_ppc64el", (0x0C,), "bootppc64.bin",
               description="ppc64el Open Firmware"),
    BootMethod("powernv", (0x0E,), "pxelinux.0", path_prefix=True,
               description="POWER non-virtualised (petitboot)"),
    BootMethod("uefi_ia32_http", (0x0F,), "bootia32.efi", http=True,
               description="UEFI x86 32-bit HTTP boot"),
    BootMethod("uefi_amd64_http", (0x10,), "bootx64.efi", http=True,
               description="UEFI x86-64 HTTP boot"),
    BootMethod("uefi_arm64_http", (0x13,), "grubaa64.efi", http=True,
               description="UEFI ARM64 HTTP boot"),
    BootMethod("bios_http", (0x14,), "lpxelinux.0", http=True, path_prefix=True,
               description="BIOS x86 HTTP boot (PXELINUX fetched over HTTP)"),
    BootMethod("s390x", (0x1F,), "s390x/boots390x.bin",
               description="s390x (z/VM, KVM)"),
    BootMethod("s390x_partition", (0x20,), "s390x_partition/boots390x.bin", http=True,
               description="s390x in a logical partition (DPM), HTTP"),
)

DEFAULT_METHOD = "pxe"
METHOD_NAMES = frozenset(m.name for m in BOOT_METHODS)


def methods_for(disabled=()):
    """The table without the methods named in ``disabled``."""
    disabled = frozenset(disabled)
    return tuple(m for m in BOOT_METHODS if m.name not in disabled)


def method_for_code(code, disabled=()):
    """The method a client sending architecture ``code`` gets, or None."""
    for method in methods_for(disabled):
        if code in method.codes:
            return method
    default = [m for m in methods_for(disabled) if m.name == DEFAULT_METHOD]
    return default[0] if default else None


IPXE_SCRIPT_FIELDS = ("ipxe_machine_script", "ipxe_enlist_script")


def ipxe_scripts(config, http_base, default_path):
    """``{"ipxe_known": URL, "ipxe_unknown": URL}``: where iPXE clients with a host
    reservation, and any other, are chained on a subnet whose rack serves HTTP at
    ``http_base``. Each is the document's field (``ipxe_machine_script``,
    ``ipxe_enlist_script``: a path on the rack's server, or a URL kept as it is)
    or, unset, ``default_path`` on the rack. A value that could leave dhcpd's
    quoted string is refused (`syntax.UnsafeString` naming the field), however
    the config was built."""
    urls = {}
    for field, key in zip(IPXE_SCRIPT_FIELDS, ("ipxe_known", "ipxe_unknown")):
        value = getattr(config, field)
        if value is None:
            value = "/" + default_path.lstrip("/")
        else:
            reason = syntax.ipxe_url_reason(value)
            if reason:
                raise syntax.UnsafeString(f"{field}: {value!r} {reason}")
        urls[key] = http_base + value if value.startswith("/") else value
    return urls
