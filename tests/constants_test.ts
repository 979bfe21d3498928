/**
 * Tests of ffi/constants.ts against the kernel's behaviour: a constant is
 * right when the kernel, asked through the FFI layer, answers with it. Also
 * the proof that Deno's trampolines zero-extend `u32` arguments, which is
 * why libc.ts may declare the I/O calls' `size_t` lengths as `u32`.
 *
 * Run: deno test --allow-ffi --allow-net tests/constants_test.ts
 */

import assert from "@assert";
import * as K from "../ffi/constants.ts";
import * as L from "../ffi/constants_linux.ts";
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  ERRNO,
  F_GETFD,
  F_GETFL,
  F_SETFD,
  F_SETFL,
  FD_CLOEXEC,
  INADDR_LOOPBACK,
  IPPROTO_TCP,
  IPPROTO_UDP,
  O_NONBLOCK,
  SO_ACCEPTCONN,
  SO_DOMAIN,
  SO_PROTOCOL,
  SO_TYPE,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  SOL_SOCKET,
} from "../ffi/constants.ts";
import { errnoName, SocketError } from "../ffi/errors.ts";
import { errno, libc, setErrno } from "../ffi/libc.ts";
import { sockaddr_in } from "../ffi/structs.ts";
import {
  bind,
  close,
  connect,
  fcntl,
  getsockname,
  getsockopt,
  listen,
  pipe2,
  read,
  recv,
  send,
  setsockopt,
  socket,
  socketpair,
} from "../ffi/syscalls.ts";

// ---------------------------------------------------------------------------
// Helpers

function withSocket<T>(domain: number, type: number, protocol: number, fn: (fd: number) => T): T {
  const fd = socket(domain, type, protocol);
  try {
    return fn(fd);
  } finally {
    close(fd);
  }
}

function intOption(fd: number, level: number, name: number): number {
  const value = new Int32Array([0x5a5a5a5a]);
  const len = new Uint32Array([4]);
  const got = getsockopt(fd, level, name, new Uint8Array(value.buffer), len);
  assert.equal(got, 4);
  assert.equal(len[0], 4);
  return value[0];
}

function setIntOption(fd: number, level: number, name: number, v: number): void {
  setsockopt(fd, level, name, new Uint8Array(new Int32Array([v]).buffer));
}

function expectSocketError(fn: () => unknown, code: string, syscall?: string): SocketError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof SocketError)) {
    throw new Error(`expected SocketError ${code}, got ${caught}`);
  }
  assert.equal(caught.code, code);
  assert.equal(caught.errno, (ERRNO as Record<string, number>)[code]);
  if (syscall !== undefined) assert.equal(caught.syscall, syscall);
  return caught;
}

// ---------------------------------------------------------------------------
// Socket types, domains, protocols

Deno.test("SO_TYPE answers SOCK_STREAM / SOCK_DGRAM / SOCK_SEQPACKET", () => {
  for (
    const [domain, type] of [[AF_INET, SOCK_STREAM], [AF_INET, SOCK_DGRAM], [
      AF_UNIX,
      SOCK_SEQPACKET,
    ]]
  ) {
    withSocket(domain, type, 0, (fd) => assert.equal(intOption(fd, SOL_SOCKET, SO_TYPE), type));
  }
  assert.deepEqual([SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, K.SOCK_RAW], [1, 2, 5, 3]);
});

Deno.test("SO_TYPE strips SOCK_NONBLOCK | SOCK_CLOEXEC: they are flags, not types", () => {
  withSocket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, (fd) => {
    assert.equal(intOption(fd, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
  });
  assert.equal(SOCK_NONBLOCK, O_NONBLOCK, "SOCK_NONBLOCK is O_NONBLOCK on Linux");
  assert.equal(SOCK_CLOEXEC, K.O_CLOEXEC, "SOCK_CLOEXEC is O_CLOEXEC on Linux");
});

Deno.test("SO_DOMAIN answers AF_INET / AF_INET6 / AF_UNIX", () => {
  for (const domain of [AF_INET, AF_INET6, AF_UNIX]) {
    withSocket(
      domain,
      SOCK_STREAM,
      0,
      (fd) => assert.equal(intOption(fd, SOL_SOCKET, SO_DOMAIN), domain),
    );
  }
});

Deno.test("SO_PROTOCOL answers IPPROTO_TCP / IPPROTO_UDP for the default protocol", () => {
  for (const domain of [AF_INET, AF_INET6]) {
    withSocket(
      domain,
      SOCK_STREAM,
      0,
      (fd) => assert.equal(intOption(fd, SOL_SOCKET, SO_PROTOCOL), IPPROTO_TCP),
    );
    withSocket(
      domain,
      SOCK_DGRAM,
      0,
      (fd) => assert.equal(intOption(fd, SOL_SOCKET, SO_PROTOCOL), IPPROTO_UDP),
    );
    // And the kernel accepts them when named explicitly.
    withSocket(
      domain,
      SOCK_STREAM,
      IPPROTO_TCP,
      (fd) => assert.equal(intOption(fd, SOL_SOCKET, SO_TYPE), SOCK_STREAM),
    );
    withSocket(
      domain,
      SOCK_DGRAM,
      IPPROTO_UDP,
      (fd) => assert.equal(intOption(fd, SOL_SOCKET, SO_TYPE), SOCK_DGRAM),
    );
  }
  // TCP on a datagram socket is refused with EPROTONOSUPPORT.
  expectSocketError(() => socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP), "EPROTONOSUPPORT", "socket");
});

Deno.test("SO_ACCEPTCONN is 0 before listen and 1 after; SOL_SOCKET options round-trip", () => {
  withSocket(AF_INET, SOCK_STREAM, 0, (fd) => {
    assert.equal(intOption(fd, SOL_SOCKET, SO_ACCEPTCONN), 0);
    bind(fd, sockaddr_in.encode({ sin_family: AF_INET, sin_addr: INADDR_LOOPBACK }));
    listen(fd, 1);
    assert.equal(intOption(fd, SOL_SOCKET, SO_ACCEPTCONN), 1);
  });
  withSocket(AF_INET, SOCK_STREAM, 0, (fd) => {
    for (const opt of [K.SO_REUSEADDR, K.SO_KEEPALIVE, K.SO_REUSEPORT]) {
      assert.equal(intOption(fd, SOL_SOCKET, opt), 0);
      setIntOption(fd, SOL_SOCKET, opt, 1);
      assert.equal(intOption(fd, SOL_SOCKET, opt), 1);
    }
    assert.equal(intOption(fd, IPPROTO_TCP, K.TCP_NODELAY), 0);
    setIntOption(fd, IPPROTO_TCP, K.TCP_NODELAY, 1);
    assert.equal(intOption(fd, K.SOL_TCP, K.TCP_NODELAY), 1, "SOL_TCP is IPPROTO_TCP");
    setIntOption(fd, K.IPPROTO_IP, K.IP_TTL, 17);
    assert.equal(intOption(fd, K.SOL_IP, K.IP_TTL), 17, "SOL_IP is IPPROTO_IP");
  });
  withSocket(AF_INET6, SOCK_STREAM, 0, (fd) => {
    setIntOption(fd, K.IPPROTO_IPV6, K.IPV6_V6ONLY, 1);
    assert.equal(intOption(fd, K.SOL_IPV6, K.IPV6_V6ONLY), 1);
  });
  // SO_ERROR is 0 on a fresh socket; an unknown option is ENOPROTOOPT.
  withSocket(AF_INET, SOCK_STREAM, 0, (fd) => {
    assert.equal(intOption(fd, SOL_SOCKET, K.SO_ERROR), 0);
    expectSocketError(() => intOption(fd, SOL_SOCKET, 0x7fff), "ENOPROTOOPT", "getsockopt");
  });
});

// ---------------------------------------------------------------------------
// fcntl flags

Deno.test("F_GETFL shows O_NONBLOCK after SOCK_NONBLOCK; F_SETFL clears and sets it", () => {
  withSocket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0, (fd) => {
    const flags = fcntl(fd, F_GETFL);
    assert.equal(flags & O_NONBLOCK, O_NONBLOCK);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    assert.equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
  });
  withSocket(AF_INET, SOCK_STREAM, 0, (fd) => {
    assert.equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    assert.equal(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
  });
  // O_NONBLOCK really makes recv fail with EAGAIN (== EWOULDBLOCK).
  const sv = new Int32Array(2);
  socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
  try {
    expectSocketError(() => recv(sv[0], new Uint8Array(1)), "EAGAIN", "recv");
    expectSocketError(() => read(sv[0], new Uint8Array(1)), "EAGAIN", "read");
  } finally {
    close(sv[0]);
    close(sv[1]);
  }
});

Deno.test("F_GETFD shows FD_CLOEXEC after SOCK_CLOEXEC; F_SETFD clears it", () => {
  assert.equal(FD_CLOEXEC, 1);
  withSocket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0, (fd) => {
    assert.equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    fcntl(fd, F_SETFD, 0);
    assert.equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
  });
  withSocket(AF_INET, SOCK_DGRAM, 0, (fd) => {
    assert.equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    assert.equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  });
});

// ---------------------------------------------------------------------------
// errno values and names

Deno.test("connecting to a closed port: code 'ECONNREFUSED', errno === ECONNREFUSED", () => {
  // Hold a bound, non-listening socket so nobody else can take the port.
  withSocket(AF_INET, SOCK_STREAM, 0, (holder) => {
    bind(holder, sockaddr_in.encode({ sin_family: AF_INET, sin_addr: INADDR_LOOPBACK }));
    const name = new Uint8Array(16);
    getsockname(holder, name, new Uint32Array([16]));
    withSocket(AF_INET, SOCK_STREAM, 0, (fd) => {
      const e = expectSocketError(() => connect(fd, name), "ECONNREFUSED", "connect");
      assert.equal(e.errno, K.ECONNREFUSED);
      assert.equal(e.errno, 111);
      assert.equal(e.name, "SocketError");
      assert.match(e.message, /^connect: Connection refused \(ECONNREFUSED\)/);
    });
  });
});

Deno.test("close(bad fd) gives EBADF; errno values match their names", () => {
  // A descriptor number that is surely not open.
  const e = expectSocketError(() => close(0x7ffffff0), "EBADF", "close");
  assert.equal(e.errno, K.EBADF);
  assert.equal(K.EBADF, 9);
  for (const [name, value] of Object.entries(ERRNO)) {
    assert.equal((K as unknown as Record<string, number>)[name], value, name);
    // Aliases (EWOULDBLOCK = EAGAIN, EDEADLOCK = EDEADLK...) map to one name.
    assert.equal((ERRNO as Record<string, number>)[errnoName(value)], value);
  }
  assert.deepEqual(
    [
      K.EPERM,
      K.ENOENT,
      K.EINTR,
      K.EAGAIN,
      K.EINVAL,
      K.EPIPE,
      K.ENOTSOCK,
      K.EADDRINUSE,
      K.ECONNRESET,
      K.EINPROGRESS,
    ],
    [1, 2, 4, 11, 22, 32, 88, 98, 104, 115],
  );
  assert.equal(errnoName(111), "ECONNREFUSED");
  assert.equal(errnoName(99999), "E99999");
});

Deno.test("errno() reads this thread's errno: setErrno and a failing call agree", () => {
  setErrno(0);
  assert.equal(errno(), 0);
  assert.equal(libc().close(-1), -1);
  assert.equal(errno(), K.EBADF);
  setErrno(K.EINTR);
  assert.equal(errno(), K.EINTR);
});

Deno.test("EADDRINUSE, EINVAL, EPIPE, ENOTSOCK come back with their names", () => {
  withSocket(AF_INET, SOCK_STREAM, 0, (a) => {
    bind(a, sockaddr_in.encode({ sin_family: AF_INET, sin_addr: INADDR_LOOPBACK }));
    listen(a, 1);
    const name = new Uint8Array(16);
    getsockname(a, name, new Uint32Array([16]));
    withSocket(AF_INET, SOCK_STREAM, 0, (b) => {
      expectSocketError(() => bind(b, name), "EADDRINUSE", "bind");
      // bind with a too-short addrlen is EINVAL.
      expectSocketError(() => bind(b, name, 8), "EINVAL", "bind");
    });
  });
  const sv = new Int32Array(2);
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  close(sv[1]);
  try {
    expectSocketError(() => send(sv[0], new Uint8Array(1), 1, K.MSG_NOSIGNAL), "EPIPE", "send");
  } finally {
    close(sv[0]);
  }
  const fds = new Int32Array(2);
  pipe2(fds, K.O_CLOEXEC);
  try {
    expectSocketError(() => intOption(fds[0], SOL_SOCKET, SO_TYPE), "ENOTSOCK", "getsockopt");
    assert.equal(fcntl(fds[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC, "pipe2 honours O_CLOEXEC");
  } finally {
    close(fds[0]);
    close(fds[1]);
  }
});

// ---------------------------------------------------------------------------
// Plain value identities

Deno.test("PF_* equal AF_*; INADDR_*; SHUT_*; MSG_*; POLL* and EPOLL* agree", () => {
  assert.equal(K.PF_UNSPEC, K.AF_UNSPEC);
  assert.equal(K.PF_UNIX, K.AF_UNIX);
  assert.equal(K.PF_LOCAL, K.AF_LOCAL);
  assert.equal(K.PF_INET, K.AF_INET);
  assert.equal(K.PF_INET6, K.AF_INET6);
  assert.equal(K.PF_NETLINK, K.AF_NETLINK);
  assert.equal(K.PF_PACKET, K.AF_PACKET);
  assert.equal(K.AF_LOCAL, K.AF_UNIX);
  assert.deepEqual([K.AF_UNSPEC, K.AF_UNIX, K.AF_INET, K.AF_INET6], [0, 1, 2, 10]);

  assert.equal(K.INADDR_NONE, 0xffffffff);
  assert.equal(K.INADDR_BROADCAST, 0xffffffff);
  assert.equal(K.INADDR_ANY, 0);
  assert.equal(K.INADDR_LOOPBACK, 0x7f000001);

  assert.deepEqual([K.SHUT_RD, K.SHUT_WR, K.SHUT_RDWR], [0, 1, 2]);
  assert.equal(K.MSG_NOSIGNAL, 0x4000);
  assert.equal(K.MSG_DONTWAIT, 0x40);
  assert.equal(K.MSG_PEEK, 2);
  assert.equal(K.SOL_SOCKET, 1);
  assert.equal(K.SOL_TCP, K.IPPROTO_TCP);
  assert.equal(K.SOL_IP, K.IPPROTO_IP);
  assert.equal(K.SOL_IPV6, K.IPPROTO_IPV6);
  assert.deepEqual([K.IPPROTO_TCP, K.IPPROTO_UDP, K.IPPROTO_IPV6], [6, 17, 41]);
  assert.equal(K.POLLIN, K.EPOLLIN);
  assert.equal(K.POLLOUT, K.EPOLLOUT);
  assert.equal(K.POLLERR, K.EPOLLERR);
  assert.equal(K.POLLHUP, K.EPOLLHUP);
  assert.equal(K.POLLRDHUP, K.EPOLLRDHUP);
  assert.equal(K.EPOLL_CLOEXEC, K.O_CLOEXEC);
  assert.equal(K.EFD_NONBLOCK, O_NONBLOCK);
  assert.equal(K.INET_ADDRSTRLEN, 16);
  assert.equal(K.INET6_ADDRSTRLEN, 46);
  assert.equal(K.IF_NAMESIZE, 16);
  assert.ok(K.EAI_NONAME < 0 && K.EAI_AGAIN < 0 && K.EAI_SYSTEM < 0);
  // Every exported constant is an integer that survives a C int / unsigned int.
  for (const [name, value] of Object.entries(K)) {
    if (name === "ERRNO" || name === "LINUX_CONSTANTS" || name === "LINUX_ERRNO") continue;
    assert.ok(Number.isInteger(value), name);
    assert.ok((value as number) >= -0x80000000 && (value as number) <= 0xffffffff, name);
  }
});

Deno.test("the kernel's socket byte order matches htons/htonl (constants for ports and addresses)", () => {
  const c = libc();
  assert.equal(c.htons(0x1234), 0x3412);
  assert.equal(c.ntohs(0x3412), 0x1234);
  assert.equal(c.htonl(INADDR_LOOPBACK), 0x0100007f);
  assert.equal(c.ntohl(0x0100007f), INADDR_LOOPBACK);
  assert.equal(c.inet_addr(new TextEncoder().encode("255.255.255.255\0")), K.INADDR_NONE);
});

// ---------------------------------------------------------------------------
// u32 zero extension

Deno.test("u32 size_t arguments are zero-extended: strnlen returns the asked length across millions of calls", () => {
  // libc.ts declares read/write/send/recv/sendto/recvfrom lengths as u32 where
  // C says size_t (64 bits). That is only sound if Deno's trampolines (the
  // interpreted ones and the JIT fast-call ones) clear the upper 32 bits of
  // the register. strnlen(s, n) with no NUL in s[0..n) returns n when the
  // register holds exactly n, and the distance to the NUL when garbage upper
  // bits make n huge. Between calls, other calls leave 64-bit pointers
  // (0x00007f..) and large 64-bit integers in the same argument registers.
  const c = libc();
  const L = 4096;
  const text = new Uint8Array(L + 1).fill(0x61);
  text[L] = 0; // the only NUL: strnlen(text, n) for n < L must be n
  const a = new Uint8Array(64);
  const b = new Uint8Array(64).fill(1);
  const dst = new Uint8Array(64);
  const pton = new Uint8Array(16);
  const addr6 = new TextEncoder().encode("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\0");

  // Mostly n < L (answer n), with 0xffffffff and 2**31 (answer L) among them,
  // so the register also held all-ones low bits just before.
  const lengths = [
    0,
    1,
    7,
    0xffffffff,
    8,
    15,
    16,
    31,
    32,
    63,
    0x80000000,
    64,
    255,
    256,
    1023,
    4095,
    1000,
    4000,
    2048,
    3,
  ];
  const ROUNDS = 3_000_000;
  let checksum = 0;
  for (let i = 0; i < ROUNDS; i++) {
    // Leave 64-bit values in rdi/rsi/rdx/rcx: pointers in rdi and rsi,
    // all-ones bigints as size_t in rdx.
    switch (i & 3) {
      case 0:
        if (c.memcmp(a, b, 1n) >= 0) assert.fail("memcmp"); // rdi, rsi = pointers, rdx = 1
        break;
      case 1:
        c.bcopy(b, dst, 0n); // rsi = pointer
        break;
      case 2:
        checksum += c.inet_pton(AF_INET6, addr6, pton); // 1 each time // rsi, rdx = pointers
        break;
      case 3:
        c.memset(dst, -1, 0n); // esi = -1, which a trampoline may sign-extend to all ones
        if (c.memcmp(b, a, 0n) !== 0) assert.fail("memcmp");
        break;
    }
    const n = lengths[i % lengths.length];
    const got = c.strnlen(text, n);
    if (got !== Math.min(n, L)) assert.fail(`strnlen(text, ${n}) returned ${got} at call ${i}`);
  }
  assert.equal(checksum, ROUNDS / 4);
  assert.deepEqual(pton, new Uint8Array(16).fill(0xff));
  // Near the top of the u32 range the NUL bounds the answer.
  assert.equal(c.strnlen(text, 0xffffffff), L);
  assert.equal(c.strnlen(text, 0x80000000), L);
  assert.equal(c.strnlen(text, L), L);
  assert.equal(c.strnlen(text, L - 1), L - 1);
});

Deno.test("u32 lengths reach the kernel exactly: send/recv move exactly n bytes at many sizes", () => {
  const sv = new Int32Array(2);
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  try {
    const big = new Uint8Array(70000).map((_, i) => (i * 31 + 7) & 0xff);
    const into = new Uint8Array(70000);
    for (const n of [0, 1, 2, 3, 255, 256, 4096, 65535, 65536, 69999]) {
      let sent = 0;
      while (sent < n) sent += send(sv[0], big.subarray(sent), n - sent, K.MSG_DONTWAIT);
      let got = 0;
      while (got < n) got += recv(sv[1], into.subarray(got), n - got);
      assert.equal(got, n);
      assert.deepEqual(into.subarray(0, n), big.subarray(0, n));
      // Nothing more was sent than asked.
      expectSocketError(() => recv(sv[1], into, 1, K.MSG_DONTWAIT), "EAGAIN");
    }
  } finally {
    close(sv[0]);
    close(sv[1]);
  }
});

// ---------------------------------------------------------------------------
// The common / Linux-only split

Deno.test("constants.ts exports every name of the Linux tables, with the table's value", () => {
  const exported = K as unknown as Record<string, number>;
  for (const [name, value] of Object.entries({ ...L.LINUX_CONSTANTS, ...L.LINUX_ERRNO })) {
    assert.equal(exported[name], value, name);
  }
  assert.deepEqual(ERRNO, L.LINUX_ERRNO);
  // Linux-only names come from constants_linux.ts; the common ones do not.
  const linuxOnly = L as unknown as Record<string, number>;
  for (
    const name of ["AF_NETLINK", "SOCK_NONBLOCK", "EPOLLIN", "EFD_CLOEXEC", "TCP_CORK", "ENOKEY"]
  ) {
    assert.equal(linuxOnly[name], exported[name], name);
  }
  for (const name of ["AF_INET", "SOCK_STREAM", "SOL_SOCKET", "MSG_PEEK", "POLLIN", "EAGAIN"]) {
    assert.equal(name in L, false, name);
  }
});
