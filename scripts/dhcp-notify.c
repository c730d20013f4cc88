/*
 * dhcp-notify: dhcpd's execute() hook for lease events.
 *
 *   dhcp-notify [-s SOCKET] [-p SPOOL] ACTION FAMILY IP MAC DUID LEASE_TIME HOSTNAME KNOWN
 *
 * Sends one record line ("rackd-lease 1 ...", see
 * provisioningserver/dhcp/leaserecord.py) as one datagram to rackd's lease
 * socket. If nothing listens (or the socket's queue is full), it appends
 * the same line to the spool file with one O_APPEND write, which rackd
 * drains when it starts. dhcpd waits for this program, so it does no more
 * than that: no dynamic lookups, no retries, and an alarm bounds the whole
 * run (rackd waits longer than that before draining the spool).
 *
 * Fields come from dhcpd expressions; anything but [0-9A-Za-z:.-] (and any
 * field longer than FIELD_MAX) is sent as "-", so an argument can never
 * add a field or a line. rackd validates every field again.
 *
 * The bounds agree with rackd's (tests/scripts/test_dhcp_notify.py holds
 * them to provisioningserver/dhcp/leaserecord.py): FIELD_MAX fits the
 * longest field rackd accepts, a 255-byte host name written as dhcpd's
 * colon-separated hex (3 characters a byte); RECORD_MAX is rackd's
 * MAX_RECORD, the longest datagram it reads. A line that would be longer is
 * not sent at all rather than cut.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef SOCKET_PATH
#define SOCKET_PATH "/var/lib/rackd/dhcp-notify.sock"
#endif
#ifndef SPOOL_PATH
#define SPOOL_PATH "/var/lib/rackd/dhcp-notify.spool"
#endif
#define FIELDS 8
#define FIELD_MAX 765 /* 255 bytes as "xx:" each */
#define RECORD_MAX 2048
#define RUN_BOUND 2 /* seconds */

static const char *clean(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > FIELD_MAX)
        return "-";
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == ':' || c == '.' || c == '-'))
            return "-";
    }
    return s;
}

static int send_datagram(const char *path, const char *line, size_t len)
{
    struct sockaddr_un addr;
    if (strlen(path) >= sizeof(addr.sun_path))
        return -1;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    strcpy(addr.sun_path, path);
    ssize_t sent = sendto(fd, line, len, MSG_DONTWAIT, (struct sockaddr *)&addr, sizeof(addr));
    close(fd);
    return sent == (ssize_t)len ? 0 : -1;
}

static int spool(const char *path, const char *line, size_t len)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    /* One write: O_APPEND makes it land whole after every other one. */
    ssize_t written = write(fd, line, len);
    close(fd);
    return written == (ssize_t)len ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *socket_path = SOCKET_PATH, *spool_path = SPOOL_PATH;
    int opt;
    alarm(RUN_BOUND);
    while ((opt = getopt(argc, argv, "s:p:")) != -1) {
        if (opt == 's')
            socket_path = optarg;
        else if (opt == 'p')
            spool_path = optarg;
        else
            return 2;
    }
    if (argc - optind != FIELDS) {
        fprintf(stderr, "usage: dhcp-notify [-s SOCKET] [-p SPOOL] ACTION FAMILY IP MAC DUID "
                        "LEASE_TIME HOSTNAME KNOWN\n");
        return 2;
    }
    char line[RECORD_MAX + 1];
    size_t len = (size_t)snprintf(line, sizeof(line), "rackd-lease 1");
    for (int i = 0; i < FIELDS && len < sizeof(line); i++)
        len += (size_t)snprintf(line + len, sizeof(line) - len, " %s", clean(argv[optind + i]));
    if (len < sizeof(line))
        len += (size_t)snprintf(line + len, sizeof(line) - len, " %lld\n", (long long)time(NULL));
    if (len >= sizeof(line)) {
        fprintf(stderr, "dhcp-notify: lost a lease event: record longer than %d bytes\n",
                RECORD_MAX);
        return 1;
    }
    if (send_datagram(socket_path, line, len) == 0)
        return 0;
    if (spool(spool_path, line, len) == 0)
        return 0;
    fprintf(stderr, "dhcp-notify: lost a lease event: %s", line);
    return 1;
}
