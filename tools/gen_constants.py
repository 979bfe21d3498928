#!/usr/bin/env python3
"""Regenerates ffi/constants_linux.ts from the C headers of this machine.

Run: gcc -o /tmp/probe tools/constants_probe.c && /tmp/probe | python3 tools/gen_constants.py > ffi/constants_linux.ts
The values are written down (not computed at run time) so that importing the
module never needs a compiler; tests/constants_test.ts checks them against the kernel.
"""
import sys

GROUPS = [
    ("AF_", "Address family"), ("PF_", "Protocol family (same value as the AF_ constant)"), ("SOCK_", "Socket type or socket() flag"),
    ("IPPROTO_", "IP protocol number"), ("SOL_", "Option level"),
    ("SO_", "Socket-level option (level SOL_SOCKET)"), ("TCP_", "TCP option (level IPPROTO_TCP)"),
    ("IPV6_", "IPv6 option (level IPPROTO_IPV6)"), ("IP_", "IPv4 option (level IPPROTO_IP)"),
    ("MSG_", "send/recv flag"), ("SHUT_", "shutdown() direction"), ("INADDR_", "IPv4 address, host byte order"),
    ("F_", "fcntl() command"), ("FD_", "file-descriptor flag"), ("O_", "file status flag"),
    ("EPOLL", "epoll flag or event bit"), ("EFD_", "eventfd() flag"), ("POLL", "poll() event bit"),
    ("AI_", "getaddrinfo() hint flag"), ("EAI_", "getaddrinfo() error code"),
    ("INET", "address string buffer size"), ("IF_", "interface name size"), ("SOMAXCONN", "largest listen() backlog"),
]

def describe(name):
    for prefix, text in GROUPS:
        if name.startswith(prefix):
            return text
    return "constant"


OPTION_LEVEL = [("SO_", "SOL_SOCKET"), ("TCP_", "IPPROTO_TCP"), ("IPV6_", "IPPROTO_IPV6"), ("IP_", "IPPROTO_IP")]


def example(name, errno=False):
    """A one-to-three-line usage of the constant, by its group."""
    if errno:
        return ("import { %s, SocketError } from \"./mod.ts\";" % name,
                "declare const error: unknown;",
                "if (error instanceof SocketError && error.errno === %s) console.log(error.code);" % name)
    if name.startswith(("AF_", "PF_")):
        return ("import { close, %s, SOCK_DGRAM, socket } from \"./mod.ts\";" % name,
                "const fd = socket(%s, SOCK_DGRAM, 0);" % name, "close(fd);")
    if name.startswith("SOCK_"):
        return ("import { AF_INET, %s, socket } from \"./mod.ts\";" % name,
                "const fd = socket(AF_INET, %s, 0);" % name)
    if name.startswith("IPPROTO_"):
        return ("import { AF_INET, %s, SOCK_RAW, socket } from \"./mod.ts\";" % name,
                "const fd = socket(AF_INET, SOCK_RAW, %s); // raw sockets need CAP_NET_RAW" % name)
    for prefix, level in OPTION_LEVEL:
        if name.startswith(prefix):
            return ("import { getsockopt, %s, %s } from \"./mod.ts\";" % (level, name),
                    "declare const fd: number;",
                    "getsockopt(fd, %s, %s, new Uint8Array(4), new Uint32Array([4]));" % (level, name))
    if name.startswith("SOL_"):
        return ("import { getsockopt, %s, SO_TYPE } from \"./mod.ts\";" % name,
                "declare const fd: number;",
                "getsockopt(fd, %s, SO_TYPE, new Uint8Array(4), new Uint32Array([4]));" % name)
    if name.startswith("MSG_"):
        return ("import { %s, send } from \"./mod.ts\";" % name,
                "declare const fd: number;",
                "send(fd, new Uint8Array([1]), 1, %s);" % name)
    if name.startswith("SHUT_"):
        return ("import { %s, shutdown } from \"./mod.ts\";" % name,
                "declare const fd: number;", "shutdown(fd, %s);" % name)
    if name.startswith("INADDR_"):
        return ("import { AF_INET, %s, sockaddr_in } from \"./mod.ts\";" % name,
                "sockaddr_in.encode({ sin_family: AF_INET, sin_port: 80, sin_addr: %s });" % name)
    if name.startswith(("F_", "FD_", "O_")):
        return ("import { F_GETFL, fcntl, %s } from \"./mod.ts\";" % name if name != "F_GETFL" else "import { F_GETFL, fcntl } from \"./mod.ts\";",
                "declare const fd: number;", "fcntl(fd, F_GETFL) & %s;" % name if not name.startswith("F_") else "fcntl(fd, %s);" % name)
    if name.startswith("EPOLL"):
        return ("import { epoll_event, %s } from \"./mod.ts\";" % name,
                "epoll_event.encode({ events: %s >>> 0, data: 0n });" % name)
    if name.startswith("POLL"):
        return ("import { %s, pollfd } from \"./mod.ts\";" % name,
                "pollfd.encode({ fd: 0, events: %s });" % name)
    if name.startswith("EFD_"):
        return ("import { %s, libc } from \"./mod.ts\";" % name,
                "const efd = libc().eventfd(0, %s);" % name)
    if name.startswith("AI_"):
        return ("import { %s, getaddrinfo } from \"./mod.ts\";" % name,
                "await getaddrinfo(\"localhost\", \"80\", { flags: %s });" % name)
    if name.startswith("EAI_"):
        return ("import { AddrInfoError, %s } from \"./mod.ts\";" % name,
                "declare const error: unknown;",
                "if (error instanceof AddrInfoError && error.code === %s) console.log(error.message);" % name)
    if name == "SOMAXCONN":
        return ("import { listen, SOMAXCONN } from \"./mod.ts\";",
                "declare const fd: number;", "listen(fd, SOMAXCONN);")
    return ("import { %s } from \"./mod.ts\";" % name, "const buffer = new Uint8Array(%s);" % name)


def doc(summary, lines):
    body = "\n".join(" * " + line for line in lines)
    return f"/**\n * {summary}\n *\n * @example\n * ```ts ignore\n{body}\n * ```\n */"

values, errnos = [], []
for line in sys.stdin:
    parts = line.split()
    if parts[0] == "ERRNO":
        errnos.append((parts[1], int(parts[2])))
    elif not parts[0].startswith(("sizeof", "offsetof")):
        name = parts[0].replace("(unsigned)", "")
        values.append((name, int(parts[1])))

out = ["// Generated by tools/gen_constants.py from the glibc headers of Linux x86_64. Do not edit by hand.",
       "// Linux values; tests/constants_test.ts checks a sample against the kernel.", "",
       "/** Linux values of the socket-related constants, by C name. */",
       "export const LINUX_CONSTANTS = {"]
for name, value in values:
    out.append(f"  {name}: {value},")
out.append("} as const;")
out.append("")
out.append("/** Linux errno values, by C name. */")
out.append("export const LINUX_ERRNO = {")
for name, value in errnos:
    out.append(f"  {name}: {value},")
out.append("} as const;")
if len(sys.argv) > 1 and sys.argv[1] == "--exports":
    out = ["// Generated by tools/gen_constants.py. Do not edit by hand.",
           "// The named constants of the module, taken from the table of the OS we run on.",
           "// A port adds constants_<os>.ts beside constants_linux.ts and one branch below.", "",
           'import { LINUX_CONSTANTS, LINUX_ERRNO } from "./constants_linux.ts";', "",
           "const C: Record<keyof typeof LINUX_CONSTANTS, number> = LINUX_CONSTANTS;",
           "const E: Record<keyof typeof LINUX_ERRNO, number> = LINUX_ERRNO;", "",
           "/** errno values of the OS we run on, by C name (e.g. `ERRNO.ECONNREFUSED`). */",
           "export const ERRNO: Readonly<Record<string, number>> = Object.freeze({ ...E });", ""]
    for name, value in values:
        out.append(doc(f"{describe(name)} `{name}` (C constant of the same name).", example(name)))
        out.append(f"export const {name}: number = C.{name};")
    for name, value in errnos:
        out.append(doc(f"errno `{name}`.", example(name, errno=True)))
        out.append(f"export const {name}: number = E.{name};")
print("\n".join(out))
