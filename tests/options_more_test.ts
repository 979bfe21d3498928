/**
 * The typed options issue 13 added, each set and read back against the
 * kernel (or, read-only, read on a socket where it has a value). An option
 * the kernel here refuses (EINVAL, ENOPROTOOPT, EOPNOTSUPP, EPERM: this may
 * be a gVisor sandbox) is skipped with the kernel's words printed, never
 * faked.
 *
 * Run: deno task test tests/options_more_test.ts
 */

import assert from "@assert";
import {
  getSocketOption,
  setSocketOption,
  SOCKET_OPTIONS,
  type SocketOptionName,
  type SocketOptionTypes,
} from "../mod.ts";
import {
  AF_INET,
  AF_INET6,
  close,
  connect,
  INADDR_LOOPBACK,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_TCP,
  SOCK_DGRAM,
  SOCK_STREAM,
  sockaddr_in,
  socket,
  SocketError,
} from "../ffi/mod.ts";
import { MORE_OPTION_NAMES, type MoreOptionName } from "./options_more_cases.ts";

type SocketKind = "tcp4" | "tcp6" | "udp4" | "udp6" | "udp4-connected";

function open(kind: SocketKind): number {
  const family = kind.includes("6") ? AF_INET6 : AF_INET;
  const fd = socket(family, kind.startsWith("tcp") ? SOCK_STREAM : SOCK_DGRAM, 0);
  if (kind === "udp4-connected") {
    // A UDP connect sends nothing; it fixes the route, so IP_MTU has one.
    connect(
      fd,
      sockaddr_in.encode({ sin_family: AF_INET, sin_port: 9, sin_addr: INADDR_LOOPBACK }),
    );
  }
  return fd;
}

interface Case<N extends MoreOptionName = MoreOptionName> {
  socket: SocketKind;
  level: number;
  set?: SocketOptionTypes[N];
  expect: SocketOptionTypes[N];
  note?: string;
}

const CASES: { [N in MoreOptionName]: Case<N> } = {
  TCP_DEFER_ACCEPT: {
    socket: "tcp4",
    level: IPPROTO_TCP,
    set: 5,
    expect: 7,
    note: "the kernel keeps SYN-ACK retransmits: 5 s is 3 of them, 1+2+4 = 7 s back",
  },
  TCP_FASTOPEN: { socket: "tcp4", level: IPPROTO_TCP, set: 16, expect: 16 },
  TCP_FASTOPEN_CONNECT: { socket: "tcp4", level: IPPROTO_TCP, set: true, expect: true },
  SO_MARK: { socket: "udp4", level: 1, set: 42, expect: 42, note: "needs CAP_NET_ADMIN" },
  SO_INCOMING_CPU: { socket: "udp4", level: 1, set: 0, expect: 0 },
  SO_BUSY_POLL: { socket: "udp4", level: 1, set: 50, expect: 50, note: "needs CAP_NET_ADMIN" },
  IP_TRANSPARENT: {
    socket: "udp4",
    level: IPPROTO_IP,
    set: true,
    expect: true,
    note: "needs CAP_NET_ADMIN",
  },
  IP_BIND_ADDRESS_NO_PORT: { socket: "tcp4", level: IPPROTO_IP, set: true, expect: true },
  IPV6_FREEBIND: { socket: "udp6", level: IPPROTO_IPV6, set: true, expect: true },
  IP_MTU: {
    socket: "udp4-connected",
    level: IPPROTO_IP,
    expect: 0, // replaced below by lo's MTU from sysfs
    note: "lo's MTU as `ip -json link show lo` says, clamped to IP_MAX_MTU",
  },
};

// Deno reads /sys only with --allow-all; iproute2 says the same as sysfs.
const ipLo = new Deno.Command("ip", { args: ["-json", "link", "show", "lo"] }).outputSync();
const loMtu: number = JSON.parse(new TextDecoder().decode(ipLo.stdout))[0].mtu;
// Linux's ipv4_mtu() clamps a route's MTU to IP_MAX_MTU (65535): lo's 65536 reads 65535.
CASES.IP_MTU.expect = Math.min(loMtu, 0xffff);

/** The kernel's refusals that mean "not supported here", not a bug of ours. */
const REFUSALS = new Set(["EINVAL", "ENOPROTOOPT", "EOPNOTSUPP", "EPERM", "EACCES"]);
const skipped: string[] = [];

Deno.test("options more: the table covers exactly the names the issue added", () => {
  assert.deepEqual(Object.keys(CASES).sort(), [...MORE_OPTION_NAMES].sort());
  for (const name of MORE_OPTION_NAMES) {
    assert.ok(Object.hasOwn(SOCKET_OPTIONS, name), `${name} is typed`);
    assert.equal(SOCKET_OPTIONS[name].level, CASES[name].level, `${name}'s level`);
  }
});

for (const [name, c] of Object.entries(CASES) as [SocketOptionName & MoreOptionName, Case][]) {
  const what = c.set === undefined
    ? "read-only"
    : `set ${JSON.stringify(c.set)}, kernel reports ${JSON.stringify(c.expect)}`;
  Deno.test(`options more: ${name} on ${c.socket}: ${what}${c.note ? ` (${c.note})` : ""}`, () => {
    const fd = open(c.socket);
    try {
      if (c.set === undefined) {
        assert.deepEqual(getSocketOption(fd, name), c.expect);
        assert.throws(() => setSocketOption(fd, name, c.expect as never), TypeError, "read-only");
        return;
      }
      const before = getSocketOption(fd, name);
      assert.notDeepEqual(before, c.expect, "the default differs, so the read-back proves the set");
      try {
        setSocketOption(fd, name, c.set as never);
      } catch (e) {
        if (e instanceof SocketError && REFUSALS.has(e.code)) {
          const line = `${name}: the kernel here refuses it: ${e.message}`;
          skipped.push(line);
          console.log(`SKIP ${line}`);
          return;
        }
        throw e;
      }
      assert.deepEqual(getSocketOption(fd, name), c.expect);
    } finally {
      close(fd);
    }
  });
}

Deno.test("options more: IP_MTU before connect is the kernel's ENOTCONN", () => {
  const fd = open("udp4");
  try {
    assert.throws(
      () => getSocketOption(fd, "IP_MTU"),
      (e: unknown) => e instanceof SocketError && e.code === "ENOTCONN",
    );
  } finally {
    close(fd);
  }
});

Deno.test("options more: bad values are refused before the kernel", () => {
  const fd = open("tcp4");
  try {
    assert.throws(() => setSocketOption(fd, "TCP_FASTOPEN", -1), RangeError);
    assert.throws(() => setSocketOption(fd, "TCP_DEFER_ACCEPT", 1.5), RangeError);
    assert.throws(() => setSocketOption(fd, "SO_MARK", 2 ** 31), RangeError);
    assert.throws(() => setSocketOption(fd, "SO_INCOMING_CPU", -2), RangeError);
    assert.throws(() => setSocketOption(fd, "IP_TRANSPARENT", 1 as never), TypeError);
    assert.throws(() => setSocketOption(fd, "TCP_FASTOPEN_CONNECT", "yes" as never), TypeError);
    // The socket was left as it was.
    assert.equal(getSocketOption(fd, "TCP_FASTOPEN"), 0);
  } finally {
    close(fd);
  }
});

Deno.test("options more: what the kernel refused here", () => {
  console.log(skipped.length ? skipped.join("\n") : "every new option was accepted by this kernel");
});
