/**
 * Tests of net/options.ts: every typed option is set and read back from the
 * kernel on a socket of the right kind (TCP options on TCP, IP_MULTICAST_*
 * on UDP, IPV6_* on AF_INET6, IP_HDRINCL on a raw socket), bad values are
 * rejected with TypeError/RangeError before libc is called (errno and the
 * kernel's value stay untouched), and the raw escape hatch reaches options
 * without a typed form (SO_PRIORITY, TCP_INFO).
 *
 * Run: deno test --allow-ffi --allow-net --allow-read tests/options_test.ts
 */

import assert from "@assert";
import { MORE_OPTION_NAMES, type MoreOptionName } from "./options_more_cases.ts";
import {
  getSocketOption,
  getSocketOptionRaw,
  setSocketOption,
  setSocketOptionRaw,
  SOCKET_OPTIONS,
  SocketError,
  type SocketOptionName,
  type SocketOptionTypes,
} from "../mod.ts";
import {
  AF_INET,
  AF_INET6,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  SO_PRIORITY,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_STREAM,
  SOL_SOCKET,
  TCP_INFO,
} from "../ffi/mod.ts";
import { close, listen as listenFd, socket } from "../ffi/syscalls.ts";
import { errno, setErrno } from "../ffi/libc.ts";
import { readProc, tcpPair } from "./helpers.ts";

type SocketKind = "tcp4" | "tcp6" | "udp4" | "udp6" | "raw4" | "listening";

function open(kind: SocketKind): number {
  switch (kind) {
    case "tcp4":
      return socket(AF_INET, SOCK_STREAM, 0);
    case "tcp6":
      return socket(AF_INET6, SOCK_STREAM, 0);
    case "udp4":
      return socket(AF_INET, SOCK_DGRAM, 0);
    case "udp6":
      return socket(AF_INET6, SOCK_DGRAM, 0);
    case "raw4":
      return socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    case "listening": {
      const fd = socket(AF_INET, SOCK_STREAM, 0);
      listenFd(fd, 1); // binds an ephemeral port; no traffic
      return fd;
    }
  }
}

interface Case<N extends SocketOptionName = SocketOptionName> {
  socket: SocketKind;
  /** The value to set (absent for read-only options). */
  set?: SocketOptionTypes[N];
  /** What the kernel reports afterwards. */
  expect: SocketOptionTypes[N];
  /** Why the value read back differs from the one set. */
  note?: string;
}

const congestion = (await readProc("/proc/sys/net/ipv4/tcp_available_congestion_control"))
  .trim().split(/\s+/);

/**
 * One case per typed option: with tests/options_more_test.ts's table it must
 * cover SOCKET_OPTIONS exactly.
 */
const CASES: { [N in Exclude<SocketOptionName, MoreOptionName>]: Case<N> } = {
  SO_REUSEADDR: { socket: "udp4", set: true, expect: true },
  SO_REUSEPORT: { socket: "udp4", set: true, expect: true },
  SO_KEEPALIVE: { socket: "tcp4", set: true, expect: true },
  SO_RCVBUF: { socket: "udp4", set: 65536, expect: 131072, note: "the kernel doubles it" },
  SO_SNDBUF: { socket: "udp4", set: 65536, expect: 131072, note: "the kernel doubles it" },
  SO_LINGER: {
    socket: "tcp4",
    set: { enabled: true, seconds: 7 },
    expect: { enabled: true, seconds: 7 },
  },
  SO_RCVTIMEO: { socket: "udp4", set: 1500, expect: 1500 },
  SO_SNDTIMEO: {
    socket: "udp4",
    set: 2000,
    expect: 2000,
    note: "the kernel keeps jiffies: whole seconds read back exactly",
  },
  SO_BROADCAST: { socket: "udp4", set: true, expect: true },
  SO_ERROR: { socket: "udp4", expect: 0 },
  SO_TYPE: { socket: "udp4", expect: SOCK_DGRAM },
  SO_BINDTODEVICE: { socket: "udp4", set: "lo", expect: "lo", note: "needs CAP_NET_RAW" },
  SO_DOMAIN: { socket: "udp6", expect: AF_INET6 },
  SO_PROTOCOL: { socket: "tcp4", expect: IPPROTO_TCP },
  SO_ACCEPTCONN: { socket: "listening", expect: true },
  TCP_NODELAY: { socket: "tcp4", set: true, expect: true },
  TCP_KEEPIDLE: { socket: "tcp4", set: 30, expect: 30 },
  TCP_KEEPINTVL: { socket: "tcp4", set: 5, expect: 5 },
  TCP_KEEPCNT: { socket: "tcp4", set: 4, expect: 4 },
  TCP_CORK: { socket: "tcp4", set: true, expect: true },
  TCP_QUICKACK: { socket: "tcp4", set: false, expect: false },
  TCP_USER_TIMEOUT: { socket: "tcp4", set: 5000, expect: 5000 },
  TCP_MAXSEG: { socket: "tcp4", set: 1000, expect: 1000, note: "before connecting" },
  TCP_SYNCNT: { socket: "tcp4", set: 3, expect: 3 },
  TCP_NOTSENT_LOWAT: { socket: "tcp6", set: 16384, expect: 16384 },
  TCP_CONGESTION: {
    socket: "tcp4",
    set: congestion.includes("reno") ? "reno" : congestion[0],
    expect: congestion.includes("reno") ? "reno" : congestion[0],
  },
  IP_TTL: { socket: "udp4", set: 42, expect: 42 },
  IP_TOS: { socket: "udp4", set: 0x10, expect: 0x10 },
  IP_MULTICAST_TTL: { socket: "udp4", set: 3, expect: 3 },
  IP_MULTICAST_LOOP: { socket: "udp4", set: false, expect: false },
  IP_MULTICAST_IF: { socket: "udp4", set: "127.0.0.1", expect: "127.0.0.1" },
  IP_RECVERR: { socket: "udp4", set: true, expect: true },
  IP_MTU_DISCOVER: { socket: "udp4", set: 2, expect: 2 },
  IP_HDRINCL: { socket: "raw4", set: true, expect: true, note: "raw sockets only" },
  IP_FREEBIND: { socket: "udp4", set: true, expect: true },
  IPV6_V6ONLY: { socket: "udp6", set: true, expect: true },
  IPV6_UNICAST_HOPS: { socket: "udp6", set: 9, expect: 9 },
  IPV6_MULTICAST_HOPS: { socket: "udp6", set: 4, expect: 4 },
  IPV6_MULTICAST_LOOP: { socket: "udp6", set: false, expect: false },
  IPV6_MULTICAST_IF: { socket: "udp6", set: 1, expect: 1, note: "1 is lo" },
  IPV6_TCLASS: { socket: "udp6", set: 0x20, expect: 0x20 },
};

Deno.test("options: the test table covers every typed option", () => {
  assert.deepEqual(
    [...Object.keys(CASES), ...MORE_OPTION_NAMES].sort(),
    Object.keys(SOCKET_OPTIONS).sort(),
  );
});

for (const [name, c] of Object.entries(CASES) as [SocketOptionName, Case][]) {
  const what = c.set === undefined
    ? `read-only, reads ${JSON.stringify(c.expect)}`
    : `set ${JSON.stringify(c.set)}, kernel reports ${JSON.stringify(c.expect)}`;
  Deno.test(`options: ${name} on ${c.socket}: ${what}${c.note ? ` (${c.note})` : ""}`, () => {
    const fd = open(c.socket);
    try {
      if (c.set === undefined) {
        assert.deepEqual(getSocketOption(fd, name), c.expect);
        assert.throws(() => setSocketOption(fd, name, c.expect as never), TypeError, "read-only");
        return;
      }
      const before = getSocketOption(fd, name);
      assert.notDeepEqual(before, c.expect, "the default differs, so the read-back proves the set");
      setSocketOption(fd, name, c.set as never);
      assert.deepEqual(getSocketOption(fd, name), c.expect);
    } finally {
      close(fd);
    }
  });
}

Deno.test('options: SO_BINDTODEVICE "" unbinds; SO_LINGER off; timeouts back to 0', () => {
  const udp = open("udp4");
  const tcp = open("tcp4");
  try {
    setSocketOption(udp, "SO_BINDTODEVICE", "lo");
    setSocketOption(udp, "SO_BINDTODEVICE", "");
    assert.equal(getSocketOption(udp, "SO_BINDTODEVICE"), "");
    setSocketOption(udp, "SO_RCVTIMEO", 10);
    setSocketOption(udp, "SO_RCVTIMEO", 0);
    assert.equal(getSocketOption(udp, "SO_RCVTIMEO"), 0);
    setSocketOption(tcp, "SO_LINGER", { enabled: true, seconds: 3 });
    setSocketOption(tcp, "SO_LINGER", { enabled: false, seconds: 0 });
    // Turning linger off keeps the old time in the kernel (only the flag is cleared).
    assert.deepEqual(getSocketOption(tcp, "SO_LINGER"), { enabled: false, seconds: 3 });
  } finally {
    close(udp);
    close(tcp);
  }
});

/** Bad values per option kind: [value, error class]. */
function badValues(name: SocketOptionName): [unknown, typeof TypeError | typeof RangeError][] {
  const spec = SOCKET_OPTIONS[name] as { kind: string; min?: number; max?: number };
  switch (spec.kind) {
    case "bool":
      return [[1, TypeError], ["true", TypeError], [null, TypeError]];
    case "int": {
      const out: [unknown, typeof TypeError | typeof RangeError][] = [
        ["1", TypeError],
        [true, TypeError],
        [1.5, RangeError],
        [NaN, RangeError],
      ];
      if (spec.min !== undefined) out.push([spec.min - 1, RangeError]);
      out.push([(spec.max ?? 0x7fffffff) + 1, RangeError]);
      return out;
    }
    case "linger":
      return [
        [true, TypeError],
        [null, TypeError],
        [{ enabled: 1, seconds: 1 }, TypeError],
        [{ enabled: true, seconds: -1 }, RangeError],
        [{ enabled: true, seconds: 1.5 }, RangeError],
      ];
    case "timeval":
      return [["5", TypeError], [-1, RangeError], [Infinity, RangeError], [NaN, RangeError]];
    case "string":
      return [[5, TypeError], ["a\0b", TypeError], ["x".repeat(16), RangeError]];
    case "ipv4":
      return [[0x7f000001, TypeError], ["::1", TypeError], ["localhost", TypeError]];
  }
  throw new Error(`no bad values for kind ${spec.kind}`);
}

Deno.test("options: bad values are rejected with TypeError/RangeError before libc (errno and the kernel value untouched)", () => {
  let checked = 0;
  for (const [name, c] of Object.entries(CASES) as [SocketOptionName, Case][]) {
    if (c.set === undefined) continue;
    const fd = open(c.socket);
    try {
      const before = getSocketOption(fd, name);
      for (const [value, ErrorClass] of badValues(name)) {
        // A failing setsockopt would set errno; a successful one would change the value.
        // V8 may touch errno on this thread by itself (a GC waiting on a futex
        // leaves EAGAIN), so a changed errno is retried: a call that reached
        // libc changes it on every attempt, a stray GC does not.
        let untouched = false;
        for (let attempt = 0; attempt < 3 && !untouched; attempt++) {
          setErrno(0x5eed);
          assert.throws(
            () => setSocketOption(fd, name, value as never),
            ErrorClass,
            undefined,
            `${name} = ${String(value)}`,
          );
          untouched = errno() === 0x5eed;
        }
        assert.ok(untouched, `${name} = ${String(value)}: errno changed, so libc was called`);
        assert.deepEqual(getSocketOption(fd, name), before);
        checked++;
      }
    } finally {
      close(fd);
    }
  }
  assert.ok(checked > 150, `${checked} bad values checked`);
});

Deno.test("options: unknown names are TypeErrors; the kernel's refusals are SocketErrors", () => {
  const udp = open("udp4");
  try {
    assert.throws(
      () => setSocketOption(udp, "SO_NOPE" as SocketOptionName, 1 as never),
      TypeError,
      "setOptionRaw",
    );
    assert.throws(() => getSocketOption(udp, "SO_NOPE" as SocketOptionName), TypeError);
    // A TCP option on a UDP socket: valid value, wrong socket; the kernel says no.
    const error = (() => {
      try {
        setSocketOption(udp, "TCP_NODELAY", true);
      } catch (e) {
        return e;
      }
    })();
    assert.ok(error instanceof SocketError, String(error));
    assert.match((error as SocketError).code, /^(EOPNOTSUPP|ENOPROTOOPT)$/);
    // IP_HDRINCL exists only on raw sockets.
    assert.throws(() => setSocketOption(udp, "IP_HDRINCL", true), SocketError);
  } finally {
    close(udp);
  }
});

Deno.test("options: raw escape hatch: SO_PRIORITY set and read, TCP_INFO of a live connection", async () => {
  const udp = open("udp4");
  try {
    setSocketOptionRaw(udp, SOL_SOCKET, SO_PRIORITY, new Uint8Array(new Int32Array([6]).buffer));
    const raw = getSocketOptionRaw(udp, SOL_SOCKET, SO_PRIORITY, 4);
    assert.equal(raw.byteLength, 4);
    assert.equal(new DataView(raw.buffer).getInt32(0, true), 6);
  } finally {
    close(udp);
  }
  const pair = await tcpPair();
  const { client, server } = pair;
  try {
    const info = client.getOptionRaw(IPPROTO_TCP, TCP_INFO, 256);
    assert.ok(info.byteLength >= 104, `struct tcp_info is ${info.byteLength} bytes`);
    assert.equal(info[0], 1, "tcpi_state is TCP_ESTABLISHED");
    // The same typed options through the handle.
    client.setOption("TCP_NODELAY", true);
    assert.equal(client.getOption("TCP_NODELAY"), true);
    assert.equal(server.getOption("SO_PROTOCOL"), IPPROTO_TCP);
  } finally {
    pair.close();
  }
});
