/**
 * Every C-layer call that hands the kernel a buffer plus a length or an
 * address (write, send, sendto, and bind, connect, setsockopt), given a
 * 4096-byte resizable ArrayBuffer and an argument whose getter, `valueOf`
 * or `Symbol.toPrimitive` shrinks that buffer to 8 bytes. Had the wrapper
 * measured the buffer and then run that code, libc would have read 4088
 * bytes of memory the buffer no longer owns.
 *
 * The wrappers never run caller code: scalars must be primitive numbers and
 * buffers are measured through the intrinsic TypedArray getters. So every
 * hostile call here is either refused (TypeError, nothing sent, the hook
 * never ran) or sends the buffer as it really is. What arrived is read on a
 * real peer socket: an AF_UNIX datagram socketpair for write/send, a UDP
 * socket on 127.0.0.1 for sendto.
 *
 * Run: deno test --allow-ffi tests/ffi_getter_shrink_test.ts
 */

import assert from "@assert";
import {
  AF_INET,
  AF_UNIX,
  EAGAIN,
  INADDR_LOOPBACK,
  MSG_DONTWAIT,
  SO_RCVBUF,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOL_SOCKET,
} from "../ffi/constants.ts";
import { SocketError } from "../ffi/errors.ts";
import { sockaddr_in } from "../ffi/structs.ts";
import {
  bind,
  close,
  connect,
  getsockname,
  getsockopt,
  recv,
  send,
  sendto,
  setsockopt,
  socket,
  socketpair,
  write,
} from "../ffi/syscalls.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const BIG = 4096;
const SMALL = 8;
const pattern = (i: number) => (i * 7 + 3) & 0xff;

/** A 4096-byte resizable buffer and a hook that shrinks it to 8, once. */
function shrinkable(max = BIG) {
  const rab = new ArrayBuffer(max, { maxByteLength: max });
  const all = new Uint8Array(rab);
  for (let i = 0; i < max; i++) all[i] = pattern(i);
  const state = {
    rab,
    /** Length-tracking: 8 bytes long once shrunk. */
    tracking: new Uint8Array(rab),
    /** Fixed-length: out of bounds (byteLength 0) once shrunk. */
    fixed: new Uint8Array(rab, 0, max),
    ran: false,
    shrink(): void {
      state.ran = true;
      rab.resize(SMALL);
    },
  };
  return state;
}

type Shrinkable = ReturnType<typeof shrinkable>;

/** Every datagram waiting on `fd`, by length and content. */
function drain(fd: number): Uint8Array[] {
  const got: Uint8Array[] = [];
  const buf = new Uint8Array(BIG * 2);
  for (;;) {
    try {
      const n = recv(fd, buf, buf.byteLength, MSG_DONTWAIT);
      got.push(buf.slice(0, n));
    } catch (e) {
      if (e instanceof SocketError && e.errno === EAGAIN) return got;
      throw e;
    }
  }
}

/** A sender under test: sends `buf` with the arguments a case gives. */
type Sender = {
  name: string;
  /** `n`, `flags`, `fd` and `buf` may be hostile; unset ones are honest. */
  send(args: { fd?: unknown; buf: unknown; n?: unknown; flags?: unknown }): number;
  /** The sending descriptor, for the case that wraps it. */
  fd: number;
  peer: number;
  close(): void;
};

function senders(): Sender[] {
  // One pair each for write and send, so each peer sees one sender's datagrams.
  const pairs = [new Int32Array(2), new Int32Array(2)];
  const big = new Uint8Array(new Int32Array([BIG * 4]).buffer);
  for (const sv of pairs) {
    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv);
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, big);
  }
  const [w, s] = pairs;
  const udpIn = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  bind(udpIn, sockaddr_in.encode({ sin_family: AF_INET, sin_port: 0, sin_addr: INADDR_LOOPBACK }));
  setsockopt(udpIn, SOL_SOCKET, SO_RCVBUF, big);
  const to = new Uint8Array(16);
  getsockname(udpIn, to, new Uint32Array([16]));
  const udpOut = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const done = () => {
    for (const fd of [w[0], w[1], s[0], s[1], udpIn, udpOut]) close(fd);
  };
  return [
    {
      name: "write",
      send: (a) => write((a.fd ?? w[0]) as Any, a.buf as Any, a.n as Any),
      fd: w[0],
      peer: w[1],
      close: done,
    },
    {
      name: "send",
      send: (a) => send((a.fd ?? s[0]) as Any, a.buf as Any, a.n as Any, (a.flags ?? 0) as Any),
      fd: s[0],
      peer: s[1],
      close: () => {},
    },
    {
      name: "sendto",
      send: (a) =>
        sendto((a.fd ?? udpOut) as Any, a.buf as Any, a.n as Any, (a.flags ?? 0) as Any, to),
      fd: udpOut,
      peer: udpIn,
      close: () => {},
    },
  ];
}

/** A value whose every conversion to a number shrinks the buffer first. */
const hostileNumber = (s: Shrinkable, value: number) => ({
  valueOf() {
    s.shrink();
    return value;
  },
  [Symbol.toPrimitive]() {
    s.shrink();
    return value;
  },
  toString() {
    s.shrink();
    return String(value);
  },
});

/** `buf` with own getters for every length-ish property, each shrinking first. */
function lyingView(s: Shrinkable): Uint8Array {
  const view = s.tracking;
  for (const key of ["byteLength", "length", "byteOffset", "buffer"] as const) {
    const real = key === "buffer" ? s.rab : key === "byteOffset" ? 0 : BIG;
    Object.defineProperty(view, key, {
      get() {
        s.shrink();
        return real;
      },
    });
  }
  return view;
}

type Case = {
  what: string;
  args: (s: Shrinkable, fd: number) => { fd?: unknown; buf: unknown; n?: unknown; flags?: unknown };
  /** Refused (TypeError) or sent in full (the buffer never shrank). */
  refused: boolean;
  /** Only for senders that take flags. */
  flags?: true;
};

const CASES: Case[] = [
  {
    what: "n with valueOf",
    args: (s) => ({ buf: s.tracking, n: hostileNumber(s, BIG) }),
    refused: true,
  },
  {
    what: "n with valueOf, fixed view",
    args: (s) => ({ buf: s.fixed, n: hostileNumber(s, BIG) }),
    refused: true,
  },
  {
    what: "n as a Number object",
    args: (s) => ({ buf: s.tracking, n: Object.assign(new Number(BIG), hostileNumber(s, BIG)) }),
    refused: true,
  },
  {
    // The TypeError's message names the argument's class: that must not run a getter either.
    what: "n whose constructor is a getter",
    args: (s) => ({
      buf: s.tracking,
      n: Object.defineProperty(hostileNumber(s, BIG), "constructor", {
        get() {
          s.shrink();
          return Number;
        },
      }),
    }),
    refused: true,
  },
  {
    what: "flags with valueOf",
    args: (s) => ({ buf: s.tracking, n: BIG, flags: hostileNumber(s, 0) }),
    refused: true,
    flags: true,
  },
  {
    what: "fd with valueOf",
    args: (s, fd) => ({ fd: hostileNumber(s, fd), buf: s.tracking, n: BIG }),
    refused: true,
  },
  {
    what: "a Proxy of the view whose traps shrink",
    args: (s) => ({
      buf: new Proxy(s.tracking, {
        // Not getPrototypeOf: the TypeError's message names the proxy's
        // class, and that is the one trap its building may run (after the
        // refusal, with nothing left to call).
        get(target, key) {
          s.shrink();
          const v = Reflect.get(target, key, target);
          return typeof v === "function" ? v.bind(target) : v;
        },
        has(target, key) {
          s.shrink();
          return Reflect.has(target, key);
        },
        getOwnPropertyDescriptor(target, key) {
          s.shrink();
          return Reflect.getOwnPropertyDescriptor(target, key);
        },
      }),
      n: BIG,
    }),
    refused: true,
  },
  {
    what: "own byteLength/length/byteOffset/buffer getters, n omitted",
    args: (s) => ({ buf: lyingView(s) }),
    refused: false,
  },
  { what: "own getters, n = 4096", args: (s) => ({ buf: lyingView(s), n: BIG }), refused: false },
  {
    what: "a Uint8Array subclass with shrinking getters",
    args: (s) => {
      class Sneaky extends Uint8Array {
        override get byteLength(): number {
          s.shrink();
          return BIG;
        }
        override get length(): number {
          s.shrink();
          return BIG;
        }
      }
      return { buf: new Sneaky(s.rab) };
    },
    refused: false,
  },
];

Deno.test("getter shrink: write/send/sendto never run caller code after measuring (UDP peers see what was really sent)", () => {
  const all = senders();
  try {
    for (const sender of all) {
      for (const c of CASES) {
        if (c.flags && sender.name === "write") continue;
        const label = `${sender.name}: ${c.what}`;
        const s = shrinkable();
        let error: unknown;
        let sent = -1;
        try {
          sent = sender.send(c.args(s, sender.fd));
        } catch (e) {
          error = e;
        }
        const arrived = drain(sender.peer);
        assert.equal(s.ran, false, `${label}: the wrapper ran the caller's getter/valueOf`);
        assert.equal(s.rab.byteLength, BIG, label);
        if (c.refused) {
          assert.ok(error instanceof TypeError, `${label}: expected TypeError, got ${error}`);
          assert.equal(arrived.length, 0, `${label}: a refused call sent something`);
        } else {
          assert.equal(error, undefined, `${label}: ${error}`);
          assert.equal(sent, BIG, label);
          assert.equal(arrived.length, 1, label);
          assert.equal(arrived[0].byteLength, BIG, label);
          assert.ok(arrived[0].every((b, i) => b === pattern(i)), `${label}: bytes differ`);
        }
      }
    }
  } finally {
    all[0].close();
  }
});

Deno.test("getter shrink: a buffer shrunk before the call is sent as it is now, never as it was", () => {
  const all = senders();
  try {
    for (const sender of all) {
      // Length-tracking: 8 bytes left. n omitted sends 8; n = 4096 is refused.
      let s = shrinkable();
      s.shrink();
      assert.equal(sender.send({ buf: s.tracking }), SMALL, sender.name);
      let arrived = drain(sender.peer);
      assert.deepEqual(arrived.map((d) => d.byteLength), [SMALL], sender.name);
      assert.ok(arrived[0].every((b, i) => b === pattern(i)), sender.name);
      assert.throws(() => sender.send({ buf: s.tracking, n: BIG }), RangeError, sender.name);
      assert.throws(() => sender.send({ buf: s.tracking, n: SMALL + 1 }), RangeError, sender.name);
      assert.deepEqual(drain(sender.peer), [], `${sender.name}: a refused call sent something`);
      // Fixed-length view: out of bounds once shrunk, byteLength 0.
      s = shrinkable();
      s.shrink();
      assert.throws(() => sender.send({ buf: s.fixed, n: BIG }), RangeError, sender.name);
      assert.throws(() => sender.send({ buf: s.fixed, n: 1 }), RangeError, sender.name);
      assert.equal(sender.send({ buf: s.fixed }), 0, `${sender.name}: an empty datagram`);
      arrived = drain(sender.peer);
      assert.deepEqual(arrived.map((d) => d.byteLength), [0], sender.name);
      // Detached (transferred away): byteLength 0 as well.
      const gone = new Uint8Array(BIG);
      gone.buffer.transfer();
      assert.throws(() => sender.send({ buf: gone, n: BIG }), RangeError, sender.name);
      assert.deepEqual(drain(sender.peer), [], sender.name);
    }
  } finally {
    all[0].close();
  }
});

Deno.test("getter shrink: a replaced TypedArray.prototype getter is never consulted", () => {
  const proto = Object.getPrototypeOf(Uint8Array.prototype);
  const saved = ["byteLength", "length", "byteOffset", "buffer"].map(
    (key) => [key, Object.getOwnPropertyDescriptor(proto, key)!] as const,
  );
  const all = senders();
  const s = shrinkable();
  try {
    // Installed after the module loaded: the checks captured the originals.
    for (const [key, d] of saved) {
      Object.defineProperty(proto, key, {
        configurable: true,
        get(this: unknown) {
          s.shrink();
          return Reflect.apply(d.get!, this, []);
        },
      });
    }
    const sent = all.map((sender) => sender.send({ buf: s.tracking, n: BIG }));
    const ran = s.ran;
    for (const [key, d] of saved) Object.defineProperty(proto, key, d);
    assert.equal(ran, false, "a wrapper read a length through the patched prototype");
    for (const [i, sender] of all.entries()) {
      assert.equal(sent[i], BIG, sender.name);
      const arrived = drain(sender.peer);
      assert.deepEqual(arrived.map((d) => d.byteLength), [BIG], sender.name);
    }
  } finally {
    for (const [key, d] of saved) Object.defineProperty(proto, key, d);
    all[0].close();
  }
});

Deno.test("getter shrink: bind/connect/sendto addresses and setsockopt values with hostile lengths", () => {
  const udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const peer = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  try {
    bind(peer, sockaddr_in.encode({ sin_family: AF_INET, sin_port: 0, sin_addr: INADDR_LOOPBACK }));
    const peerName = new Uint8Array(16);
    getsockname(peer, peerName, new Uint32Array([16]));
    // An address in a resizable buffer: 16 bytes now, maximum 4096.
    const address = () => {
      const s = shrinkable();
      s.rab.resize(16);
      s.tracking.set(peerName);
      return s;
    };
    const payload = new Uint8Array([1, 2, 3]);
    const calls: [string, (s: Shrinkable, len: unknown, flags?: unknown) => unknown][] = [
      ["bind", (s, len) => bind(udp, s.tracking, len as Any)],
      ["connect", (s, len) => connect(udp, s.tracking, len as Any)],
      [
        "sendto",
        (s, len, flags = 0) => sendto(udp, payload, 3, flags as Any, s.tracking, len as Any),
      ],
      ["setsockopt", (s, len) => setsockopt(udp, SOL_SOCKET, SO_RCVBUF, s.tracking, len as Any)],
    ];
    for (const [name, call] of calls) {
      // The length's valueOf would shrink the address to 8 bytes before the call.
      let s = address();
      assert.throws(() => call(s, hostileNumber(s, 16)), TypeError, name);
      assert.equal(s.ran, false, `${name}: addrlen/optlen was coerced`);
      // A shrink the caller really made is seen: 16 bytes no longer fit in 8.
      s = address();
      s.shrink();
      assert.throws(() => call(s, 16), RangeError, name);
    }
    // sendto: hostile flags while the address is in a resizable buffer.
    const s = address();
    assert.throws(() => sendto(udp, payload, 3, hostileNumber(s, 0) as Any, s.tracking), TypeError);
    assert.equal(s.ran, false);
    assert.deepEqual(drain(peer), [], "a refused sendto sent something");
    // The honest calls still work, to the same peer, from resizable buffers.
    assert.equal(sendto(udp, payload, 3, 0, address().tracking), 3);
    assert.deepEqual(drain(peer).map((d) => [...d]), [[1, 2, 3]]);
    const value = new Uint8Array(new Int32Array([BIG * 4]).buffer);
    setsockopt(udp, SOL_SOCKET, SO_RCVBUF, value);
    const out = new Uint8Array(4);
    assert.equal(getsockopt(udp, SOL_SOCKET, SO_RCVBUF, out, new Uint32Array([4])), 4);
  } finally {
    close(udp);
    close(peer);
  }
});
