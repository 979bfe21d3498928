/**
 * Tests of ffi/structs.ts. A test compiles nothing: it checks the layouts
 * of the running CPU against values written down from the C headers
 * (measured with gcc on Linux glibc, x86_64 and aarch64: `sizeof` and
 * `offsetof`; tests/arch_layout_test.ts checks every architecture's against
 * the probe's recorded output), and against what the kernel reads and writes:
 * getsockname, epoll_ctl/epoll_wait, poll.
 *
 * Run: deno test --allow-ffi --allow-net --allow-read --allow-write tests/structs_test.ts
 */

import assert from "@assert";
import {
  ADDRINFO,
  epoll_event,
  type Field,
  type FieldType,
  in6_addr,
  in_addr,
  ip_mreq,
  ip_mreqn,
  ipv6_mreq,
  linger,
  pollfd,
  sockaddr_in,
  sockaddr_in6,
  sockaddr_storage,
  sockaddr_un,
  StructLayout,
  SUN_PATH_SIZE,
  timeval,
} from "../ffi/structs.ts";
import { bind, close, connect, getpeername, getsockname, listen, socket } from "../ffi/syscalls.ts";
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLLIN,
  EPOLLOUT,
  INADDR_LOOPBACK,
  O_CLOEXEC,
  O_NONBLOCK,
  POLLIN,
  POLLOUT,
  SOCK_DGRAM,
  SOCK_STREAM,
} from "../ffi/constants.ts";
import { errno, libc } from "../ffi/libc.ts";
import { pipe2, poll, write } from "../ffi/syscalls.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
const bad = (x: unknown): Any => x;
// deno-lint-ignore no-explicit-any
type AnyLayout = StructLayout<any>;

// ---------------------------------------------------------------------------
// The C headers' values, written down (gcc, glibc). Only epoll_event differs
// between x86_64 (packed) and aarch64.

type Expected = [
  name: string,
  offset: number,
  size: number,
  type: FieldType,
  order: "host" | "network",
];

const C_LAYOUTS: [AnyLayout, string, number, Expected[]][] = [
  [in_addr, "struct in_addr", 4, [["s_addr", 0, 4, "u32", "network"]]],
  [in6_addr, "struct in6_addr", 16, [["s6_addr", 0, 16, "bytes", "host"]]],
  [sockaddr_in, "struct sockaddr_in", 16, [
    ["sin_family", 0, 2, "u16", "host"],
    ["sin_port", 2, 2, "u16", "network"],
    ["sin_addr", 4, 4, "u32", "network"],
    ["sin_zero", 8, 8, "bytes", "host"],
  ]],
  [sockaddr_in6, "struct sockaddr_in6", 28, [
    ["sin6_family", 0, 2, "u16", "host"],
    ["sin6_port", 2, 2, "u16", "network"],
    ["sin6_flowinfo", 4, 4, "u32", "network"],
    ["sin6_addr", 8, 16, "bytes", "host"],
    ["sin6_scope_id", 24, 4, "u32", "host"],
  ]],
  [sockaddr_un, "struct sockaddr_un", 110, [
    ["sun_family", 0, 2, "u16", "host"],
    ["sun_path", 2, 108, "bytes", "host"],
  ]],
  [sockaddr_storage, "struct sockaddr_storage", 128, [["ss_family", 0, 2, "u16", "host"]]],
  Deno.build.arch === "x86_64"
    ? [epoll_event, "struct epoll_event", 12, [
      ["events", 0, 4, "u32", "host"],
      ["data", 4, 8, "u64", "host"],
    ]]
    : [epoll_event, "struct epoll_event", 16, [
      ["events", 0, 4, "u32", "host"],
      ["data", 8, 8, "u64", "host"],
    ]],
  [timeval, "struct timeval", 16, [
    ["tv_sec", 0, 8, "i64", "host"],
    ["tv_usec", 8, 8, "i64", "host"],
  ]],
  [linger, "struct linger", 8, [
    ["l_onoff", 0, 4, "i32", "host"],
    ["l_linger", 4, 4, "i32", "host"],
  ]],
  [ip_mreq, "struct ip_mreq", 8, [
    ["imr_multiaddr", 0, 4, "u32", "network"],
    ["imr_interface", 4, 4, "u32", "network"],
  ]],
  [ip_mreqn, "struct ip_mreqn", 12, [
    ["imr_multiaddr", 0, 4, "u32", "network"],
    ["imr_address", 4, 4, "u32", "network"],
    ["imr_ifindex", 8, 4, "i32", "host"],
  ]],
  [ipv6_mreq, "struct ipv6_mreq", 20, [
    ["ipv6mr_multiaddr", 0, 16, "bytes", "host"],
    ["ipv6mr_interface", 16, 4, "u32", "host"],
  ]],
  [pollfd, "struct pollfd", 8, [
    ["fd", 0, 4, "i32", "host"],
    ["events", 4, 2, "i16", "host"],
    ["revents", 6, 2, "i16", "host"],
  ]],
];

/** Byte size of a scalar field type. */
const TYPE_SIZE: Record<FieldType, number | undefined> = {
  u8: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  u64: 8,
  i64: 8,
  bytes: undefined,
};

// ---------------------------------------------------------------------------
// Helpers

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function garbage(n: number, next = rng(n * 7919)): Uint8Array {
  const out = new Uint8Array(n);
  // Never zero, so a byte the kernel or encode() zeroed is visible.
  for (let i = 0; i < n; i++) out[i] = ((next() * 255) | 0) + 1;
  return out;
}

/** Which bytes of the struct some field covers. */
function coverage(layout: AnyLayout): boolean[] {
  const covered = new Array<boolean>(layout.size).fill(false);
  for (const f of layout.fields) {
    for (let i = f.offset; i < f.offset + f.size; i++) covered[i] = true;
  }
  return covered;
}

const te = new TextEncoder();
const ipv6Loopback = (): Uint8Array => {
  const a = new Uint8Array(16);
  a[15] = 1;
  return a;
};

function assertThrowsNaming(fn: () => unknown, cls: ErrorConstructor, ...names: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e}`);
    for (const name of names) {
      assert.ok(
        (e as Error).message.includes(name),
        `message "${(e as Error).message}" should name ${name}`,
      );
    }
    return true;
  });
}

// ---------------------------------------------------------------------------
// Sizes, offsets, order

Deno.test("every layout has the C header's sizeof, and each field its offsetof, size, type and order", () => {
  for (const [layout, name, size, fields] of C_LAYOUTS) {
    assert.equal(layout.name, name);
    assert.equal(layout.size, size, `sizeof(${name})`);
    const actual = layout.fields.map((f: Field) => [f.name, f.offset, f.size, f.type, f.order]);
    assert.deepEqual(actual, fields, `fields of ${name}`);
    for (const [fieldName, offset, fieldSize] of fields) {
      const f = layout.field(fieldName);
      assert.equal(f.offset, offset, `offsetof(${name}, ${fieldName})`);
      assert.equal(f.size, fieldSize, `sizeof(${name}.${fieldName})`);
    }
  }
});

Deno.test("fields are in offset order, never overlap, lie inside the struct, and scalars have their type's size", () => {
  for (const [layout] of C_LAYOUTS) {
    let end = 0;
    for (const f of layout.fields) {
      assert.ok(
        f.offset >= end,
        `${layout.name}.${f.name} overlaps the previous field or is out of order`,
      );
      assert.ok(
        f.offset + f.size <= layout.size,
        `${layout.name}.${f.name} lies outside the struct`,
      );
      const scalar = TYPE_SIZE[f.type];
      if (scalar !== undefined) {
        assert.equal(f.size, scalar, `${layout.name}.${f.name} size vs type`);
      }
      // Natural alignment of scalars, except epoll_event.data where it is packed (x86_64).
      const packed = Deno.build.arch === "x86_64" && layout === epoll_event && f.name === "data";
      if (scalar !== undefined && !packed) {
        assert.equal(f.offset % scalar, 0, `${layout.name}.${f.name} alignment`);
      }
      end = f.offset + f.size;
    }
    assert.ok(Object.isFrozen(layout.fields));
    assert.ok(Object.isFrozen(layout.fields[0]));
  }
});

Deno.test("struct sockaddr_un: sun_path is 108 bytes (SUN_PATH_SIZE)", () => {
  assert.equal(SUN_PATH_SIZE, 108);
  assert.equal(sockaddr_un.field("sun_path").size, SUN_PATH_SIZE);
});

Deno.test("struct addrinfo offsets are the C header's (48 bytes)", () => {
  assert.deepEqual({ ...ADDRINFO }, {
    size: 48,
    ai_flags: 0,
    ai_family: 4,
    ai_socktype: 8,
    ai_protocol: 12,
    ai_addrlen: 16,
    ai_addr: 24,
    ai_canonname: 32,
    ai_next: 40,
  });
  assert.ok(Object.isFrozen(ADDRINFO));
});

// ---------------------------------------------------------------------------
// Byte-for-byte encodings

Deno.test("sockaddr_in.encode is byte-for-byte what C writes (htons/htonl, zero sin_zero)", () => {
  const bytes = sockaddr_in.encode({ sin_family: AF_INET, sin_port: 8080, sin_addr: 0x7f000001 });
  assert.deepEqual([...bytes], [2, 0, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(bytes.byteLength, 16);
});

Deno.test("sockaddr_in.encode into a garbage buffer zeroes sin_zero and touches nothing past the struct", () => {
  const into = garbage(40);
  const before = into.slice();
  const out = sockaddr_in.encode(
    { sin_family: AF_INET, sin_port: 8080, sin_addr: 0x7f000001 },
    into,
  );
  assert.equal(out.buffer, into.buffer, "returns a view of into");
  assert.equal(out.byteOffset, 0);
  assert.equal(out.byteLength, 16);
  assert.deepEqual([...into.subarray(0, 16)], [
    2,
    0,
    0x1f,
    0x90,
    127,
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
  assert.deepEqual(into.subarray(16), before.subarray(16), "bytes past sizeof untouched");

  // A view at an offset inside a larger buffer: bytes before it untouched too.
  const big = garbage(64);
  const snapshot = big.slice();
  sockaddr_in.encode({ sin_port: 1 }, big.subarray(8, 24));
  assert.deepEqual(big.subarray(0, 8), snapshot.subarray(0, 8));
  assert.deepEqual([...big.subarray(8, 24)], [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(big.subarray(24), snapshot.subarray(24));
});

Deno.test("the other layouts encode byte-for-byte as C lays them out", () => {
  const six = new Uint8Array(16).map((_, i) => 0x20 + i);
  assert.deepEqual(
    [...sockaddr_in6.encode({
      sin6_family: AF_INET6,
      sin6_port: 0x1234,
      sin6_flowinfo: 0x000abcde,
      sin6_addr: six,
      sin6_scope_id: 0x01020304,
    })],
    [10, 0, 0x12, 0x34, 0x00, 0x0a, 0xbc, 0xde, ...six, 4, 3, 2, 1],
  );
  assert.deepEqual(
    [...sockaddr_un.encode({ sun_family: AF_UNIX, sun_path: te.encode("/a") })],
    [1, 0, 0x2f, 0x61, ...new Array(106).fill(0)],
  );
  assert.deepEqual([...sockaddr_storage.encode({ ss_family: AF_INET6 })], [
    10,
    0,
    ...new Array(126).fill(0),
  ]);
  assert.deepEqual(
    [...epoll_event.encode({ events: 0x80000005, data: 0x0102030405060708n })],
    Deno.build.arch === "x86_64"
      ? [5, 0, 0, 0x80, 8, 7, 6, 5, 4, 3, 2, 1]
      : [5, 0, 0, 0x80, 0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1],
  );
  assert.deepEqual(
    [...timeval.encode({ tv_sec: -2n, tv_usec: 999999n })],
    [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f, 0x42, 0x0f, 0, 0, 0, 0, 0],
  );
  assert.deepEqual([...linger.encode({ l_onoff: 1, l_linger: -1 })], [
    1,
    0,
    0,
    0,
    0xff,
    0xff,
    0xff,
    0xff,
  ]);
  assert.deepEqual(
    [...ip_mreq.encode({ imr_multiaddr: 0xe0000001, imr_interface: 0x7f000001 })],
    [224, 0, 0, 1, 127, 0, 0, 1],
  );
  assert.deepEqual(
    [...ip_mreqn.encode({ imr_multiaddr: 0xe00000fb, imr_address: 0, imr_ifindex: 2 })],
    [224, 0, 0, 251, 0, 0, 0, 0, 2, 0, 0, 0],
  );
  assert.deepEqual(
    [...ipv6_mreq.encode({ ipv6mr_multiaddr: six, ipv6mr_interface: 1 })],
    [...six, 1, 0, 0, 0],
  );
  assert.deepEqual([...pollfd.encode({ fd: 3, events: 1, revents: -1 })], [
    3,
    0,
    0,
    0,
    1,
    0,
    0xff,
    0xff,
  ]);
  assert.deepEqual([...in_addr.encode({ s_addr: INADDR_LOOPBACK })], [127, 0, 0, 1]);
  assert.deepEqual([...in6_addr.encode({ s6_addr: ipv6Loopback() })], [...ipv6Loopback()]);
});

// ---------------------------------------------------------------------------
// Round trips

Deno.test("round trip: decode(encode(v)) equals v for every layout, extremes included", () => {
  const full = (n: number, seed: number) => garbage(n, rng(seed));
  const cases: [AnyLayout, Record<string, number | bigint | Uint8Array>][] = [
    [in_addr, { s_addr: 0xffffffff }],
    [in_addr, { s_addr: 0 }],
    [in6_addr, { s6_addr: full(16, 1) }],
    [sockaddr_in, {
      sin_family: AF_INET,
      sin_port: 65535,
      sin_addr: 0x80000001,
      sin_zero: new Uint8Array(8),
    }],
    [sockaddr_in, { sin_family: 0xffff, sin_port: 0, sin_addr: 0xffffffff, sin_zero: full(8, 2) }],
    [sockaddr_in6, {
      sin6_family: AF_INET6,
      sin6_port: 443,
      sin6_flowinfo: 0xffffffff,
      sin6_addr: full(16, 3),
      sin6_scope_id: 0xffffffff,
    }],
    [sockaddr_un, { sun_family: AF_UNIX, sun_path: full(108, 4) }],
    [sockaddr_storage, { ss_family: AF_INET }],
    [epoll_event, { events: 0xffffffff, data: 0xffffffffffffffffn }],
    [epoll_event, { events: 0, data: 0n }],
    [timeval, { tv_sec: -(1n << 63n), tv_usec: (1n << 63n) - 1n }],
    [linger, { l_onoff: -0x80000000, l_linger: 0x7fffffff }],
    [ip_mreq, { imr_multiaddr: 0xefffffff, imr_interface: 1 }],
    [ip_mreqn, { imr_multiaddr: 0xe0000001, imr_address: 0xc0a80001, imr_ifindex: -1 }],
    [ipv6_mreq, { ipv6mr_multiaddr: full(16, 5), ipv6mr_interface: 0xffffffff }],
    [pollfd, { fd: -1, events: -0x8000, revents: 0x7fff }],
    [pollfd, { fd: 0x7fffffff, events: 0, revents: 0 }],
  ];
  for (const [layout, value] of cases) {
    assert.deepEqual(layout.decode(layout.encode(value)), value, layout.name);
    // Also through a garbage-filled, offset destination.
    const host = garbage(layout.size + 9);
    const view = host.subarray(5, 5 + layout.size + 4);
    assert.deepEqual(layout.decode(layout.encode(value, view)), value, `${layout.name} (into)`);
  }
});

Deno.test("round trip: encode(decode(bytes)) reproduces every covered byte of any bytes, for every layout", () => {
  const next = rng(0xc0ffee);
  for (const [layout] of C_LAYOUTS) {
    for (let trial = 0; trial < 50; trial++) {
      const src = garbage(layout.size + 3, next);
      const view = src.subarray(3); // unaligned on purpose
      const value = layout.decode(view);
      const again = layout.encode(value);
      const covered = coverage(layout);
      for (let i = 0; i < layout.size; i++) {
        assert.equal(again[i], covered[i] ? view[i] : 0, `${layout.name} byte ${i}`);
      }
      // decode copies byte fields: changing the source later changes nothing.
      for (const f of layout.fields) {
        if (f.type === "bytes") {
          const copy = (value[f.name] as Uint8Array).slice();
          view[f.offset] ^= 0xff;
          assert.deepEqual(value[f.name], copy, `${layout.name}.${f.name} is a copy`);
        }
      }
    }
  }
});

Deno.test("decode reads only the first sizeof bytes and rejects short input", () => {
  const bytes = new Uint8Array(20);
  bytes.set([2, 0, 0, 80, 10, 0, 0, 1]);
  bytes.fill(0xee, 16);
  const v = sockaddr_in.decode(bytes);
  assert.equal(v.sin_port, 80);
  assert.equal(v.sin_addr, 0x0a000001);
  assert.deepEqual(v.sin_zero, new Uint8Array(8));
  assertThrowsNaming(() => sockaddr_in.decode(new Uint8Array(15)), RangeError, "sockaddr_in", "15");
  assertThrowsNaming(() => sockaddr_in.decode(bad([1, 2, 3])), TypeError, "sockaddr_in");
  assertThrowsNaming(() => sockaddr_in6.decode(new Uint8Array(27)), RangeError, "sockaddr_in6");
});

// ---------------------------------------------------------------------------
// Against the kernel

function tcpListener(domain: number, addr: Uint8Array): number {
  const fd = socket(domain, SOCK_STREAM, 0);
  try {
    bind(fd, addr);
    listen(fd, 8);
  } catch (e) {
    close(fd);
    throw e;
  }
  return fd;
}

/** getsockname into a garbage-filled 128+16 byte buffer; checks bytes past addrlen are untouched. */
function kernelName(
  fd: number,
  which: "sock" | "peer" = "sock",
): { bytes: Uint8Array; len: number } {
  const buf = garbage(128 + 16);
  const before = buf.slice();
  const len = new Uint32Array([128]);
  (which === "sock" ? getsockname : getpeername)(fd, buf.subarray(0, 128), len);
  assert.ok(len[0] <= 128);
  assert.deepEqual(buf.subarray(len[0]), before.subarray(len[0]), "kernel wrote past addrlen");
  return { bytes: buf, len: len[0] };
}

Deno.test("kernel: AF_INET getsockname decodes to 127.0.0.1 and the port Deno.connect reaches", async () => {
  const fd = tcpListener(
    AF_INET,
    sockaddr_in.encode({ sin_family: AF_INET, sin_port: 0, sin_addr: INADDR_LOOPBACK }),
  );
  try {
    const { bytes, len } = kernelName(fd);
    assert.equal(len, sockaddr_in.size);
    const a = sockaddr_in.decode(bytes);
    assert.equal(a.sin_family, AF_INET);
    assert.equal(a.sin_addr, INADDR_LOOPBACK);
    assert.deepEqual(a.sin_zero, new Uint8Array(8), "the kernel zeroes sin_zero");
    assert.ok(a.sin_port > 0 && a.sin_port <= 65535);
    // htons by hand, from the raw bytes.
    assert.equal(a.sin_port, (bytes[2] << 8) | bytes[3]);

    const conn = await Deno.connect({ hostname: "127.0.0.1", port: a.sin_port });
    try {
      assert.equal((conn.remoteAddr as Deno.NetAddr).port, a.sin_port);
    } finally {
      conn.close();
    }
  } finally {
    close(fd);
  }
});

Deno.test("kernel: FFI connect to a Deno.listen port; getpeername/getsockname agree with Deno's view", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const fd = socket(AF_INET, SOCK_STREAM, 0);
  try {
    const port = (listener.addr as Deno.NetAddr).port;
    connect(
      fd,
      sockaddr_in.encode({ sin_family: AF_INET, sin_port: port, sin_addr: INADDR_LOOPBACK }),
    );
    const peer = sockaddr_in.decode(kernelName(fd, "peer").bytes);
    assert.equal(peer.sin_family, AF_INET);
    assert.equal(peer.sin_port, port);
    assert.equal(peer.sin_addr, INADDR_LOOPBACK);
    const self = sockaddr_in.decode(kernelName(fd).bytes);
    const conn = await listener.accept();
    try {
      const remote = conn.remoteAddr as Deno.NetAddr;
      assert.equal(remote.port, self.sin_port);
      assert.equal(remote.hostname, "127.0.0.1");
    } finally {
      conn.close();
    }
  } finally {
    close(fd);
    listener.close();
  }
});

Deno.test("kernel: UDP AF_INET getsockname decodes the same way", () => {
  const fd = socket(AF_INET, SOCK_DGRAM, 0);
  try {
    bind(fd, sockaddr_in.encode({ sin_family: AF_INET, sin_addr: INADDR_LOOPBACK }));
    const { bytes, len } = kernelName(fd);
    assert.equal(len, 16);
    const a = sockaddr_in.decode(bytes);
    assert.equal(a.sin_family, AF_INET);
    assert.equal(a.sin_addr, INADDR_LOOPBACK);
    assert.ok(a.sin_port > 0);
  } finally {
    close(fd);
  }
});

Deno.test("kernel: AF_INET6 getsockname decodes to ::1 and the port Deno.connect reaches", async () => {
  const fd = tcpListener(
    AF_INET6,
    sockaddr_in6.encode({ sin6_family: AF_INET6, sin6_port: 0, sin6_addr: ipv6Loopback() }),
  );
  try {
    const { bytes, len } = kernelName(fd);
    assert.equal(len, sockaddr_in6.size);
    const a = sockaddr_in6.decode(bytes);
    assert.equal(a.sin6_family, AF_INET6);
    assert.deepEqual(a.sin6_addr, ipv6Loopback());
    assert.equal(a.sin6_flowinfo, 0);
    assert.equal(a.sin6_scope_id, 0);
    assert.ok(a.sin6_port > 0);
    assert.equal(a.sin6_port, (bytes[2] << 8) | bytes[3]);

    const conn = await Deno.connect({ hostname: "::1", port: a.sin6_port });
    try {
      assert.equal((conn.remoteAddr as Deno.NetAddr).port, a.sin6_port);
    } finally {
      conn.close();
    }
  } finally {
    close(fd);
  }
});

Deno.test("kernel: AF_UNIX path socket: getsockname decodes to the bound path, Deno.connect reaches it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "structs_test_" });
  const path = `${dir}/s.sock`;
  const pathBytes = te.encode(path);
  const fd = socket(AF_UNIX, SOCK_STREAM, 0);
  try {
    // addrlen as C code passes it: offsetof(sun_path) + strlen + 1.
    bind(
      fd,
      sockaddr_un.encode({ sun_family: AF_UNIX, sun_path: pathBytes }),
      2 + pathBytes.length + 1,
    );
    listen(fd, 4);
    const { bytes, len } = kernelName(fd);
    assert.equal(len, 2 + pathBytes.length + 1, "sun_family + path + NUL");
    const a = sockaddr_un.decode(bytes);
    assert.equal(a.sun_family, AF_UNIX);
    assert.deepEqual(a.sun_path.subarray(0, pathBytes.length), pathBytes);
    assert.equal(a.sun_path[pathBytes.length], 0, "NUL-terminated");
    assert.ok((await Deno.lstat(path)).isSocket);

    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
  } finally {
    close(fd);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kernel: AF_UNIX abstract name: getsockname returns the leading NUL and the name", () => {
  const name = te.encode(`structs_test-${Deno.pid}-${Date.now()}`);
  const path = new Uint8Array(1 + name.length);
  path.set(name, 1);
  const addrlen = 2 + path.length;
  const fd = socket(AF_UNIX, SOCK_STREAM, 0);
  const client = socket(AF_UNIX, SOCK_STREAM, 0);
  try {
    bind(fd, sockaddr_un.encode({ sun_family: AF_UNIX, sun_path: path }), addrlen);
    listen(fd, 4);
    const { bytes, len } = kernelName(fd);
    assert.equal(len, addrlen, "abstract names have no NUL terminator");
    const a = sockaddr_un.decode(bytes);
    assert.equal(a.sun_family, AF_UNIX);
    assert.deepEqual(a.sun_path.subarray(0, path.length), path);
    // Reachable by that exact name, and the client's peer name is the same.
    connect(client, sockaddr_un.encode({ sun_family: AF_UNIX, sun_path: path }), addrlen);
    const peer = kernelName(client, "peer");
    assert.equal(peer.len, addrlen);
    assert.deepEqual(sockaddr_un.decode(peer.bytes).sun_path.subarray(0, path.length), path);
  } finally {
    close(client);
    close(fd);
  }
});

Deno.test("kernel: epoll_ctl reads and epoll_wait writes struct epoll_event as declared (data, events, stride)", () => {
  const c = libc();
  const epfd = c.epoll_create1(EPOLL_CLOEXEC);
  assert.ok(epfd >= 0, `epoll_create1: errno ${errno()}`);
  const fds: number[] = [];
  try {
    // Values that fill both halves of data, so a wrong offset or stride shows.
    const data = [0x8877665544332211n, 0x0123456789abcdefn];
    for (const d of data) {
      const fd = c.eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC); // counter 1: readable at once
      assert.ok(fd >= 0, `eventfd: errno ${errno()}`);
      fds.push(fd);
      const event = epoll_event.encode({ events: (EPOLLIN | EPOLLOUT) >>> 0, data: d });
      assert.equal(c.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, event), 0, `epoll_ctl: errno ${errno()}`);
    }
    // Room for three events, garbage-filled: the kernel writes exactly two.
    const out = garbage(3 * epoll_event.size);
    const before = out.slice();
    const n = c.epoll_wait(epfd, out, 3, 0);
    assert.equal(n, 2, `epoll_wait: errno ${errno()}`);
    const got = [0, 1].map((i) => epoll_event.decode(out.subarray(i * epoll_event.size)));
    assert.deepEqual(got.map((e) => e.data).sort(), [...data].sort());
    for (const e of got) {
      assert.equal(e.events, EPOLLIN | EPOLLOUT, "an eventfd with 1 is readable and writable");
    }
    assert.deepEqual(out.subarray(2 * epoll_event.size), before.subarray(2 * epoll_event.size));
  } finally {
    for (const fd of fds) c.close(fd);
    c.close(epfd);
  }
});

Deno.test("kernel: poll reads an array of struct pollfd as declared and writes revents where decoded", () => {
  const p = new Int32Array(2);
  pipe2(p, O_NONBLOCK | O_CLOEXEC);
  try {
    write(p[1], new Uint8Array([1]));
    const set = garbage(2 * pollfd.size);
    pollfd.encode({ fd: p[0], events: POLLIN }, set.subarray(0, pollfd.size));
    pollfd.encode({ fd: p[1], events: POLLOUT }, set.subarray(pollfd.size));
    assert.equal(poll(set, 2, 0), 2);
    assert.deepEqual(pollfd.decode(set), { fd: p[0], events: POLLIN, revents: POLLIN });
    assert.deepEqual(pollfd.decode(set.subarray(pollfd.size)), {
      fd: p[1],
      events: POLLOUT,
      revents: POLLOUT,
    });
  } finally {
    close(p[0]);
    close(p[1]);
  }
});

// ---------------------------------------------------------------------------
// Bad values

Deno.test("bad values: a u16 rejects 65536, -1, 1.5, NaN, '80' and a bigint, naming the field", () => {
  for (const port of [65536, -1, 1.5, NaN, Infinity]) {
    assertThrowsNaming(() => sockaddr_in.encode({ sin_port: port }), RangeError, "sin_port");
  }
  for (const port of ["80", 80n, null, {}, true]) {
    assertThrowsNaming(() => sockaddr_in.encode({ sin_port: bad(port) }), TypeError, "sin_port");
  }
  assertThrowsNaming(() => sockaddr_in.encode({ sin_family: bad(2n) }), TypeError, "sin_family");
  assertThrowsNaming(() => sockaddr_in.encode({ sin_addr: 2 ** 32 }), RangeError, "sin_addr");
  assertThrowsNaming(() => sockaddr_in.encode({ sin_addr: -1 }), RangeError, "sin_addr");
  assertThrowsNaming(() => pollfd.encode({ events: 0x8000 }), RangeError, "events");
  assertThrowsNaming(() => linger.encode({ l_linger: 2 ** 31 }), RangeError, "l_linger");
});

Deno.test("bad values: 64-bit fields want a bigint in range", () => {
  assertThrowsNaming(() => epoll_event.encode({ data: bad(1) }), TypeError, "data");
  assertThrowsNaming(() => epoll_event.encode({ data: -1n }), RangeError, "data");
  assertThrowsNaming(() => epoll_event.encode({ data: 1n << 64n }), RangeError, "data");
  assertThrowsNaming(() => timeval.encode({ tv_sec: 1n << 63n }), RangeError, "tv_sec");
  assertThrowsNaming(() => timeval.encode({ tv_usec: bad(1.5) }), TypeError, "tv_usec");
});

Deno.test("bad values: byte fields want a Uint8Array that fits (sun_path of 109 bytes)", () => {
  assertThrowsNaming(
    () => sockaddr_un.encode({ sun_family: AF_UNIX, sun_path: new Uint8Array(SUN_PATH_SIZE + 1) }),
    RangeError,
    "sun_path",
  );
  // Exactly 108 bytes fits (a non-terminated path is the C caller's business).
  assert.equal(
    sockaddr_un.encode({ sun_path: new Uint8Array(SUN_PATH_SIZE).fill(0x61) })[109],
    0x61,
  );
  assertThrowsNaming(() => sockaddr_un.encode({ sun_path: bad("/tmp/x") }), TypeError, "sun_path");
  assertThrowsNaming(() => sockaddr_un.encode({ sun_path: bad([1, 2]) }), TypeError, "sun_path");
  assertThrowsNaming(
    () => sockaddr_in6.encode({ sin6_addr: new Uint8Array(17) }),
    RangeError,
    "sin6_addr",
  );
  assertThrowsNaming(
    () => sockaddr_in6.encode({ sin6_addr: bad(new Uint16Array(8)) }),
    TypeError,
    "sin6_addr",
  );
});

Deno.test("bad values: an unknown field name, a non-object value, an `into` too short or not bytes", () => {
  assertThrowsNaming(() => sockaddr_in.encode(bad({ sin_prot: 80 })), TypeError, "sin_prot");
  assertThrowsNaming(() => sockaddr_in.encode(bad({ sin6_port: 80 })), TypeError, "sin6_port");
  assertThrowsNaming(() => sockaddr_in.field(bad("nope")), TypeError, "nope");
  assertThrowsNaming(() => sockaddr_in.encode(bad(null)), TypeError, "sockaddr_in");
  assertThrowsNaming(() => sockaddr_in.encode(bad(8080)), TypeError, "sockaddr_in");
  assertThrowsNaming(
    () => sockaddr_in.encode({}, new Uint8Array(15)),
    RangeError,
    "into",
    "15",
    "16",
  );
  assertThrowsNaming(() => sockaddr_un.encode({}, new Uint8Array(109)), RangeError, "into");
  assertThrowsNaming(() => sockaddr_in.encode({}, bad(new ArrayBuffer(16))), TypeError, "into");
  assertThrowsNaming(() => sockaddr_in.encode({}, bad(new Uint16Array(8))), TypeError, "into");
  // A rejected `into` is left untouched.
  const short = garbage(15);
  const copy = short.slice();
  assert.throws(() => sockaddr_in.encode({ sin_port: 1 }, short), RangeError);
  assert.deepEqual(short, copy);
  // Undefined values are skipped (a missing field is zero).
  assert.deepEqual(
    [...sockaddr_in.encode({ sin_port: undefined, sin_family: AF_INET })].slice(0, 4),
    [2, 0, 0, 0],
  );
});

Deno.test("a layout that does not fit its own size is refused at construction", () => {
  assertThrowsNaming(
    () => new StructLayout("struct broken", 4, [["x", 2, 4, "u32"]]),
    RangeError,
    "x",
  );
});
