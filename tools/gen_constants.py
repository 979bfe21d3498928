#!/usr/bin/env python3
"""Regenerates ffi/constants.ts and ffi/constants_linux.ts from the C headers of this machine.

Run:
  gcc -o /tmp/probe tools/constants_probe.c && /tmp/probe > /tmp/probe.txt
  python3 tools/gen_constants.py < /tmp/probe.txt > ffi/constants_linux.ts
  python3 tools/gen_constants.py --exports < /tmp/probe.txt > ffi/constants.ts
  deno fmt ffi/constants.ts ffi/constants_linux.ts

The values are written down (not computed at run time) so that importing the
module never needs a compiler; tests/constants_test.ts checks them against the kernel.

The split:
- ffi/constants.ts exports the names that Linux and macOS both define (POSIX
  plus the BSD extensions they share); each takes its value from the table of
  the OS we run on. A Darwin port adds ffi/constants_darwin.ts with a
  DARWIN_CONSTANTS/DARWIN_ERRNO table for these names and one branch there.
- ffi/constants_linux.ts holds the Linux table of every name, and exports the
  names only Linux defines (LINUX_ONLY below, checked against the xnu headers:
  bsd/sys/socket.h, netinet/in.h, netinet/tcp.h, netinet6/in6.h, sys/errno.h).
  constants.ts re-exports them, so `ffi/constants.ts` keeps offering every name.

Each group of constants gets one doc comment (summary, @example that runs,
@category) over one `export const A = ..., B = ...;` declaration: deno doc gives
every name in the declaration that comment.
"""
import sys
import textwrap

PKG = "@bsd-sockets/ffi/ffi"

LINUX_ONLY = set("""
PF_NETLINK PF_PACKET AF_NETLINK AF_PACKET SOCK_NONBLOCK SOCK_CLOEXEC IPPROTO_UDPLITE IPPROTO_MPTCP
SOL_IP SOL_TCP SOL_IPV6
SO_PRIORITY SO_PASSCRED SO_PEERCRED SO_SNDBUFFORCE SO_RCVBUFFORCE SO_MARK SO_PROTOCOL SO_DOMAIN
SO_BUSY_POLL SO_INCOMING_CPU SO_ZEROCOPY
TCP_CORK TCP_KEEPIDLE TCP_SYNCNT TCP_LINGER2 TCP_DEFER_ACCEPT TCP_WINDOW_CLAMP TCP_INFO TCP_QUICKACK
TCP_CONGESTION TCP_USER_TIMEOUT
IP_MTU_DISCOVER IP_RECVERR IP_MTU IP_FREEBIND IP_TRANSPARENT IP_BIND_ADDRESS_NO_PORT
IPV6_ADDRFORM IPV6_ADD_MEMBERSHIP IPV6_DROP_MEMBERSHIP IPV6_MTU_DISCOVER IPV6_MTU IPV6_RECVERR
MSG_CONFIRM MSG_ERRQUEUE MSG_MORE MSG_WAITFORONE MSG_FASTOPEN MSG_CMSG_CLOEXEC MSG_ZEROCOPY
POLLRDHUP
""".split())
LINUX_ONLY_PREFIXES = ("EPOLL", "EFD_")

LINUX_ONLY_ERRNO = set("""
ECHRNG EL2NSYNC EL3HLT EL3RST ELNRNG EUNATCH ENOCSI EL2HLT EBADE EBADR EXFULL ENOANO EBADRQC EBADSLT
EBFONT ENONET ENOPKG EADV ESRMNT ECOMM EDOTDOT ENOTUNIQ EBADFD EREMCHG ELIBACC ELIBBAD ELIBSCN
ELIBMAX ELIBEXEC ERESTART ESTRPIPE EUCLEAN ENOTNAM ENAVAIL EISNAM EREMOTEIO ENOMEDIUM EMEDIUMTYPE
ENOKEY EKEYEXPIRED EKEYREVOKED EKEYREJECTED ERFKILL EHWPOISON
""".split())


def linux_only(name):
    return name in LINUX_ONLY or name.startswith(LINUX_ONLY_PREFIXES)


def imports(*names):
    return "import { %s } from \"%s\";" % (", ".join(sorted(set(names), key=str.lower)), PKG)


INT1 = "const on = new Uint8Array(new Int32Array([1]).buffer);"
INT_OUT = ("const value = new Int32Array(1);",)

# (matches(name), common summary, common example, Linux summary, Linux example)
# An example is a list of lines; it runs under `deno test --doc --allow-ffi --allow-net`.
GROUPS = [
    (lambda n: n.startswith("PF_"),
     "Protocol families: the historical name for the `domain` of socket(2); each equals "
     "the `AF_` constant of the same suffix.",
     [imports("close", "PF_INET", "SOCK_DGRAM", "socket"),
      "close(socket(PF_INET, SOCK_DGRAM, 0));"],
     "Linux-only protocol families; each equals its `AF_` constant.",
     [imports("AF_NETLINK", "PF_NETLINK"), "PF_NETLINK === AF_NETLINK; // true"]),
    (lambda n: n.startswith("AF_"),
     "Address families: the `domain` of socket(2) and the `sa_family` of every sockaddr "
     "(`AF_UNSPEC`: any family, in getaddrinfo hints).",
     [imports("AF_INET", "close", "SOCK_DGRAM", "socket"),
      "close(socket(AF_INET, SOCK_DGRAM, 0));"],
     "Linux-only address families: `AF_NETLINK` (messages to and from the kernel) and "
     "`AF_PACKET` (link-layer frames; needs CAP_NET_RAW).",
     [imports("AF_NETLINK", "close", "SOCK_DGRAM", "socket"),
      "close(socket(AF_NETLINK, SOCK_DGRAM, 0)); // protocol 0: NETLINK_ROUTE"]),
    (lambda n: n.startswith("SOCK_"),
     "Socket types: the `type` of socket(2) and socketpair(2).",
     [imports("AF_INET", "close", "SOCK_STREAM", "socket"),
      "close(socket(AF_INET, SOCK_STREAM, 0));"],
     "Flags OR-ed into the `type` of socket(2), socketpair(2) and accept4(2): a non-blocking "
     "descriptor, closed on exec (Linux and the BSDs; macOS has neither).",
     [imports("AF_INET", "close", "SOCK_CLOEXEC", "SOCK_NONBLOCK", "SOCK_STREAM", "socket"),
      "close(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));"]),
    (lambda n: n.startswith("IPPROTO_"),
     "IP protocol numbers: the `protocol` of socket(2) (0 picks the type's default) and the "
     "`level` of the IP, IPv6 and TCP options.",
     [imports("AF_INET", "close", "IPPROTO_TCP", "SOCK_STREAM", "socket"),
      "close(socket(AF_INET, SOCK_STREAM, IPPROTO_TCP));"],
     "Linux-only IP protocol numbers: UDP-Lite and Multipath TCP.",
     [imports("AF_INET", "close", "IPPROTO_MPTCP", "SOCK_STREAM", "socket", "SocketError"),
      "try {",
      "  close(socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP));",
      "} catch (e) {",
      "  if (!(e instanceof SocketError)) throw e; // a kernel without MPTCP refuses it",
      "}"]),
    (lambda n: n.startswith("SOL_"),
     "The option level of the socket-level (`SO_`) options of setsockopt(2) and getsockopt(2).",
     [imports("AF_INET", "close", "getsockopt", "SO_TYPE", "SOCK_STREAM", "socket", "SOL_SOCKET"),
      "const fd = socket(AF_INET, SOCK_STREAM, 0);",
      *INT_OUT,
      "getsockopt(fd, SOL_SOCKET, SO_TYPE, new Uint8Array(value.buffer), new Uint32Array([4]));",
      "value[0]; // SOCK_STREAM",
      "close(fd);"],
     "Linux names for the IP-layer option levels; each equals its `IPPROTO_` constant.",
     [imports("AF_INET", "close", "setsockopt", "SOCK_STREAM", "socket", "SOL_TCP", "TCP_NODELAY"),
      "const fd = socket(AF_INET, SOCK_STREAM, 0);",
      INT1,
      "setsockopt(fd, SOL_TCP, TCP_NODELAY, on);",
      "close(fd);"]),
    (lambda n: n.startswith("SO_"),
     "Socket-level options: the `optname` of setsockopt(2) and getsockopt(2) at level "
     "`SOL_SOCKET`.",
     [imports("AF_INET", "close", "setsockopt", "SO_REUSEADDR", "SOCK_STREAM", "socket",
              "SOL_SOCKET"),
      "const fd = socket(AF_INET, SOCK_STREAM, 0);",
      INT1,
      "setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, on);",
      "close(fd);"],
     "Linux-only socket-level options (level `SOL_SOCKET`).",
     [imports("AF_INET", "close", "getsockopt", "SO_DOMAIN", "SOCK_STREAM", "socket",
              "SOL_SOCKET"),
      "const fd = socket(AF_INET, SOCK_STREAM, 0);",
      *INT_OUT,
      "getsockopt(fd, SOL_SOCKET, SO_DOMAIN, new Uint8Array(value.buffer), new Uint32Array([4]));",
      "value[0]; // AF_INET",
      "close(fd);"]),
    (lambda n: n.startswith("TCP_"),
     "TCP options (level `IPPROTO_TCP`).",
     [imports("AF_INET", "close", "IPPROTO_TCP", "setsockopt", "SOCK_STREAM", "socket",
              "TCP_NODELAY"),
      "const fd = socket(AF_INET, SOCK_STREAM, 0);",
      INT1,
      "setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, on);",
      "close(fd);"],
     "Linux-only TCP options (level `IPPROTO_TCP`); macOS calls `TCP_KEEPIDLE` `TCP_KEEPALIVE`.",
     [imports("AF_INET", "close", "IPPROTO_TCP", "setsockopt", "SOCK_STREAM", "socket",
              "TCP_KEEPIDLE"),
      "const fd = socket(AF_INET, SOCK_STREAM, 0);",
      "setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, new Uint8Array(new Int32Array([60]).buffer));",
      "close(fd);"]),
    (lambda n: n.startswith("IPV6_"),
     "IPv6 options (level `IPPROTO_IPV6`).",
     [imports("AF_INET6", "close", "IPPROTO_IPV6", "IPV6_V6ONLY", "setsockopt", "SOCK_DGRAM",
              "socket"),
      "const fd = socket(AF_INET6, SOCK_DGRAM, 0);",
      INT1,
      "setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, on);",
      "close(fd);"],
     "Linux-only IPv6 options (level `IPPROTO_IPV6`).",
     [imports("AF_INET6", "close", "getsockopt", "IPPROTO_IPV6", "IPV6_MTU_DISCOVER",
              "SOCK_DGRAM", "socket"),
      "const fd = socket(AF_INET6, SOCK_DGRAM, 0);",
      *INT_OUT,
      "getsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, new Uint8Array(value.buffer), "
      "new Uint32Array([4]));",
      "close(fd);"]),
    (lambda n: n.startswith("IP_"),
     "IPv4 options (level `IPPROTO_IP`).",
     [imports("AF_INET", "close", "IP_TTL", "IPPROTO_IP", "setsockopt", "SOCK_DGRAM", "socket"),
      "const fd = socket(AF_INET, SOCK_DGRAM, 0);",
      "setsockopt(fd, IPPROTO_IP, IP_TTL, new Uint8Array(new Int32Array([16]).buffer));",
      "close(fd);"],
     "Linux-only IPv4 options (level `IPPROTO_IP`).",
     [imports("AF_INET", "close", "IP_FREEBIND", "IPPROTO_IP", "setsockopt", "SOCK_DGRAM",
              "socket"),
      "const fd = socket(AF_INET, SOCK_DGRAM, 0);",
      INT1,
      "setsockopt(fd, IPPROTO_IP, IP_FREEBIND, on);",
      "close(fd);"]),
    (lambda n: n.startswith("MSG_"),
     "Flags of send(2), recv(2) and their kin; `MSG_TRUNC` and `MSG_CTRUNC` also come back in "
     "a `msghdr`'s `msg_flags`.",
     [imports("AF_UNIX", "close", "MSG_NOSIGNAL", "MSG_PEEK", "recv", "send", "SOCK_STREAM",
              "socketpair"),
      "const sv = new Int32Array(2);",
      "socketpair(AF_UNIX, SOCK_STREAM, 0, sv);",
      "send(sv[0], new Uint8Array([1, 2]), 2, MSG_NOSIGNAL);",
      "recv(sv[1], new Uint8Array(2), 2, MSG_PEEK); // 2, and the bytes stay queued",
      "close(sv[0]);",
      "close(sv[1]);"],
     "Linux-only send/recv flags.",
     [imports("AF_UNIX", "close", "MSG_CMSG_CLOEXEC", "recv", "send", "SOCK_STREAM",
              "socketpair"),
      "const sv = new Int32Array(2);",
      "socketpair(AF_UNIX, SOCK_STREAM, 0, sv);",
      "send(sv[0], new Uint8Array([1]));",
      "recv(sv[1], new Uint8Array(1), 1, MSG_CMSG_CLOEXEC); // received descriptors: close-on-exec",
      "close(sv[0]);",
      "close(sv[1]);"]),
    (lambda n: n.startswith("SHUT_"),
     "The directions of shutdown(2).",
     [imports("AF_UNIX", "close", "SHUT_WR", "shutdown", "SOCK_STREAM", "socketpair"),
      "const sv = new Int32Array(2);",
      "socketpair(AF_UNIX, SOCK_STREAM, 0, sv);",
      "shutdown(sv[0], SHUT_WR); // the peer reads end-of-file",
      "close(sv[0]);",
      "close(sv[1]);"], None, None),
    (lambda n: n.startswith("INADDR_"),
     "IPv4 addresses as host-order numbers, for the `sin_addr` of `sockaddr_in` "
     "(`INADDR_NONE` is also inet_addr(3)'s failure value).",
     [imports("AF_INET", "bind", "close", "INADDR_LOOPBACK", "SOCK_DGRAM", "sockaddr_in",
              "socket"),
      "const fd = socket(AF_INET, SOCK_DGRAM, 0);",
      "bind(fd, sockaddr_in.encode({ sin_family: AF_INET, sin_port: 0, sin_addr: INADDR_LOOPBACK }));",
      "close(fd);"], None, None),
    (lambda n: n.startswith(("F_", "FD_", "O_")),
     "fcntl(2) commands and the flags they read and write: `F_GETFL`/`F_SETFL` with "
     "`O_NONBLOCK`, `F_GETFD`/`F_SETFD` with `FD_CLOEXEC`; `O_CLOEXEC` for pipe2(2).",
     [imports("AF_INET", "close", "F_GETFL", "F_SETFL", "fcntl", "O_NONBLOCK", "SOCK_STREAM",
              "socket"),
      "const fd = socket(AF_INET, SOCK_STREAM, 0);",
      "fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);",
      "close(fd);"], None, None),
    (lambda n: n.startswith("EPOLL"),
     None, None,
     "epoll(7) (Linux only): the operations of epoll_ctl(2), the event bits of an "
     "`epoll_event`, and the flag of epoll_create1(2).",
     [imports("epoll_event", "EPOLLET", "EPOLLIN"),
      "epoll_event.encode({ events: (EPOLLIN | EPOLLET) >>> 0, data: 7n }); // EPOLLET is bit 31"]),
    (lambda n: n.startswith("EFD_"),
     None, None,
     "eventfd(2) flags (Linux only).",
     [imports("close", "EFD_CLOEXEC", "EFD_NONBLOCK", "libc"),
      "close(libc().eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));"]),
    (lambda n: n.startswith("POLL"),
     "poll(2) event bits of a `pollfd`'s `events` and `revents`.",
     [imports("AF_UNIX", "close", "poll", "pollfd", "POLLOUT", "SOCK_STREAM", "socketpair"),
      "const sv = new Int32Array(2);",
      "socketpair(AF_UNIX, SOCK_STREAM, 0, sv);",
      "const fds = pollfd.encode({ fd: sv[0], events: POLLOUT, revents: 0 });",
      "poll(fds, 1, 0); // 1: writable",
      "close(sv[0]);",
      "close(sv[1]);"],
     "poll(2) event bit (Linux only): the peer shut down its writing half.",
     [imports("pollfd", "POLLIN", "POLLRDHUP"),
      "pollfd.encode({ fd: 0, events: POLLIN | POLLRDHUP, revents: 0 });"]),
    (lambda n: n.startswith("AI_"),
     "getaddrinfo(3) hint flags: the `flags` of `AddrInfoHints`.",
     [imports("AI_NUMERICHOST", "AI_NUMERICSERV", "getaddrinfo"),
      "await getaddrinfo(\"127.0.0.1\", \"80\", { flags: AI_NUMERICHOST | AI_NUMERICSERV });"],
     None, None),
    (lambda n: n.startswith("EAI_"),
     "getaddrinfo(3) error codes, found in `AddrInfoError.code` (negative on Linux).",
     [imports("AddrInfoError", "AI_NUMERICHOST", "EAI_NONAME", "getaddrinfoSync"),
      "try {",
      "  getaddrinfoSync(\"not-a-number\", null, { flags: AI_NUMERICHOST });",
      "} catch (e) {",
      "  if (!(e instanceof AddrInfoError) || e.code !== EAI_NONAME) throw e;",
      "}"], None, None),
    (lambda n: n in ("INET_ADDRSTRLEN", "INET6_ADDRSTRLEN", "IF_NAMESIZE"),
     "Buffer sizes, NUL included: of an address as inet_ntop(3) writes it, and of an "
     "interface name.",
     [imports("INET6_ADDRSTRLEN"), "new Uint8Array(INET6_ADDRSTRLEN); // 46 bytes"], None, None),
    (lambda n: n == "SOMAXCONN",
     "The largest listen(2) backlog; the kernel clips larger values to it.",
     [imports("AF_INET", "close", "listen", "SOCK_STREAM", "socket", "SOMAXCONN"),
      "const fd = socket(AF_INET, SOCK_STREAM, 0);",
      "listen(fd, SOMAXCONN);",
      "close(fd);"], None, None),
]

ERRNO_DOCS = (
    "errno values by C name (the numbers are the OS's): what a `SocketError` carries in `errno`.",
    [imports("close", "EBADF", "SocketError"),
     "try {",
     "  close(0x7ffffff0); // surely not an open descriptor",
     "} catch (e) {",
     "  if (!(e instanceof SocketError) || e.errno !== EBADF) throw e;",
     "}"],
    "errno values that only Linux defines.",
    [imports("ENOKEY", "errnoName"), "errnoName(ENOKEY); // \"ENOKEY\""],
)


def doc(summary, example, category="Constants"):
    lines = ["/**"] + [" * " + line for line in textwrap.wrap(summary, 94)]
    lines += [" *", " * @example", " * ```ts"]
    lines += [(" * " + line).rstrip() for line in example]
    lines += [" * ```", f" * @category {category}", " */"]
    return "\n".join(lines)


def declaration(names, table):
    parts = [f"{name}: number = {table}.{name}" for name in names]
    if len(parts) == 1:
        return f"export const {parts[0]};"
    return "export const " + ",\n  ".join(parts) + ";"


values, errnos = [], []
for line in sys.stdin:
    parts = line.split()
    if not parts:
        continue
    if parts[0] == "ERRNO":
        errnos.append((parts[1], int(parts[2])))
    elif not parts[0].startswith(("sizeof", "offsetof")):
        name = parts[0].replace("(unsigned)", "")
        values.append((name, int(parts[1])))

# Every constant in exactly one group; each group in a common and a Linux part.
grouped = [([], []) for _ in GROUPS]
for name, _ in values:
    for index, group in enumerate(GROUPS):
        if group[0](name):
            grouped[index][1 if linux_only(name) else 0].append(name)
            break
    else:
        sys.exit(f"gen_constants.py: {name} belongs to no group")
for index, (group, (common, linux)) in enumerate(zip(GROUPS, grouped)):
    if (common and group[1] is None) or (linux and group[3] is None):
        sys.exit(f"gen_constants.py: group {index} has no doc for its {'common' if common else 'Linux'} part")

common_errno = [name for name, _ in errnos if name not in LINUX_ONLY_ERRNO]
linux_errno = [name for name, _ in errnos if name in LINUX_ONLY_ERRNO]

HEADER = "// Generated by tools/gen_constants.py from the glibc headers of Linux x86_64. Do not edit by hand."

if len(sys.argv) > 1 and sys.argv[1] == "--exports":
    out = [
        "// Generated by tools/gen_constants.py. Do not edit by hand.",
        "// The constants that Linux and macOS both define (POSIX and the shared BSD extensions),",
        "// each with the value of the OS we run on, and (re-exported) the Linux-only ones.",
        "// A Darwin port adds constants_darwin.ts (its table and its own names) and a branch below.",
        "",
        "/**",
        " * The named constants of the C socket API: address families, socket types, option",
        " * levels and names, message flags, errno values... Names both Linux and macOS define",
        " * take the value of the OS we run on; the Linux-only ones come from",
        " * `constants_linux.ts` and are re-exported here.",
        " *",
        " * @module",
        " */",
        "",
        'import { LINUX_CONSTANTS, LINUX_ERRNO } from "./constants_linux.ts";',
        "",
        "export * from \"./constants_linux.ts\";",
        "",
        "// The table of the OS we run on (only Linux so far). A port writes",
        "//   const C = Deno.build.os === \"darwin\" ? DARWIN_CONSTANTS : LINUX_CONSTANTS;",
        "// and the compiler then insists that every C.NAME below is in both tables.",
        "const C: Readonly<Record<keyof typeof LINUX_CONSTANTS, number>> = LINUX_CONSTANTS;",
        "const E: Readonly<Record<keyof typeof LINUX_ERRNO, number>> = LINUX_ERRNO;",
        "",
        doc("errno values of the OS we run on, by C name.",
            [imports("ERRNO"), "ERRNO.ECONNREFUSED; // 111 on Linux"]),
        "export const ERRNO: Readonly<Record<string, number>> = Object.freeze({ ...E });",
        "",
    ]
    for group, (common, _) in zip(GROUPS, grouped):
        if common:
            out += [doc(group[1], group[2]), declaration(common, "C"), ""]
    out += [doc(ERRNO_DOCS[0], ERRNO_DOCS[1]), declaration(common_errno, "E")]
else:
    out = [
        HEADER,
        "// Linux values; tests/constants_test.ts checks them against the kernel.",
        "",
        "/**",
        " * The Linux values of the constants (the table `constants.ts` reads on Linux) and the",
        " * constants only Linux defines: netlink and packet sockets, `SOCK_NONBLOCK`, epoll,",
        " * eventfd, and the Linux-only options, flags and errno values. These carry their Linux",
        " * values on every OS (elsewhere they name nothing).",
        " *",
        " * @module",
        " */",
        "",
        doc("The Linux value of every constant of the module, by C name.",
            [imports("LINUX_CONSTANTS"), "LINUX_CONSTANTS.AF_INET6; // 10"]),
        "export const LINUX_CONSTANTS = {",
    ]
    out += [f"  {name}: {value}," for name, value in values]
    out += ["} as const;", "",
            doc("The Linux errno values, by C name.",
                [imports("LINUX_ERRNO"), "LINUX_ERRNO.ECONNREFUSED; // 111"]),
            "export const LINUX_ERRNO = {"]
    out += [f"  {name}: {value}," for name, value in errnos]
    out += ["} as const;", ""]
    for group, (_, linux) in zip(GROUPS, grouped):
        if linux:
            out += [doc(group[3], group[4]), declaration(linux, "LINUX_CONSTANTS"), ""]
    out += [doc(ERRNO_DOCS[2], ERRNO_DOCS[3]), declaration(linux_errno, "LINUX_ERRNO")]
print("\n".join(out))
