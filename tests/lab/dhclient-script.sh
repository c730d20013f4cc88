#!/bin/sh
# dhclient -sf script for labs: records every event, configures only the
# lab interface, and never touches /etc/resolv.conf or routes of the host.
#
# Each call writes the variables dhclient passed (reason, interface, new_*,
# old_*) as key=value lines into "$RKLAB_EVENTS/NNNN-REASON", written to a
# temporary name first so that a reader never sees half an event.

dir=${RKLAB_EVENTS:?RKLAB_EVENTS must name the events directory}
mkdir -p "$dir"
n=$(ls "$dir" | grep -c -v '^\.')
file=$(printf '%s/%04d-%s' "$dir" "$n" "$reason")
env | grep -E '^(reason|interface|medium|new_[a-z0-9_]*|old_[a-z0-9_]*)=' \
    | sort > "$dir/.tmp.$$"
mv "$dir/.tmp.$$" "$file"

case "$reason" in
    PREINIT)
        ip link set dev "$interface" up
        ;;
    BOUND|RENEW|REBIND|REBOOT)
        if [ -n "$old_ip_address" ] && [ "$old_ip_address" != "$new_ip_address" ]; then
            ip -4 address del "$old_ip_address/$old_subnet_mask" dev "$interface" 2>/dev/null
        fi
        ip -4 address replace "$new_ip_address/$new_subnet_mask" dev "$interface"
        ;;
    EXPIRE|FAIL|RELEASE|STOP)
        if [ -n "$old_ip_address" ]; then
            ip -4 address del "$old_ip_address/$old_subnet_mask" dev "$interface" 2>/dev/null
        fi
        ;;
    TIMEOUT)
        # Do not trust a remembered lease without a server to confirm it.
        exit 1
        ;;
esac
exit 0
