/**
 * Hostile-argument fuzzing of every exported function and method.
 *
 * The exports of `mod.ts` and `ffi/mod.ts` are enumerated at run time (so a
 * new export is fuzzed without touching this file), and so are the methods
 * and getters of live instances (`Conn`, `Listener`, `DatagramConn`,
 * `SeqpacketConn`, `SeqpacketListener`, `RawSocket`, the struct layouts,
 * `libcConvert`, the reactor). Each is called with values drawn from pools
 * of hostile arguments: wrong types, NaN, ±Infinity, -1, 2**31, 2**32,
 * 2**53, -0, huge strings, detached buffers, zero-length buffers,
 * SharedArrayBuffer and resizable views, Uint16Array/DataView/ArrayBuffer
 * instead of Uint8Array, views with a redefined `byteLength`/`length` (even
 * a throwing getter), Proxies, shape-shifting option objects, closed
 * descriptors, pipes and files instead of sockets, malformed addresses and
 * Unix paths longer than `sun_path`.
 *
 * The oracle, for every call:
 * - the process stays up, and every failure is a TypeError, RangeError,
 *   SocketError or a `Deno.errors.*` (and, for `getaddrinfo*` only, the FFI
 *   layer's documented `AddrInfoError`) — never anything else;
 * - a clear-cut invalid argument (negative or too long a length, a buffer
 *   that is not a Uint8Array, a descriptor that is not open, a port out of
 *   range...) makes the call throw or reject: never a silent success;
 * - 16 guard bytes on both sides of every buffer are unchanged afterwards;
 * - an operation left pending settles once its object is closed.
 *
 * Safety of the fuzzer itself: descriptors passed to calls are only ones
 * this file created and owns (or numbers that cannot be open), never 0-2 or
 * a runtime's; sockets stay non-blocking; addresses are loopback, an
 * invalid family, or a Unix path in a temporary directory; host names are
 * numeric loopback, `localhost` (/etc/hosts) or rejected before any lookup,
 * so no DNS query leaves the machine; socket options are drawn from a list
 * that excludes device binding, congestion modules and pointer-carrying
 * structs; multicast joins use the loopback interface only.
 *
 * Deterministic: the seed is printed on failure; `FUZZ_SEED=<n>` replays it.
 *
 * Run: deno test --unstable-net --allow-ffi --allow-net --allow-read --allow-write --allow-env
 *      tests/fuzz_test.ts
 */

// deno-lint-ignore-file no-explicit-any
import assert from "@assert";
import * as mod from "../mod.ts";
import * as ffi from "../ffi/mod.ts";
// Reactor internals and struct layouts are no longer in the front door; the fuzzer still covers them.
import { reactor } from "../reactor/reactor.ts";
import type { Poller } from "../reactor/poller.ts";
import {
  type Guarded,
  guarded,
  Rng,
  type Settled,
  settleWithin,
  tcpPair,
  udpPair,
} from "./helpers.ts";

// ------------------------------------------------------------------ seeding

const DEFAULT_SEED = 0x5eed1e55;
const SEED = (() => {
  const text = Deno.env.get("FUZZ_SEED");
  if (text === undefined || text.trim() === "") return DEFAULT_SEED;
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`FUZZ_SEED must be an integer, got ${text}`);
  return n >>> 0;
})();

function subSeed(name: string): number {
  let h = SEED ^ 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Runs a fuzz test body; any failure names the seed that replays it. */
function fuzzTest(name: string, fn: (rng: Rng, stats: Stats) => Promise<void>): void {
  Deno.test(name, async () => {
    const stats = new Stats();
    const t0 = performance.now();
    try {
      await fn(new Rng(subSeed(name)), stats);
    } catch (error) {
      const replay = `FUZZ_SEED=${SEED} deno test --unstable-net --allow-ffi --allow-net ` +
        `--allow-read --allow-write --allow-env tests/fuzz_test.ts --filter ${
          JSON.stringify(name)
        }`;
      console.error(`fuzz failure with seed ${SEED}; replay with:\n  ${replay}`);
      throw new Error(
        `[seed ${SEED}] ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    const ms = performance.now() - t0;
    assert.ok(stats.calls > 0, "no calls were made");
    console.log(
      `${stats.calls} calls (${stats.threw} threw, ${stats.mustThrow} with a clear-cut invalid ` +
        `argument), ${stats.names.size} functions/methods, ${ms.toFixed(0)} ms, seed ${SEED}`,
    );
  });
}

class Stats {
  calls = 0;
  threw = 0;
  mustThrow = 0;
  names = new Set<string>();
}

// ------------------------------------------------------------------ oracle

/**
 * Error classes and helpers that build a message from their arguments, as
 * `new Error(message)` does: an argument whose own `toString` throws makes
 * them throw that, exactly like the built-in would.
 */
const MESSAGE_BUILDERS =
  /(^|\.)(SocketError|AddrInfoError|DatagramTruncatedError|StructLayout|lastError|brandSocketError)$/;

/** The only failures a call may produce. */
function allowedError(error: unknown, name: string): boolean {
  if (error instanceof TypeError || error instanceof RangeError) return true;
  if (error instanceof HostileTrap && MESSAGE_BUILDERS.test(name.replace(/^new /, ""))) {
    return true;
  }
  if (error instanceof mod.SocketError) return true;
  for (const cls of Object.values(Deno.errors)) {
    if (typeof cls === "function" && error instanceof cls) return true;
  }
  // The FFI layer's documented error for EAI_* codes, from getaddrinfo only.
  if (error instanceof ffi.AddrInfoError && /getaddrinfo/.test(name)) return true;
  return false;
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.constructor.name}: ${error.message}`;
  return `non-Error ${typeof error}: ${String(error)}`;
}

/** Thrown by hostile values' traps: must never escape a library call. */
class HostileTrap extends Error {
  override name = "HostileTrap";
}

interface Arg {
  value: unknown;
  /** Why the argument is clear-cut invalid (the call must throw), or undefined. */
  invalid?: string;
  /** Guard checks of the buffers inside the value. */
  guards?: Guarded[];
  label: string;
}

const PENDING_MS = 8;

/** Something the fuzzer started that may still be running. */
interface PendingOp {
  label: string;
  promise: Promise<unknown>;
  guards: Guarded[];
}

class Harness {
  readonly pending: PendingOp[] = [];
  /** Results that own resources (listeners, connections) to close at the end. */
  readonly opened: { close(): void }[] = [];
  constructor(readonly stats: Stats) {}

  /**
   * Calls `fn` and judges it. `name` is the function or method, `args` the
   * arguments as generated (their `invalid` reasons decide whether it must throw).
   */
  async call(name: string, args: Arg[], fn: () => unknown): Promise<Settled> {
    if (Deno.env.get("FUZZ_TRACE") && name.includes(Deno.env.get("FUZZ_TRACE")!)) {
      console.error("call", name, args.map((a) => a.label).join(", "));
    }
    const stats = this.stats;
    stats.calls++;
    stats.names.add(name);
    const invalid = args.filter((a) => a.invalid !== undefined).map((a) =>
      `${a.label}: ${a.invalid}`
    );
    if (invalid.length > 0) stats.mustThrow++;
    const what = () => `${name}(${args.map((a) => a.label).join(", ")})`;
    const guards = args.flatMap((a) => a.guards ?? []);
    let outcome: Settled;
    try {
      const result = fn();
      outcome = { state: "fulfilled", value: result };
      if (isThenable(result)) {
        const promise = Promise.resolve(result);
        outcome = await settleWithin(promise, PENDING_MS);
        if (outcome.state === "pending") {
          if (invalid.length > 0) {
            // Arguments are checked before any wait: a bad one must reject at once.
            promise.catch(() => {});
            assert.fail(`${what()} is waiting although ${invalid.join("; ")}`);
          }
          this.pending.push({ label: what(), promise, guards });
          return outcome;
        }
      }
    } catch (error) {
      outcome = { state: "rejected", reason: error };
    }
    if (outcome.state === "rejected") {
      stats.threw++;
      if (!allowedError(outcome.reason, name)) {
        assert.fail(`${what()} failed with ${describeError(outcome.reason)}`);
      }
    } else if (invalid.length > 0) {
      assert.fail(`${what()} succeeded although ${invalid.join("; ")}`);
    } else if (outcome.state === "fulfilled") {
      this.adopt(outcome.value);
    }
    for (const g of guards) g.checkGuards(what());
    return outcome;
  }

  /** After a failure: closes everything, without judging what is still pending. */
  abandon(objects: { close(): void }[]): void {
    for (const o of [...this.opened.splice(0), ...objects]) {
      try {
        o.close();
      } catch { /* best effort */ }
    }
    for (const op of this.pending.splice(0)) op.promise.catch(() => {});
  }

  /** Keeps anything closeable that a call returned, to close it later. */
  adopt(value: unknown): void {
    if (value instanceof mod.SocketHandle) this.opened.push(value);
  }

  /**
   * Closes what the calls opened and then every pending operation must
   * settle (rejecting is fine: their objects are closed), within 3 s.
   */
  async drain(objects: { close(): void }[]): Promise<void> {
    for (const o of [...this.opened, ...objects]) {
      try {
        o.close();
      } catch (error) {
        if (!allowedError(error, "close")) throw error;
      }
    }
    this.opened.length = 0;
    const ops = this.pending.splice(0);
    const results = await Promise.all(ops.map((op) => settleWithin(op.promise, 3000)));
    results.forEach((r, i) => {
      const op = ops[i];
      if (r.state === "pending") assert.fail(`${op.label} is still pending after close`);
      if (r.state === "rejected" && !allowedError(r.reason, op.label)) {
        assert.fail(`${op.label} settled with ${describeError(r.reason)}`);
      }
      if (r.state === "fulfilled") this.adopt(r.value);
      for (const g of op.guards) g.checkGuards(op.label);
    });
    for (const o of this.opened.splice(0)) {
      try {
        o.close();
      } catch { /* closed already */ }
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null &&
    typeof (value as any).then === "function";
}

// ------------------------------------------------------------------ buffers

const FILL = 0xee; // never a socket family: a buffer read as an address is invalid

type BufferKind =
  | "plain"
  | "shared"
  | "resizable"
  | "lyingByteLength"
  | "lyingLength"
  | "throwingGetter"
  | "offsetSubarray";

/** A guarded view (16 guard bytes each side) of `kind`, as an argument. */
function guardedView(n: number, kind: BufferKind, fill = FILL): Arg {
  const label = `${kind} Uint8Array(${n})`;
  const g = guarded(n, {
    fill,
    store: kind === "shared" || kind === "resizable" ? kind : "plain",
    what: label,
  });
  const view = g.view;
  if (kind === "lyingByteLength") {
    Object.defineProperty(view, "byteLength", { value: n * 8 + 4096 });
  } else if (kind === "lyingLength") {
    Object.defineProperty(view, "length", { value: n * 8 + 4096 });
  } else if (kind === "throwingGetter") {
    const trap = () => {
      throw new HostileTrap("byteLength getter called");
    };
    Object.defineProperty(view, "byteLength", { get: trap });
    Object.defineProperty(view, "length", { get: trap });
  }
  return { value: view, label, guards: [g] };
}

const SIZES = [0, 1, 2, 3, 4, 7, 8, 15, 16, 27, 28, 64, 109, 110, 128, 1024];
const BUFFER_KINDS: BufferKind[] = [
  "plain",
  "plain",
  "shared",
  "resizable",
  "lyingByteLength",
  "lyingLength",
  "throwingGetter",
];

function detachedView(): Arg {
  const ab = new ArrayBuffer(32);
  const view = new Uint8Array(ab);
  ab.transfer();
  return { value: view, label: "detached Uint8Array" };
}

/** Values that are not a Uint8Array, for a parameter that must be one. */
function notBytes(rng: Rng): Arg {
  const n = rng.pick([0, 4, 16, 128]);
  const pick = rng.int(14);
  const make = (): [unknown, string] => {
    switch (pick) {
      case 0:
        return [new Uint16Array(n), `Uint16Array(${n})`];
      case 1:
        return [new DataView(new ArrayBuffer(n)), `DataView(${n})`];
      case 2:
        return [new ArrayBuffer(n), `ArrayBuffer(${n})`];
      case 3:
        return [new SharedArrayBuffer(n), `SharedArrayBuffer(${n})`];
      case 4:
        return [new Proxy(new Uint8Array(n), {}), `Proxy(Uint8Array(${n}))`];
      case 5:
        return [Object.create(Uint8Array.prototype), "Object.create(Uint8Array.prototype)"];
      case 6:
        return [{ byteLength: 1 << 20, length: 1 << 20, buffer: new ArrayBuffer(8) }, "fake view"];
      case 7:
        return [new Int8Array(n), `Int8Array(${n})`];
      case 8:
        return [new Uint8ClampedArray(n), `Uint8ClampedArray(${n})`];
      case 9:
        return [Array.from({ length: n }, () => 0), `Array(${n})`];
      case 10:
        return ["\u00ee".repeat(n), `string(${n})`];
      case 11:
        return [new BigUint64Array(2), "BigUint64Array(2)"];
      case 12:
        return [null, "null"];
      default:
        return [n, `number ${n}`];
    }
  };
  const [value, label] = make();
  return { value, label, invalid: "not a Uint8Array" };
}

/** A Uint8Array of some kind, or (with probability `bad`) something else. */
function bytesArg(rng: Rng, bad = 0.25, sizes = SIZES): Arg {
  if (rng.chance(bad)) return notBytes(rng);
  if (rng.chance(0.06)) return detachedView();
  return guardedView(rng.pick(sizes), rng.pick(BUFFER_KINDS));
}

/** The true length of a genuine Uint8Array, through the intrinsic getter. */
const trueLength = (() => {
  const get = Object.getOwnPropertyDescriptor(
    Object.getPrototypeOf(Uint8Array.prototype),
    "byteLength",
  )!.get!;
  return (v: unknown) => Reflect.apply(get, v, []) as number;
})();

const typedArrayName = (() => {
  const get = Object.getOwnPropertyDescriptor(
    Object.getPrototypeOf(Uint8Array.prototype),
    Symbol.toStringTag,
  )!.get!;
  return (v: unknown) => Reflect.apply(get, v, []) as string | undefined;
})();

/** Whether the argument is a genuine Uint8Array (what the library accepts). */
function isBytes(arg: Arg): boolean {
  return arg.invalid === undefined && typedArrayName(arg.value) === "Uint8Array";
}

/** A length for `buffers`: sometimes right, often hostile. */
function lengthArg(rng: Rng, buffers: Arg[], required = false): Arg {
  const real = buffers.filter(isBytes).map((b) => trueLength(b.value));
  const limit = real.length ? Math.min(...real) : 0;
  const choices: [unknown, string | undefined][] = [
    [limit, undefined],
    [0, undefined],
    [-0, undefined],
    [Math.floor(limit / 2), undefined],
    [limit + 1, "longer than the buffer"],
    [limit + 4096, "longer than the buffer"],
    [-1, "negative"],
    [-(2 ** 31), "negative"],
    [2 ** 31, "longer than the buffer"],
    [2 ** 32, "longer than the buffer"],
    [2 ** 32 + 1, "longer than the buffer"],
    [2 ** 53, "longer than the buffer"],
    [NaN, "NaN"],
    [Infinity, "Infinity"],
    [-Infinity, "-Infinity"],
    [1.5, "not an integer"],
    ["4", "a string"],
    [4n, "a bigint"],
    [null, "null"],
    [undefined, required ? "missing" : undefined],
  ];
  const [value, invalid] = rng.pick(choices);
  // A length that only the lie of a redefined byteLength would allow is still invalid.
  const outOfRange = typeof value === "number" && Number.isInteger(value) && value > limit;
  return {
    value,
    label: `n=${String(value)}`,
    invalid: invalid ?? (outOfRange ? "longer than the buffer" : undefined),
  };
}

// --------------------------------------------------------- generic values

/**
 * Hostile values for a parameter of unknown role. No small non-negative
 * integer (it could name an open descriptor), no -0 (it is descriptor 0),
 * and every string is rejected before a lookup or resolves locally.
 */
function genericArg(rng: Rng): Arg {
  const pick = rng.int(30);
  const v = (value: unknown, label: string): Arg => ({ value, label });
  switch (pick) {
    case 0:
      return v(NaN, "NaN");
    case 1:
      return v(Infinity, "Infinity");
    case 2:
      return v(-Infinity, "-Infinity");
    case 3:
      return v(-1, "-1");
    case 4:
      return v(2 ** 31, "2**31");
    case 5:
      return v(2 ** 32, "2**32");
    case 6:
      return v(2 ** 53, "2**53");
    case 7:
      return v(-(2 ** 31) - 1, "-2**31-1");
    case 8:
      return v(1.5, "1.5");
    case 9:
      return v(Number.MAX_VALUE, "MAX_VALUE");
    case 10:
      return v("", "''");
    case 11:
      return v("x".repeat(1 << 20), "1 MiB string");
    case 12:
      return v("a\0b", "'a\\0b'");
    case 13:
      return v("127.0.0.1", "'127.0.0.1'");
    case 14:
      return v("localhost", "'localhost'");
    case 15:
      return v(null, "null");
    case 16:
      return v(undefined, "undefined");
    case 17:
      return v({}, "{}");
    case 18:
      return v([], "[]");
    case 19:
      return v(() => {}, "arrow fn");
    case 20:
      return v(Symbol("s"), "symbol");
    case 21:
      return v(1n, "1n");
    case 22:
      return v(true, "true");
    case 23:
      return v(
        {
          valueOf() {
            throw new HostileTrap("valueOf");
          },
          toString() {
            throw new HostileTrap("toString");
          },
        },
        "object whose valueOf/toString throw",
      );
    case 24:
      return v(shapeShifter(rng), "shape-shifting Proxy");
    case 25:
      return v(new Proxy(() => {}, {}), "Proxy(fn)");
    case 26:
      return v(Object.create(null), "null-prototype object");
    case 27:
      return v("\u{1F600}".repeat(40) + "\0", "emoji string with NUL");
    case 28:
      // A buffer or a non-buffer; of unknown role here, so never "must throw".
      return { ...bytesArg(rng, 0.5), invalid: undefined };
    default:
      return v(new Date(0), "Date");
  }
}

/**
 * An object whose every property read returns another hostile value (never
 * throwing): options read twice see different values.
 */
function shapeShifter(rng: Rng): unknown {
  const values = [
    undefined,
    null,
    NaN,
    -1,
    2 ** 32,
    "",
    "127.0.0.1",
    "\0",
    "x".repeat(300),
    "tcp",
    "unix",
    "udp",
    {},
  ];
  return new Proxy({}, {
    get: (_t, key) => key === "then" ? undefined : rng.pick(values),
    has: () => rng.chance(0.5),
  });
}

// ------------------------------------------------------------------ roles

/** Host names that never reach DNS: numeric loopback, /etc/hosts, or refused first. */
const HOSTS: [unknown, string | undefined][] = [
  ["127.0.0.1", undefined],
  ["::1", undefined],
  ["[::1]", undefined],
  ["localhost", undefined],
  ["0.0.0.0", undefined],
  ["::", undefined],
  ["::ffff:127.0.0.1", undefined],
  ["127.0.0.2", undefined],
  ["127.1", undefined], // glibc reads it as 127.0.0.1, no query
  ["fe80::1%99999", undefined],
  ["", undefined],
  ["\0", undefined],
  ["127.0.0.1\0evil", undefined],
  ["x".repeat(300), undefined],
  ["x".repeat(1 << 16), undefined],
  [42, "not a string"],
  [null, "not a string"],
  [{}, "not a string"],
  [Symbol("h"), "not a string"],
];

function hostArg(rng: Rng): Arg {
  const [value, invalid] = rng.pick(HOSTS);
  return { value, label: `host ${describeValue(value)}`, invalid };
}

function describeValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 24 ? `${v.slice(0, 20)}…` : v);
  if (typeof v === "symbol") return "symbol";
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  if (v === null || v === undefined) return String(v);
  return (v as object).constructor?.name ?? "object";
}

// ------------------------------------------------------- owned resources

const ffiLayer = ffi;
const { AF_INET, AF_INET6, AF_UNIX, SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET } = ffi;
const NONBLOCK = ffi.SOCK_NONBLOCK | ffi.SOCK_CLOEXEC;

function sockaddrIn(port: number, addr = ffi.INADDR_LOOPBACK): Uint8Array {
  return ffi.sockaddr_in.encode({ sin_family: AF_INET, sin_port: port, sin_addr: addr });
}

function sockaddrIn6(port: number): Uint8Array {
  const loop = new Uint8Array(16);
  loop[15] = 1;
  return ffi.sockaddr_in6.encode({ sin6_family: AF_INET6, sin6_port: port, sin6_addr: loop });
}

function sockaddrUn(path: string): Uint8Array {
  const bytes = new TextEncoder().encode(path);
  const out = new Uint8Array(2 + bytes.length + 1);
  out[0] = AF_UNIX;
  out.set(bytes, 2);
  return out;
}

/**
 * Descriptors this test owns for the C-faithful calls: non-blocking sockets
 * of each kind, a pipe, a regular file. A descriptor the fuzzer closes is
 * replaced at once and its number never passed again.
 */
class FdPool {
  readonly fds = new Map<number, string>();
  readonly ports: number[] = [];
  file: Deno.FsFile | undefined;
  constructor(readonly dir: string) {}

  add(fd: number, kind: string): void {
    this.fds.set(fd, kind);
  }

  fill(): void {
    const want = [
      "tcp",
      "tcp-listener",
      "udp4",
      "udp6",
      "unix-stream-pair",
      "unix-dgram-pair",
      "seqpacket",
      "pipe",
      "file",
    ];
    const have = new Set(this.fds.values());
    for (const kind of want) if (!have.has(kind)) this.open(kind);
  }

  open(kind: string): void {
    const c = ffiLayer;
    switch (kind) {
      case "tcp":
        this.add(c.socket(AF_INET, SOCK_STREAM | NONBLOCK, 0), kind);
        break;
      case "tcp-listener": {
        const fd = c.socket(AF_INET, SOCK_STREAM | NONBLOCK, 0);
        c.bind(fd, sockaddrIn(0));
        c.listen(fd, 64);
        const a = new Uint8Array(16);
        c.getsockname(fd, a, new Uint32Array([16]));
        this.ports.push(c.sockaddr_in.decode(a).sin_port as number);
        this.add(fd, kind);
        break;
      }
      case "udp4": {
        const fd = c.socket(AF_INET, SOCK_DGRAM | NONBLOCK, 0);
        c.bind(fd, sockaddrIn(0));
        const a = new Uint8Array(16);
        c.getsockname(fd, a, new Uint32Array([16]));
        this.ports.push(c.sockaddr_in.decode(a).sin_port as number);
        this.add(fd, kind);
        break;
      }
      case "udp6": {
        const fd = c.socket(AF_INET6, SOCK_DGRAM | NONBLOCK, 0);
        c.bind(fd, sockaddrIn6(0));
        this.add(fd, kind);
        break;
      }
      case "unix-stream-pair":
      case "unix-dgram-pair":
      case "seqpacket": {
        const sv = new Int32Array(2);
        const type = kind === "unix-stream-pair"
          ? SOCK_STREAM
          : kind === "seqpacket"
          ? SOCK_SEQPACKET
          : SOCK_DGRAM;
        c.socketpair(AF_UNIX, type | NONBLOCK, 0, sv);
        this.add(sv[0], kind);
        this.add(sv[1], `${kind} (peer)`);
        break;
      }
      case "pipe": {
        const fds = new Int32Array(2);
        c.pipe2(fds, c.O_NONBLOCK | c.O_CLOEXEC);
        this.add(fds[0], kind);
        this.add(fds[1], `${kind} (write end)`);
        break;
      }
      case "file": {
        if (this.file) return;
        const { fd, file } = openFileFd(`${this.dir}/fuzz-file`);
        this.file = file;
        this.add(fd, kind);
        break;
      }
    }
  }

  /** The fuzzer closed `fd` with ffi.close: forget the number, open a replacement. */
  closedByFuzzer(fd: number): void {
    const kind = this.fds.get(fd);
    if (kind === undefined) return;
    this.fds.delete(fd);
    if (kind === "file") {
      // Deno still owns its FsFile for this number: never close it again.
      this.file = undefined;
      return;
    }
    if (!kind.includes("(")) this.open(kind);
  }

  closeAll(): void {
    for (const [fd, kind] of this.fds) {
      if (kind === "file") continue;
      try {
        ffiLayer.close(fd);
      } catch { /* already closed */ }
    }
    this.fds.clear();
    try {
      this.file?.close();
    } catch { /* the fuzzer closed its number */ }
  }
}

/** Opens a file and learns its descriptor number (Deno 2 does not expose it). */
function openFileFd(path: string): { fd: number; file: Deno.FsFile } {
  const c = ffi.libc();
  let fd = 3;
  while (c.fcntl(fd, ffi.F_GETFD, 0) !== -1) fd++;
  const file = Deno.openSync(path, { read: true, write: true, create: true, truncate: true });
  const marker = new TextEncoder().encode(`marker-${fd}-${Date.now()}`);
  // The lowest free number is the one the kernel gave the file: prove it by writing through it.
  if (c.fcntl(fd, ffi.F_GETFD, 0) === -1 || ffi.write(fd, marker) !== marker.length) {
    file.close();
    throw new Error(`descriptor ${fd} is not the file just opened`);
  }
  if (Deno.readTextFileSync(path) !== new TextDecoder().decode(marker)) {
    file.close();
    throw new Error(`descriptor ${fd} is not the file just opened`);
  }
  return { fd, file };
}

/** A descriptor argument: an owned one (valid), or a number that cannot be open. */
function fdArg(rng: Rng, pool: FdPool, destructive = false): Arg {
  if (rng.chance(0.8)) {
    // Deno owns the file's descriptor too (its FsFile): never close it behind Deno's back.
    const fds = [...pool.fds.entries()].filter(([, kind]) => !destructive || kind !== "file");
    const [fd, kind] = rng.pick(fds);
    return { value: fd, label: `fd ${fd} (${kind})` };
  }
  const bad: [unknown, string][] = [
    [-1, "negative"],
    [-(2 ** 31), "negative"],
    [2 ** 31, "above 2**31-1"],
    [2 ** 32, "above 2**31-1"],
    [2 ** 53, "above 2**31-1"],
    [0x7fffffff, "not open (beyond RLIMIT_NOFILE)"],
    [1_000_000_007, "not open (beyond RLIMIT_NOFILE)"],
    [NaN, "NaN"],
    [Infinity, "Infinity"],
    [1.5, "not an integer"],
    ["3", "a string"],
    [null, "null"],
    [undefined, "missing"],
    [{}, "an object"],
    [3n, "a bigint"],
  ];
  const [value, invalid] = rng.pick(bad);
  return { value, label: `fd ${describeValue(value)}`, invalid };
}

/** A C int argument: plausible flags and values, or not an int32. */
function intArg(rng: Rng, plausible: number[] = [0, 1, 2, 3, 0x40, 0x4000]): Arg {
  if (rng.chance(0.75)) {
    const value = rng.chance(0.2) ? (rng.int(0x100000000) | 0) : rng.pick(plausible);
    return { value, label: String(value) };
  }
  const bad: [unknown, string][] = [
    [2 ** 31, "above int32"],
    [-(2 ** 31) - 1, "below int32"],
    [2 ** 32, "above int32"],
    [2 ** 53, "above int32"],
    [NaN, "NaN"],
    [Infinity, "Infinity"],
    [0.5, "not an integer"],
    ["0", "a string"],
    [null, "null"],
    [0n, "a bigint"],
  ];
  const [value, invalid] = rng.pick(bad);
  return { value, label: describeValue(value), invalid };
}

/**
 * Socket option (level, name) pairs safe to set with arbitrary bytes:
 * nothing that binds a device, loads a kernel module, carries a pointer or
 * makes the kernel route elsewhere. Plus numbers no kernel knows.
 */
const SAFE_OPTIONS: [number, number][] = [
  [ffi.SOL_SOCKET, ffi.SO_REUSEADDR],
  [ffi.SOL_SOCKET, ffi.SO_TYPE],
  [ffi.SOL_SOCKET, ffi.SO_ERROR],
  [ffi.SOL_SOCKET, ffi.SO_BROADCAST],
  [ffi.SOL_SOCKET, ffi.SO_SNDBUF],
  [ffi.SOL_SOCKET, ffi.SO_RCVBUF],
  [ffi.SOL_SOCKET, ffi.SO_KEEPALIVE],
  [ffi.SOL_SOCKET, ffi.SO_LINGER],
  [ffi.SOL_SOCKET, ffi.SO_REUSEPORT],
  [ffi.SOL_SOCKET, ffi.SO_RCVTIMEO],
  [ffi.SOL_SOCKET, ffi.SO_SNDTIMEO],
  [ffi.SOL_SOCKET, ffi.SO_ACCEPTCONN],
  [ffi.IPPROTO_TCP, ffi.TCP_NODELAY],
  [ffi.IPPROTO_TCP, ffi.TCP_MAXSEG],
  [ffi.IPPROTO_TCP, ffi.TCP_KEEPIDLE],
  [ffi.IPPROTO_TCP, ffi.TCP_INFO],
  [ffi.IPPROTO_IP, ffi.IP_TTL],
  [ffi.IPPROTO_IP, ffi.IP_TOS],
  [ffi.IPPROTO_IPV6, ffi.IPV6_V6ONLY],
  [ffi.IPPROTO_IPV6, ffi.IPV6_UNICAST_HOPS],
  [0x7ffffff0, 1],
  [ffi.SOL_SOCKET, 0x7ffffff0],
  [-1, -1],
];

/** Typed option names safe to set (no device binding, no congestion module, no IP_HDRINCL). */
const TYPED_OPTIONS = Object.keys(mod.SOCKET_OPTIONS).filter((n) =>
  !["SO_BINDTODEVICE", "TCP_CONGESTION", "IP_HDRINCL"].includes(n)
);

/**
 * Socket addresses a call may send to or bind: loopback IPv4/IPv6 at ports
 * this test owns or nobody uses, Unix paths in the test's directory, an
 * abstract name, or malformed ones (unknown family, too short, too long a
 * path). Never a routable address.
 */
function addrArg(rng: Rng, ports: number[], dir: string): Arg {
  const port = rng.chance(0.5) && ports.length ? rng.pick(ports) : rng.pick([0, 9]);
  const pick = rng.int(11);
  let bytes: Uint8Array;
  let label: string;
  switch (pick) {
    case 0:
      bytes = sockaddrIn(port);
      label = `127.0.0.1:${port}`;
      break;
    case 1:
      bytes = sockaddrIn6(port);
      label = `[::1]:${port}`;
      break;
    case 2:
      bytes = sockaddrUn(`${dir}/peer-${rng.int(4)}.sock`);
      label = "unix path";
      break;
    case 3:
      bytes = sockaddrUn(`\0bsd-fuzz-${Deno.pid}-${rng.int(4)}`);
      bytes[2] = 0;
      label = "abstract";
      break;
    case 4:
      bytes = sockaddrIn(port);
      bytes[0] = 0xee;
      bytes[1] = 0xee;
      label = "unknown family";
      break;
    case 5:
      bytes = sockaddrIn(port).subarray(0, rng.int(8));
      label = "truncated sockaddr_in";
      break;
    case 6: {
      bytes = new Uint8Array(300).fill(0x61);
      bytes[0] = AF_UNIX;
      bytes[1] = 0;
      label = "sockaddr_un longer than sun_path";
      break;
    }
    case 7:
      bytes = sockaddrIn(port, 0); // 0.0.0.0: this host
      label = `0.0.0.0:${port}`;
      break;
    case 8:
      bytes = new Uint8Array(16); // AF_UNSPEC
      label = "AF_UNSPEC";
      break;
    case 9:
      return notBytes(rng);
    default:
      return { value: new Uint8Array(0), label: "empty sockaddr" };
  }
  // Copy it into a guarded view.
  const g = guardedView(bytes.length, rng.pick(["plain", "shared", "lyingByteLength"]), 0);
  (g.value as Uint8Array).set(bytes);
  g.label = label;
  return g;
}

function cellArg(rng: Rng, buffer: Arg): Arg {
  if (buffer.value === null) {
    return rng.pick<Arg>([
      { value: null, label: "null" },
      {
        value: new Uint32Array([16]),
        label: "cell without a buffer",
        invalid: "a cell beside a null buffer",
      },
    ]);
  }
  const cap = isBytes(buffer) ? trueLength(buffer.value) : 0;
  const choices: [unknown, string, string | undefined][] = [
    [new Uint32Array([cap]), `cell[${cap}]`, undefined],
    [new Uint32Array([0]), "cell[0]", undefined],
    [new Uint32Array([Math.floor(cap / 2)]), "cell[cap/2]", undefined],
    [new Uint32Array([cap + 1]), "cell[cap+1]", "capacity above the buffer"],
    [new Uint32Array([0xffffffff]), "cell[2**32-1]", "capacity above the buffer"],
    [new Uint32Array(0), "Uint32Array(0)", "an empty cell"],
    [new Int32Array([cap]), "Int32Array cell", "not a Uint32Array"],
    [new Uint8Array(4), "Uint8Array cell", "not a Uint32Array"],
    [[cap], "Array cell", "not a Uint32Array"],
    [null, "null", "null beside a buffer"],
    [new Uint32Array(new SharedArrayBuffer(4)).fill(cap), "shared cell", undefined],
  ];
  const lying = new Uint32Array([cap]);
  Object.defineProperty(lying, "length", { value: 0 });
  choices.push([lying, "cell with length 0 (lie)", undefined]);
  const [value, label, invalid] = rng.pick(choices);
  return { value, label, invalid };
}

function portArg(rng: Rng, ports: number[]): Arg {
  const choices: [unknown, string | undefined][] = [
    [0, undefined],
    [9, undefined],
    [ports.length ? rng.pick(ports) : 0, undefined],
    [-1, "out of range"],
    [65536, "out of range"],
    [2 ** 32, "out of range"],
    [NaN, "NaN"],
    [1.5, "not an integer"],
    ["80", "a string"],
    [null, "null"],
    [Infinity, "Infinity"],
  ];
  const [value, invalid] = rng.pick(choices);
  return { value, label: `port ${describeValue(value)}`, invalid };
}

/**
 * A port option of listen/connect/listenDatagram/connectDatagram, valid as
 * Deno's are: a number or a numeric string; a server may omit it (0), a
 * client must name one of 1..65535.
 */
function optionPortArg(rng: Rng, ports: number[], isServer: boolean): Arg {
  const choices: [unknown, string | undefined][] = [
    [0, isServer ? undefined : "port 0 for a client"],
    [9, undefined],
    ["9", undefined],
    [ports.length ? rng.pick(ports) : 9, undefined],
    [null, isServer ? undefined : "no port for a client"],
    ["", "an empty string"],
    ["x", "not numeric"],
    [-1, "out of range"],
    [65536, "out of range"],
    [2 ** 32, "out of range"],
    [NaN, "NaN"],
    [1.5, "not an integer"],
    [Infinity, "Infinity"],
    [{}, "not a number or string"],
  ];
  const [value, invalid] = rng.pick(choices);
  return { value, label: `port ${describeValue(value)}`, invalid };
}

function pathArg(rng: Rng, dir: string): Arg {
  const choices: [unknown, string | undefined][] = [
    [`${dir}/p${rng.int(4)}.sock`, undefined],
    [`${dir}/missing-dir/x.sock`, undefined],
    [`\0bsd-fuzz-${Deno.pid}-${rng.int(3)}`, undefined],
    ["\0", undefined],
    [`${dir}/${"p".repeat(120)}`, "longer than sun_path"],
    ["\0" + "a".repeat(108), "longer than sun_path"],
    [`${dir}/a\0b`, "NUL inside a file path"],
    ["", "empty"],
    [42, "not a string"],
    [null, "not a string"],
    [{}, "not a string"],
  ];
  const [value, invalid] = rng.pick(choices);
  return { value, label: `path ${describeValue(value)}`, invalid };
}

// ------------------------------------------------------------ the exports

/** Every function-valued export and every function member of an exported object. */
function enumerateExports(): { name: string; fn: (...args: any[]) => any; owner?: object }[] {
  const out: { name: string; fn: (...args: any[]) => any; owner?: object }[] = [];
  const seen = new Set<unknown>();
  for (const [label, ns] of [["mod", mod], ["ffi", ffi]] as const) {
    for (const [key, value] of Object.entries(ns)) {
      if (typeof value === "function") {
        if (seen.has(value)) continue;
        seen.add(value);
        out.push({ name: `${label}.${key}`, fn: value as any });
      } else if (typeof value === "object" && value !== null && key !== "LINUX_SYMBOLS") {
        for (const [mname, m] of methodsOf(value)) {
          if (seen.has(`${key}.${mname}`)) continue;
          seen.add(`${key}.${mname}`);
          out.push({ name: `${label}.${key}.${mname}`, fn: m, owner: value });
        }
      }
    }
  }
  return out;
}

/**
 * TypeScript-`protected` helpers, documented `@internal`: reachable from
 * JavaScript, but their callers check the arguments (they take sizes the
 * caller measured). They are not part of the API, so they are not fuzzed.
 */
const INTERNAL_METHODS = new Set([
  "openFd",
  "receiveMessage",
  "sendMessage",
  "finishReceive",
  "sendError",
  "sourceHost",
  "sourceAddress",
  "describeAddress",
  "endOfMessages",
  "pendingClosedError",
  "acceptNext",
]);

/** Methods (own and inherited, symbols included) of an object, bound to nothing. */
function methodsOf(obj: object): [string, (...args: any[]) => any][] {
  const out: [string, (...args: any[]) => any][] = [];
  const names = new Set<PropertyKey>();
  for (
    let p: object | null = obj;
    // JavaScript's own Object and Array methods are not this module's API.
    p !== null && p !== Object.prototype && p !== Array.prototype;
    p = Object.getPrototypeOf(p)
  ) {
    for (const key of Reflect.ownKeys(p)) {
      if (key === "constructor" || names.has(key) || INTERNAL_METHODS.has(String(key))) continue;
      const d = Object.getOwnPropertyDescriptor(p, key)!;
      names.add(key);
      if (typeof d.value === "function") out.push([String(key), d.value]);
    }
  }
  return out;
}

/** Getters (own and inherited) of an object. */
function gettersOf(obj: object): [string, () => unknown][] {
  const out: [string, () => unknown][] = [];
  const names = new Set<PropertyKey>();
  for (
    let p: object | null = obj;
    p !== null && p !== Object.prototype;
    p = Object.getPrototypeOf(p)
  ) {
    for (const key of Reflect.ownKeys(p)) {
      if (names.has(key)) continue;
      names.add(key);
      const d = Object.getOwnPropertyDescriptor(p, key)!;
      if (d.get) out.push([String(key), d.get]);
    }
  }
  return out;
}

function isClass(fn: unknown): boolean {
  return typeof fn === "function" && /^class[\s{]/.test(Function.prototype.toString.call(fn));
}

// ---------------------------------------- per-function argument generators

interface Ctx {
  rng: Rng;
  pool: FdPool;
  dir: string;
  h: Harness;
}

type Gen = (ctx: Ctx) => Arg[];

const b = (ctx: Ctx, bad = 0.25) => bytesArg(ctx.rng, bad);
const fd = (ctx: Ctx) => fdArg(ctx.rng, ctx.pool);
const int = (ctx: Ctx, plausible?: number[]) => intArg(ctx.rng, plausible);
const flagsMsg = (ctx: Ctx) =>
  int(ctx, [0, ffi.MSG_DONTWAIT, ffi.MSG_PEEK, ffi.MSG_TRUNC, ffi.MSG_WAITALL, ffi.MSG_NOSIGNAL]);
const opt = (ctx: Ctx): [Arg, Arg] => {
  const { rng } = ctx;
  if (rng.chance(0.85)) {
    const [level, name] = rng.pick(SAFE_OPTIONS);
    return [{ value: level, label: `level ${level}` }, { value: name, label: `name ${name}` }];
  }
  const bad = intArg(rng, [ffi.SOL_SOCKET]);
  if (bad.invalid === undefined) bad.value = 2 ** 31, bad.invalid = "above int32";
  const safe = { value: rng.pick([ffi.SOL_SOCKET, ffi.SO_TYPE]), label: "SOL_SOCKET/SO_TYPE" };
  return rng.chance(0.5) ? [bad, safe] : [safe, bad];
};
const withLen = (ctx: Ctx, buf: Arg, required = false): Arg => lengthArg(ctx.rng, [buf], required);

/** fcntl: only the four commands the wrapper allows, and O_NONBLOCK always kept. */
function fcntlArgs(ctx: Ctx): Arg[] {
  const { rng } = ctx;
  const cmds: [unknown, string | undefined][] = [
    [ffi.F_GETFL, undefined],
    [ffi.F_SETFL, undefined],
    [ffi.F_GETFD, undefined],
    [ffi.F_SETFD, undefined],
    [0, /* F_DUPFD */ "a command the wrapper refuses"],
    [1030, /* F_DUPFD_CLOEXEC */ "a command the wrapper refuses"],
    [8, /* F_SETOWN */ "a command the wrapper refuses"],
    [NaN, "NaN"],
    ["3", "a string"],
  ];
  const [cmd, invalid] = rng.pick(cmds);
  let arg: Arg;
  if (cmd === ffi.F_SETFL) {
    // Always keep O_NONBLOCK: a blocking descriptor would let read/accept hang the test.
    arg = rng.pick<Arg>([
      { value: ffi.O_NONBLOCK, label: "O_NONBLOCK" },
      { value: NaN, label: "NaN", invalid: "NaN" },
      { value: 2 ** 31, label: "2**31", invalid: "above int32" },
    ]);
  } else if (cmd === ffi.F_SETFD) {
    arg = { value: rng.pick([0, ffi.FD_CLOEXEC]), label: "FD_CLOEXEC?" };
  } else {
    arg = rng.chance(0.7) ? { value: 0, label: "0" } : { value: undefined, label: "default" };
  }
  return [fd(ctx), { value: cmd, label: `cmd ${describeValue(cmd)}`, invalid }, arg];
}

/** Argument generators for the C-faithful functions, by name in ffi/mod.ts. */
const FFI_GENERATORS: Record<string, Gen> = {
  socket: (ctx) => [
    int(ctx, [AF_INET, AF_INET6, AF_UNIX, 0, 9999]),
    int(ctx, [SOCK_STREAM | NONBLOCK, SOCK_DGRAM | NONBLOCK, SOCK_SEQPACKET | NONBLOCK, 0, 77]),
    int(ctx, [0, 6, 17, 255]),
  ],
  socketpair: (ctx) => {
    const sv = ctx.rng.pick<[unknown, string, string | undefined]>([
      [new Int32Array(2), "Int32Array(2)", undefined],
      [new Int32Array(1), "Int32Array(1)", "too short"],
      [
        (() => {
          const a = new Int32Array(1);
          Object.defineProperty(a, "length", { value: 2 });
          return a;
        })(),
        "Int32Array(1) with length 2 (lie)",
        "too short",
      ],
      [new Uint32Array(2), "Uint32Array(2)", "not an Int32Array"],
      [[0, 0], "Array", "not an Int32Array"],
      [null, "null", "not an Int32Array"],
    ]);
    return [
      int(ctx, [AF_UNIX, AF_INET]),
      int(ctx, [SOCK_STREAM | NONBLOCK, SOCK_DGRAM | NONBLOCK]),
      int(ctx, [0]),
      { value: sv[0], label: sv[1], invalid: sv[2] },
    ];
  },
  pipe2: (ctx) => {
    const [a] = FFI_GENERATORS.socketpair(ctx).slice(3);
    return [a, int(ctx, [ffi.O_NONBLOCK | ffi.O_CLOEXEC, 0x7fffffff])];
  },
  bind: (ctx) => {
    const a = addrArg(ctx.rng, [0], ctx.dir);
    return [fd(ctx), a, withLen(ctx, a)];
  },
  connect: (ctx) => {
    const a = addrArg(ctx.rng, ctx.pool.ports, ctx.dir);
    return [fd(ctx), a, withLen(ctx, a)];
  },
  listen: (ctx) => [fd(ctx), int(ctx, [0, 1, 128, -1, 0x7fffffff])],
  accept: (ctx) => {
    if (ctx.rng.chance(0.3)) return [fd(ctx)];
    const a = bytesArg(ctx.rng, 0.15);
    return [fd(ctx), a, cellArg(ctx.rng, a)];
  },
  accept4: (ctx) => {
    const a = ctx.rng.chance(0.3) ? { value: null, label: "null" } : bytesArg(ctx.rng, 0.15);
    return [fd(ctx), a, cellArg(ctx.rng, a), int(ctx, [NONBLOCK, 0, 0x7fffffff])];
  },
  read: (ctx) => {
    const a = b(ctx);
    return [fd(ctx), a, withLen(ctx, a)];
  },
  write: (ctx) => {
    const a = b(ctx);
    return [fd(ctx), a, withLen(ctx, a)];
  },
  send: (ctx) => {
    const a = b(ctx);
    return [fd(ctx), a, withLen(ctx, a), flagsMsg(ctx)];
  },
  recv: (ctx) => {
    const a = b(ctx);
    return [fd(ctx), a, withLen(ctx, a), flagsMsg(ctx)];
  },
  sendto: (ctx) => {
    const a = b(ctx);
    const to = ctx.rng.chance(0.2)
      ? { value: null, label: "null" }
      : addrArg(ctx.rng, ctx.pool.ports, ctx.dir);
    const toLen = to.value === null
      ? ctx.rng.pick<Arg>([{ value: undefined, label: "default" }, { value: 0, label: "0" }, {
        value: 16,
        label: "16",
        invalid: "addrlen without addr",
      }])
      : withLen(ctx, to);
    return [fd(ctx), a, withLen(ctx, a), flagsMsg(ctx), to, toLen];
  },
  recvfrom: (ctx) => {
    const a = b(ctx);
    const from = ctx.rng.chance(0.3) ? { value: null, label: "null" } : bytesArg(ctx.rng, 0.15);
    return [fd(ctx), a, withLen(ctx, a), flagsMsg(ctx), from, cellArg(ctx.rng, from)];
  },
  close: (ctx) => [fdArg(ctx.rng, ctx.pool, true)],
  shutdown: (ctx) => [fd(ctx), int(ctx, [ffi.SHUT_RD, ffi.SHUT_WR, ffi.SHUT_RDWR, 7])],
  setsockopt: (ctx) => {
    const [l, n] = opt(ctx);
    const v = bytesArg(ctx.rng, 0.2, [0, 1, 4, 8, 16]);
    return [fd(ctx), l, n, v, withLen(ctx, v)];
  },
  getsockopt: (ctx) => {
    const [l, n] = opt(ctx);
    const v = bytesArg(ctx.rng, 0.2, [0, 1, 4, 8, 16, 256]);
    return [fd(ctx), l, n, v, cellArg(ctx.rng, v)];
  },
  getsockname: (ctx) => {
    const a = bytesArg(ctx.rng, 0.2);
    return [fd(ctx), a, cellArg(ctx.rng, a)];
  },
  getpeername: (ctx) => FFI_GENERATORS.getsockname(ctx),
  fcntl: fcntlArgs,
  poll: (ctx) => pollArgs(ctx),
  pollAsync: (ctx) => pollArgs(ctx),
  bzero: (ctx) => {
    const a = b(ctx);
    return [a, withLen(ctx, a, true)];
  },
  memset: (ctx) => {
    const a = b(ctx);
    return [a, int(ctx, [0, 0x41, -1, 0x1ff]), withLen(ctx, a, true)];
  },
  bcopy: (ctx) => twoBuffers(ctx),
  bcmp: (ctx) => twoBuffers(ctx),
  memcpy: (ctx) => twoBuffers(ctx),
  memmove: (ctx) => twoBuffers(ctx),
  memcmp: (ctx) => twoBuffers(ctx),
  getaddrinfo: (ctx) => gaiArgs(ctx),
  getaddrinfoSync: (ctx) => gaiArgs(ctx),
  if_nametoindex: (ctx) => [
    ctx.rng.pick<Arg>([
      { value: "lo", label: "lo" },
      { value: "", label: "''" },
      { value: "x".repeat(16), label: "16 chars", invalid: "longer than IF_NAMESIZE" },
      { value: "l\0o", label: "NUL", invalid: "NUL inside" },
      { value: 1, label: "1", invalid: "not a string" },
    ]),
  ],
};

/** Argument generators for the ergonomic layer, by name in mod.ts. */
const MOD_GENERATORS: Record<string, Gen> = {
  listen: (ctx) => [optionsArg(ctx, "listen")],
  connect: (ctx) => [optionsArg(ctx, "connect")],
  listenDatagram: (ctx) => [optionsArg(ctx, "listenDatagram")],
  connectDatagram: (ctx) => [optionsArg(ctx, "connectDatagram")],
  listenSeqpacket: (ctx) => [optionsArg(ctx, "listenSeqpacket")],
  connectSeqpacket: (ctx) => [optionsArg(ctx, "connectSeqpacket")],
  openRawSocket: (ctx) => [optionsArg(ctx, "openRawSocket")],
  getSocketOption: (ctx) => [fd(ctx), optionName(ctx, false)],
  setSocketOption: (ctx) => {
    const name = optionName(ctx, true);
    return [fd(ctx), name, optionValue(ctx)];
  },
  getSocketOptionRaw: (ctx) => {
    const [l, n] = opt(ctx);
    return [fd(ctx), l, n, rawSize(ctx)];
  },
  setSocketOptionRaw: (ctx) => {
    const [l, n] = opt(ctx);
    return [fd(ctx), l, n, bytesArg(ctx.rng, 0.2, [0, 1, 4, 8, 16])];
  },
  setPoller: (ctx) => [
    ctx.rng.pick<Arg>([
      { value: reactor().backend, label: "the running backend" },
      { value: "auto", label: "auto" },
      { value: "kqueue", label: "kqueue", invalid: "unknown backend" },
      { value: 1, label: "1", invalid: "not a backend" },
      {
        value: reactor().backend === "epoll" ? "poll" : "epoll",
        label: "the other backend",
        invalid: "the reactor already runs",
      },
    ]),
  ],
};

function optionName(ctx: Ctx, forSetting: boolean): Arg {
  const { rng } = ctx;
  const names = forSetting ? TYPED_OPTIONS : Object.keys(mod.SOCKET_OPTIONS);
  if (rng.chance(0.8)) {
    const name = rng.pick(names);
    return { value: name, label: name };
  }
  const bad = rng.pick<unknown>(["SO_NOPE", "__proto__", "constructor", "toString", 7, null]);
  return { value: bad, label: describeValue(bad), invalid: "unknown option" };
}

function optionValue(ctx: Ctx): Arg {
  const { rng } = ctx;
  if (rng.chance(0.6)) {
    const value = rng.pick<unknown>([
      true,
      false,
      0,
      1,
      4096,
      2 ** 31,
      -1,
      { enabled: true, seconds: 1 },
      { enabled: "yes", seconds: -1 },
      "127.0.0.1",
      1500.5,
    ]);
    return { value, label: `value ${describeValue(value)}` };
  }
  return genericArg(rng);
}

function rawSize(ctx: Ctx): Arg {
  const sizes: [unknown, string | undefined][] = [
    [undefined, undefined],
    [0, undefined],
    [4, undefined],
    [65536, undefined],
    [65537, "above 65536"],
    [-1, "negative"],
    [NaN, "NaN"],
    ["4", "a string"],
  ];
  const [size, invalid] = ctx.rng.pick(sizes);
  return { value: size, label: `size ${describeValue(size)}`, invalid };
}

function boolOption(rng: Rng): [unknown, string | undefined] {
  return rng.pick<[unknown, string | undefined]>([
    [undefined, undefined],
    [true, undefined],
    [false, undefined],
    ["yes", "not a boolean"],
    [1, "not a boolean"],
  ]);
}

/**
 * An options object for a net-layer entry point, field by field from the
 * role pools; `invalid` names the clear-cut problems the call must reject.
 */
function optionsArg(ctx: Ctx, fn: string): Arg {
  const { rng, dir } = ctx;
  const ports = ctx.pool.ports.concat(livePorts);
  if (rng.chance(0.08)) {
    const v = rng.pick<unknown>([null, undefined, 42, "127.0.0.1", true]);
    return { value: v, label: `options ${describeValue(v)}`, invalid: "not an object" };
  }
  if (rng.chance(0.06)) return { value: shapeShifter(rng), label: "shape-shifting options" };
  const o: Record<string, unknown> = {};
  const problems: string[] = [];
  const field = (key: string, arg: Arg, mandatory = false) => {
    if (!mandatory && rng.chance(0.25)) return; // omitted
    o[key] = arg.value;
    if (arg.invalid) problems.push(`${key}: ${arg.invalid}`);
  };
  const transports: Record<string, unknown[]> = {
    listen: [undefined, "tcp", "unix", "udp", "sctp"],
    connect: [undefined, "tcp", "unix", "udp", 1],
    listenDatagram: ["udp", "unixgram", "unixpacket", "tcp", undefined],
    connectDatagram: ["udp", "unixgram", "unixpacket", "unix"],
  };
  const transport = transports[fn] ? rng.pick(transports[fn]) : undefined;
  if (transports[fn]) o.transport = transport;
  const tcpLike = transport === undefined || transport === "tcp";
  const badTransport = (fn === "listen" || fn === "connect")
    ? !(tcpLike || transport === "unix")
    : !(transport === "udp" || transport === "unixgram" || transport === "unixpacket");
  if (transports[fn] && badTransport) problems.push(`transport ${String(transport)}`);
  // As in Deno, a null or undefined hostname in options means the default.
  const host = () => {
    const h = hostArg(rng);
    return h.value === null ? { ...h, invalid: undefined } : h;
  };
  const port = (forListen: boolean) => {
    const p = optionPortArg(rng, forListen ? [] : ports, forListen);
    // Binding: a free port or an invalid value only (a fixed port could be somebody's).
    if (!forListen || p.invalid !== undefined) return p;
    return rng.pick<Arg>([
      { value: 0, label: "port 0" },
      { value: "0", label: 'port "0"' },
      { value: undefined, label: "port omitted" },
    ]);
  };
  const backlog = (): Arg =>
    rng.pick<Arg>([
      { value: 0, label: "0" },
      { value: 16, label: "16" },
      { value: -1, label: "-1", invalid: "negative" },
      { value: 2 ** 31, label: "2**31", invalid: "above int32" },
      { value: NaN, label: "NaN", invalid: "NaN" },
    ]);
  switch (fn) {
    case "listen":
      if (transport === "unix") {
        field("path", pathArg(rng, dir), true);
        field("backlog", backlog());
      } else {
        field("hostname", host());
        field("port", port(true), true);
        field("backlog", backlog());
        const [reusePort] = boolOption(rng);
        if (typeof reusePort === "boolean") o.reusePort = reusePort;
      }
      break;
    case "connect": {
      if (transport === "unix") field("path", pathArg(rng, dir), true);
      else {
        field("hostname", host());
        field("port", port(false), true);
      }
      const timeout = rng.pick<Arg>([
        { value: 0, label: "0" },
        { value: 1, label: "1" },
        { value: 200, label: "200" },
        { value: -1, label: "-1", invalid: "negative" },
        { value: NaN, label: "NaN", invalid: "NaN" },
        { value: "5", label: "'5'", invalid: "a string" },
      ]);
      field("timeout", timeout);
      const aborted = new AbortController();
      aborted.abort(new Deno.errors.Interrupted("aborted by the fuzzer"));
      field(
        "signal",
        rng.pick<Arg>([
          { value: new AbortController().signal, label: "fresh signal" },
          { value: aborted.signal, label: "aborted signal" },
          { value: {}, label: "{}", invalid: "not an AbortSignal" },
        ]),
      );
      break;
    }
    case "listenDatagram":
      if (transport === "udp") {
        field("hostname", host());
        field("port", port(true), true);
        for (const flag of ["reuseAddress", "reusePort", "broadcast", "loopback", "ipv6Only"]) {
          const [v, invalid] = boolOption(rng);
          if (v !== undefined) field(flag, { value: v, label: String(v), invalid }, true);
        }
      } else if (rng.chance(0.7)) field("path", pathArg(rng, dir), true);
      break;
    case "connectDatagram":
      if (transport === "udp") {
        field("hostname", host());
        field("port", port(false), true);
        field("localHostname", host());
        field("localPort", port(true));
      } else {
        field("path", pathArg(rng, dir), true);
        if (rng.chance(0.5)) field("localPath", pathArg(rng, dir), true);
      }
      break;
    case "listenSeqpacket":
      field("path", pathArg(rng, dir), true);
      field("backlog", backlog());
      break;
    case "connectSeqpacket":
      field("path", pathArg(rng, dir), true);
      break;
    case "openRawSocket": {
      const family = rng.pick<Arg>([
        { value: undefined, label: "default" },
        { value: "ipv4", label: "ipv4" },
        { value: "ipv6", label: "ipv6" },
        { value: "ipx", label: "ipx", invalid: "unknown family" },
      ]);
      field("family", family, true);
      field(
        "protocol",
        rng.pick<Arg>([
          { value: ffi.IPPROTO_ICMP, label: "ICMP" },
          { value: ffi.IPPROTO_ICMPV6, label: "ICMPv6" },
          { value: 253, label: "253 (experimental)" },
          { value: 256, label: "256", invalid: "above 255" },
          { value: -1, label: "-1", invalid: "negative" },
          { value: NaN, label: "NaN", invalid: "NaN" },
          { value: undefined, label: "missing", invalid: "missing" },
        ]),
        true,
      );
      field(
        "mode",
        rng.pick<Arg>([
          { value: undefined, label: "default" },
          { value: "raw", label: "raw" },
          { value: "dgram", label: "dgram" },
          { value: "auto", label: "auto" },
          { value: "packet", label: "packet", invalid: "unknown mode" },
        ]),
      );
      const h = rng.pick<Arg>([
        { value: undefined, label: "none" },
        { value: "127.0.0.1", label: "127.0.0.1" },
        { value: "::1", label: "::1" },
        { value: 42, label: "42", invalid: "not a string" },
      ]);
      field("hostname", h);
      break;
    }
  }
  return {
    value: o,
    label: `${fn} options ${
      JSON.stringify(
        o,
        (_k, v) => typeof v === "string" && v.length > 24 ? v.slice(0, 20) + "…" : v,
      )
    }`,
    invalid: problems.length ? problems.join(", ") : undefined,
  };
}

function twoBuffers(ctx: Ctx): Arg[] {
  const x = b(ctx, 0.15), y = b(ctx, 0.15);
  return [x, y, lengthArg(ctx.rng, [x, y], true)];
}

function pollArgs(ctx: Ctx): Arg[] {
  const { rng } = ctx;
  // pollfd entries for owned descriptors only (or -1, which poll ignores).
  const count = rng.int(4);
  const g = guardedView(count * 8, rng.pick(["plain", "shared", "lyingByteLength"]), 0);
  const view = g.value as Uint8Array;
  const fds = [...ctx.pool.fds.keys()];
  for (let i = 0; i < count; i++) {
    const entry = ffi.pollfd.encode({
      fd: rng.chance(0.8) ? rng.pick(fds) : -1,
      events: rng.pick([ffi.POLLIN, ffi.POLLOUT, ffi.POLLIN | ffi.POLLOUT, 0x7fff]),
      revents: 0,
    });
    view.set(entry, i * 8);
  }
  const set: Arg = rng.chance(0.2) ? notBytes(rng) : g;
  const nfds: [unknown, string | undefined][] = [
    [count, undefined],
    [0, undefined],
    [count + 1, "more entries than fds holds"],
    [2 ** 32, "more entries than fds holds"],
    [-1, "negative"],
    [NaN, "NaN"],
    [undefined, "missing"],
    [1.5, "not an integer"],
  ];
  const [n, nInvalid] = rng.pick(nfds);
  // Never a long or infinite timeout: poll would block the test.
  const timeouts: [unknown, string | undefined][] = [
    [0, undefined],
    [1, undefined],
    [2 ** 31, "above int32"],
    [NaN, "NaN"],
    [0.5, "not an integer"],
    ["1", "a string"],
  ];
  const [t, tInvalid] = rng.pick(timeouts);
  return [set, { value: n, label: `nfds ${describeValue(n)}`, invalid: nInvalid }, {
    value: t,
    label: `timeout ${describeValue(t)}`,
    invalid: tInvalid,
  }];
}

function gaiArgs(ctx: Ctx): Arg[] {
  const { rng } = ctx;
  const nodes: [unknown, string | undefined][] = [
    ["localhost", undefined],
    ["127.0.0.1", undefined],
    ["::1", undefined],
    [null, undefined],
    ["a\0b", "NUL inside"],
    ["x".repeat(2000), "longer than 1024 bytes"],
    [42, "not a string"],
  ];
  const services: [unknown, string | undefined][] = [
    ["80", undefined],
    ["http", undefined],
    [null, undefined],
    ["\0", "NUL inside"],
    [{}, "not a string"],
  ];
  const [node, nodeInvalid] = rng.pick(nodes);
  const [service, serviceInvalid] = rng.pick(services);
  const both = node === null && service === null ? "node and service both null" : undefined;
  const hints: [unknown, string | undefined][] = [
    [undefined, undefined],
    [{}, undefined],
    [{ family: AF_INET, socktype: SOCK_STREAM }, undefined],
    [{ family: NaN }, "hints.family NaN"],
    [{ flags: 2 ** 40 }, "hints.flags above int32"],
    [null, "hints null"],
    [shapeShifter(rng), undefined],
  ];
  const [hint, hintInvalid] = rng.pick(hints);
  return [
    { value: node, label: `node ${describeValue(node)}`, invalid: nodeInvalid ?? both },
    { value: service, label: `service ${describeValue(service)}`, invalid: serviceInvalid },
    { value: hint, label: `hints ${describeValue(hint)}`, invalid: hintInvalid },
  ];
}

/** Functions whose every argument is judged only by the oracle (no role known). */
function genericArgs(ctx: Ctx, arity: number): Arg[] {
  const n = Math.max(0, Math.min(6, arity + ctx.rng.int(3) - 1));
  return Array.from({ length: n }, () => genericArg(ctx.rng));
}

/** Things the fuzzer creates that it must release right away. */
function releaseCreated(name: string, args: Arg[], outcome: Settled, pool: FdPool): void {
  if (outcome.state !== "fulfilled") return;
  const short = name.split(".").pop();
  const close = (n: unknown) => {
    if (typeof n === "number" && n > 2 && !pool.fds.has(n)) {
      try {
        ffi.close(n);
      } catch { /* gone */ }
    }
  };
  if (short === "socket" || short === "accept" || short === "accept4") close(outcome.value);
  if (short === "socketpair" || short === "pipe2") {
    const arr = args[short === "pipe2" ? 0 : 3].value as Int32Array;
    close(arr[0]);
    close(arr[1]);
  }
  if (short === "close") pool.closedByFuzzer(args[0].value as number);
}

// =================================================================== tests

fuzzTest(
  "fuzz: every export of mod.ts and ffi/mod.ts with hostile arguments",
  async (rng, stats) => {
    const dir = Deno.makeTempDirSync({ prefix: "bsd-fuzz-" });
    const pool = new FdPool(dir);
    const h = new Harness(stats);
    const ctx: Ctx = { rng, pool, dir, h };
    const exports = enumerateExports();
    // Sanity: the enumeration sees the whole surface, including what has no generator.
    assert.ok(exports.length > 100, `only ${exports.length} exports found`);

    try {
      pool.fill();
      const ROUNDS = 14;
      for (let round = 0; round < ROUNDS; round++) {
        for (const { name, fn, owner } of exports) {
          const short = name.split(".").pop()!;
          if (short === "libc" || short === "errno" || short === "reactor") {
            // No arguments to fuzz; call them plainly (never the raw libc symbols).
            await h.call(name, [], () => fn());
            continue;
          }
          if (isClass(fn)) {
            await fuzzConstructor(ctx, name, fn);
            continue;
          }
          const table = name.startsWith("ffi.") ? FFI_GENERATORS : MOD_GENERATORS;
          const gen = owner === undefined && Object.hasOwn(table, short) ? table[short] : undefined;
          const args = gen ? gen(ctx) : genericArgs(ctx, fn.length);
          const outcome = await h.call(
            name,
            args,
            () => fn.apply(owner, args.map((a) => a.value)),
          );
          releaseCreated(name, args, outcome, pool);
          pool.fill();
        }
        await h.drain([]);
      }
      // Nothing enumerated was skipped.
      for (const { name } of exports) {
        assert.ok(
          stats.names.has(name) || stats.names.has(`${name} (without new)`),
          `${name} was never called`,
        );
      }
      await closedFdWindow(ctx);
    } finally {
      h.abandon([]);
      pool.closeAll();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

/**
 * A really closed descriptor: its number is used only within one
 * synchronous stretch right after close, when nothing else in this thread
 * can be given it, and is checked to be still free afterwards.
 */
async function closedFdWindow(ctx: Ctx): Promise<void> {
  const c = ffi.libc();
  for (let i = 0; i < 20; i++) {
    const fd = ffi.socket(AF_INET, SOCK_STREAM | NONBLOCK, 0);
    ffi.close(fd);
    const calls: [string, () => unknown][] = [
      ["read", () => ffi.read(fd, new Uint8Array(4))],
      ["write", () => ffi.write(fd, new Uint8Array(4))],
      ["send", () => ffi.send(fd, new Uint8Array(4))],
      ["recv", () => ffi.recv(fd, new Uint8Array(4))],
      ["bind", () => ffi.bind(fd, sockaddrIn(0))],
      ["listen", () => ffi.listen(fd, 1)],
      ["accept", () => ffi.accept(fd)],
      ["connect", () => ffi.connect(fd, sockaddrIn(9))],
      ["shutdown", () => ffi.shutdown(fd, ffi.SHUT_RDWR)],
      ["getsockname", () => ffi.getsockname(fd, new Uint8Array(16), new Uint32Array([16]))],
      ["fcntl", () => ffi.fcntl(fd, ffi.F_GETFL)],
      [
        "setOptionRaw",
        () => mod.setSocketOptionRaw(fd, ffi.SOL_SOCKET, ffi.SO_RCVBUF, new Uint8Array(4)),
      ],
      ["getOption", () => mod.getSocketOption(fd, "SO_TYPE")],
      ["close", () => ffi.close(fd)],
    ];
    for (const [name, call] of calls) {
      ctx.h.stats.calls++;
      ctx.h.stats.mustThrow++;
      let error: unknown;
      try {
        call();
      } catch (e) {
        error = e;
      }
      assert.ok(
        error instanceof mod.SocketError && (error as mod.SocketError).code === "EBADF",
        `${name} on closed fd ${fd}: expected EBADF, got ${
          error ? describeError(error) : "success"
        }`,
      );
    }
    assert.equal(c.fcntl(fd, ffi.F_GETFD, 0), -1, `fd ${fd} was reused during the window`);
  }
  await Promise.resolve();
}

/** Constructors: without `new` (TypeError), and with hostile arguments. */
async function fuzzConstructor(ctx: Ctx, name: string, cls: any): Promise<void> {
  const { rng, h } = ctx;
  await h.call(name + " (without new)", [{
    value: undefined,
    label: "no new",
    invalid: "class called as a function",
  }], () => cls());
  const short = name.split(".").pop()!;
  // Socket classes take ownership of their descriptor: give them a fresh one they
  // may close, or a number that cannot be open — never a descriptor of the pool.
  const socketClasses = [
    "Conn",
    "Listener",
    "SocketHandle",
    "DatagramConn",
    "MessageSocket",
    "SeqpacketConn",
    "SeqpacketListener",
    "RawSocket",
  ];
  if (socketClasses.includes(short)) {
    const own = rng.chance(0.6);
    const fdValue = own
      ? ffi.socket(rng.pick([AF_INET, AF_UNIX]), rng.pick([SOCK_STREAM, SOCK_DGRAM]) | NONBLOCK, 0)
      : rng.pick([-1, 2 ** 31 - 1, NaN, 2 ** 32, "5", null]);
    const rest = Array.from({ length: rng.int(4) }, () => genericArg(rng));
    const args: Arg[] = [{ value: fdValue, label: `fd ${describeValue(fdValue)}` }, ...rest];
    let instance: any;
    const outcome = await h.call(`new ${name}`, args, () => {
      instance = new cls(...args.map((a) => a.value));
      return undefined;
    });
    if (outcome.state === "fulfilled" && instance) {
      await fuzzInstance(ctx, short, instance, 2);
      instance.close?.();
    } else if (own && outcome.state === "rejected") {
      // Bad arguments are refused before the descriptor is taken (it stays
      // ours: close it); a failure after that (registration) releases it.
      const open = ffi.libc().fcntl(fdValue as number, ffi.F_GETFD, 0) !== -1;
      const argumentError = outcome.reason instanceof TypeError ||
        outcome.reason instanceof RangeError;
      assert.equal(
        open,
        argumentError,
        `new ${name} failed with ${describeError(outcome.reason)} and left fd ${fdValue} ${
          open ? "open" : "closed"
        }`,
      );
      if (open) ffi.close(fdValue as number);
    }
    return;
  }
  if (short === "Reactor") {
    // A reactor over a recording fake backend: its methods touch no real descriptor.
    const fake = new FakePoller();
    let r: any;
    await h.call(`new ${name}`, [{ value: fake, label: "fake poller" }], () => {
      r = new cls(fake);
    });
    if (r) {
      await fuzzInstance(ctx, "Reactor(fake)", r, 4);
      fake.shutdown();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await h.call(`new ${name}`, [genericArg(rng)], () => new cls(genericArg(rng).value));
    return;
  }
  const args = Array.from({ length: 1 + rng.int(4) }, () => genericArg(rng));
  await h.call(`new ${name}`, args, () => new cls(...args.map((a) => a.value)));
}

/** A Poller that records calls and never touches a descriptor. */
class FakePoller implements Poller {
  readonly name = "fake";
  readonly edgeTriggered = true;
  add(): void {}
  want(): void {}
  remove(): void {}
  pollNow(): number {
    return 0;
  }
  #wake: (() => void) | undefined;
  #down = false;
  /** Ends the fake reactor's loop (its wait rejects from now on). */
  shutdown(): void {
    this.#down = true;
    this.#wake?.();
  }
  wait(): Promise<number> {
    if (this.#down) return Promise.reject(new Deno.errors.Interrupted("fake poller shut down"));
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(0), 5);
      this.#wake = () => {
        clearTimeout(timer);
        resolve(0);
      };
    });
  }
  wake(): void {
    this.#wake?.();
  }
  fdAt(): number {
    return -1;
  }
  tokenAt(): number {
    return 0;
  }
  readinessAt(): number {
    return 0;
  }
  close(): void {}
}

// ------------------------------------------------------- live instances

/** Arguments for the methods of live socket objects, by method name. */
function methodArgs(ctx: Ctx, kind: string, method: string, obj: any): Arg[] {
  const { rng } = ctx;
  const ports = ctx.pool.ports.concat(livePorts);
  if (kind === "reactor()") {
    // The process's real reactor: only primitives, which it must refuse before
    // touching its state (an object shaped like a source could unbalance it).
    return genericArgs(ctx, 2).filter((a) =>
      (typeof a.value !== "object" && typeof a.value !== "function") || a.value === null
    );
  }
  switch (method) {
    case "read":
    case "write":
    case "writeAll":
      return [b(ctx)];
    case "receive":
    case "receiveDetailed":
      return rng.chance(0.3) ? [] : [b(ctx)];
    case "send": {
      const p = b(ctx);
      if (kind.startsWith("RawSocket")) {
        const to = rng.chance(0.6)
          ? hostArg(rng)
          : { value: { hostname: hostArg(rng).value }, label: "{hostname}" };
        return [p, to];
      }
      if (kind.startsWith("SeqpacketConn")) return [p];
      return rng.chance(0.2) ? [p] : [p, datagramAddrArg(ctx, obj, ports)];
    }
    case "connect":
      return [datagramAddrArg(ctx, obj, ports)];
    case "setNoDelay":
    case "setLoopback":
    case "setBroadcast":
      return [rng.chance(0.6) ? { value: rng.chance(0.5), label: "bool" } : genericArg(rng)];
    case "setKeepAlive":
      return [rng.pick<Arg>([
        { value: true, label: "true" },
        { value: { time: 30, interval: 5, retries: 3 }, label: "timings" },
        { value: { time: -1 }, label: "time -1", invalid: "out of range" },
        { value: { time: 2 ** 40 }, label: "time 2**40", invalid: "out of range" },
        { value: null, label: "null", invalid: "neither boolean nor object" },
        { value: "yes", label: "'yes'", invalid: "neither boolean nor object" },
      ])];
    case "setOption": {
      const name = rng.chance(0.8)
        ? rng.pick(TYPED_OPTIONS)
        : rng.pick(["SO_NOPE", "__proto__", "constructor", "toString", 7 as unknown as string]);
      const valid = TYPED_OPTIONS.includes(name);
      return [
        { value: name, label: String(name), invalid: valid ? undefined : "unknown option" },
        rng.chance(0.5)
          ? {
            value: rng.pick([true, false, 0, 1, 4096, { enabled: true, seconds: 1 }, "127.0.0.1"]),
            label: "value",
          }
          : genericArg(rng),
      ];
    }
    case "getOption": {
      const name = rng.chance(0.8)
        ? rng.pick(Object.keys(mod.SOCKET_OPTIONS))
        : rng.pick(["SO_NOPE", "__proto__", "hasOwnProperty"]);
      return [{
        value: name,
        label: name,
        invalid: Object.hasOwn(mod.SOCKET_OPTIONS, name) ? undefined : "unknown option",
      }];
    }
    case "setOptionRaw": {
      const [l, n] = opt(ctx);
      return [l, n, bytesArg(rng, 0.2, [0, 1, 4, 8, 16])];
    }
    case "getOptionRaw": {
      const [l, n] = opt(ctx);
      const sizes: [unknown, string | undefined][] = [
        [undefined, undefined],
        [0, undefined],
        [4, undefined],
        [65536, undefined],
        [65537, "above 65536"],
        [-1, "negative"],
        [NaN, "NaN"],
      ];
      const [size, invalid] = rng.pick(sizes);
      return [l, n, { value: size, label: `size ${describeValue(size)}`, invalid }];
    }
    case "joinMulticastV4":
      return [
        rng.pick<Arg>([
          { value: "239.255.77.1", label: "239.255.77.1" },
          { value: "10.0.0.1", label: "unicast", invalid: "not multicast" },
          { value: 42, label: "42", invalid: "not a group" },
        ]),
        rng.pick<Arg>([
          { value: "127.0.0.1", label: "lo" },
          { value: "not-an-ip", label: "bad iface", invalid: "not an IPv4 address" },
          { value: "::1", label: "v6 iface", invalid: "not an IPv4 address" },
        ]),
      ];
    case "joinMulticastV6":
      return [
        rng.pick<Arg>([
          { value: "ff02::77", label: "ff02::77" },
          { value: "::1", label: "unicast", invalid: "not multicast" },
        ]),
        rng.pick<Arg>([
          { value: 1, label: "lo" },
          { value: -1, label: "-1", invalid: "negative index" },
          { value: 2 ** 32, label: "2**32", invalid: "above u32" },
          { value: NaN, label: "NaN", invalid: "NaN" },
        ]),
      ];
    case "setMulticastInterface":
      return [rng.pick<Arg>([
        { value: "127.0.0.1", label: "127.0.0.1" },
        { value: 1, label: "1" },
        { value: -1, label: "-1", invalid: "negative" },
        { value: "nope", label: "'nope'", invalid: "not an address" },
        { value: NaN, label: "NaN", invalid: "NaN" },
      ])];
    case "setTTL":
      return [rng.pick<Arg>([
        { value: 64, label: "64" },
        { value: 0, label: "0", invalid: "below 1" },
        { value: 256, label: "256", invalid: "above 255" },
        { value: NaN, label: "NaN", invalid: "NaN" },
        { value: "64", label: "'64'", invalid: "a string" },
      ])];
    case "setIcmpFilter":
      return [rng.pick<Arg>([
        { value: [0, 3, 11], label: "[0,3,11]" },
        { value: [], label: "[]" },
        { value: [256], label: "[256]" },
        { value: "0", label: "'0'" },
        { value: [NaN], label: "[NaN]" },
      ])];
    default:
      return genericArgs(ctx, 2).filter(() => rng.chance(0.5));
  }
}

/** Destinations for DatagramConn.send/connect: loopback ports we own, our paths, or junk. */
function datagramAddrArg(ctx: Ctx, obj: any, ports: number[]): Arg {
  const { rng, dir } = ctx;
  const unix = typeof obj.addr === "object" && obj.addr !== null && "path" in obj.addr;
  if (rng.chance(0.25)) {
    const g = genericArg(rng);
    return g.value === undefined ? g : {
      ...g,
      invalid: typeof g.value === "object" && g.value !== null
        ? undefined
        : "not an address object",
    };
  }
  if (unix) {
    const p = pathArg(rng, dir);
    return {
      value: { transport: "unixpacket", path: p.value },
      label: `{path ${p.label}}`,
      invalid: p.invalid,
    };
  }
  const host = hostArg(rng);
  const port = portArg(rng, ports);
  return {
    value: { transport: "udp", hostname: host.value, port: port.value },
    label: `{${host.label}, ${port.label}}`,
    invalid: host.invalid ?? port.invalid,
  };
}

let livePorts: number[] = [];

/**
 * Calls every method and getter of `obj` with generated arguments,
 * `times` rounds; close()/dispose come last so the rest see an open object.
 */
async function fuzzInstance(
  ctx: Ctx,
  kind: string,
  obj: any,
  times: number,
  closeChance = 1,
): Promise<void> {
  const methods = methodsOf(obj);
  const getters = gettersOf(obj);
  const last = (n: string) => n === "close" || n === "Symbol(Symbol.dispose)";
  methods.sort((a, b) => Number(last(a[0])) - Number(last(b[0])));
  for (let t = 0; t < times; t++) {
    for (const [g, get] of getters) {
      await ctx.h.call(`${kind}.${g} (getter)`, [], () => get.call(obj));
    }
    for (const [m, fn] of methods) {
      if (last(m) && (t < times - 1 || !ctx.rng.chance(closeChance))) continue;
      if (m === "Symbol(Symbol.asyncIterator)") {
        const it = fn.call(obj);
        await ctx.h.call(`${kind}[Symbol.asyncIterator]().next`, [], () => it.next());
        continue;
      }
      const args = methodArgs(ctx, kind, m, obj);
      await ctx.h.call(`${kind}.${m}`, args, () => fn.apply(obj, args.map((a) => a.value)));
    }
  }
}

/** Opens one live object of each class of the ergonomic layer. */
async function openLive(dir: string): Promise<[string, any][]> {
  const live: [string, any][] = [];
  const tcpListener = mod.listen({ hostname: "127.0.0.1", port: 0 });
  const [tcpClient, tcpServer] = await Promise.all([
    mod.connect({ port: tcpListener.addr.port }),
    tcpListener.accept(),
  ]);
  const unixPath = `${dir}/live-${crypto.randomUUID().slice(0, 8)}.sock`;
  const unixListener = mod.listen({ transport: "unix", path: unixPath });
  const [unixClient, unixServer] = await Promise.all([
    mod.connect({ transport: "unix", path: unixPath }),
    unixListener.accept(),
  ]);
  const udp4 = mod.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const udp6 = mod.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  // Bound at one of the paths the fuzzer sends to (p0..p3.sock), made afresh.
  const gramPath = `${dir}/p${Math.floor(Math.random() * 4)}.sock`;
  try {
    Deno.removeSync(gramPath);
  } catch { /* not there */ }
  const unixgram = mod.listenDatagram({ transport: "unixgram", path: gramPath });
  const unbound = mod.listenDatagram({ transport: "unixgram" });
  const seqPath = `\0bsd-fuzz-seq-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const seqListener = mod.listenSeqpacket({ path: seqPath });
  const [seqClient, seqServer] = await Promise.all([
    mod.connectSeqpacket({ path: seqPath }),
    seqListener.accept(),
  ]);
  livePorts = [tcpListener.addr.port, udp4.addr.port, udp6.addr.port];
  live.push(
    ["Listener(tcp)", tcpListener],
    ["Conn(tcp client)", tcpClient],
    ["Conn(tcp server)", tcpServer],
    ["Listener(unix)", unixListener],
    ["Conn(unix client)", unixClient],
    ["Conn(unix server)", unixServer],
    ["DatagramConn(udp4)", udp4],
    ["DatagramConn(udp6)", udp6],
    ["DatagramConn(unixgram)", unixgram],
    ["DatagramConn(unbound)", unbound],
    ["SeqpacketListener", seqListener],
    ["SeqpacketConn(client)", seqClient],
    ["SeqpacketConn(server)", seqServer],
  );
  // A RawSocket of each kind the kernel allows here; and one always, wrapped
  // around a UDP socket, so its methods are fuzzed even without privileges.
  for (const mode of ["raw", "dgram"] as const) {
    try {
      live.push([`RawSocket(${mode})`, mod.openRawSocket({ protocol: ffi.IPPROTO_ICMP, mode })]);
    } catch (error) {
      if (!(error instanceof Deno.errors.PermissionDenied)) throw error;
    }
  }
  const wrapped = ffi.socket(AF_INET, SOCK_DGRAM | NONBLOCK, 0);
  live.push([
    "RawSocket(wrapped udp)",
    new mod.RawSocket(wrapped, "ipv4", ffi.IPPROTO_ICMP, "dgram", 0),
  ]);
  return live;
}

fuzzTest(
  "fuzz: methods and getters of live Conn, Listener, DatagramConn, Seqpacket*, RawSocket",
  async (rng, stats) => {
    const dir = Deno.makeTempDirSync({ prefix: "bsd-fuzz-live-" });
    const pool = new FdPool(dir);
    const h = new Harness(stats);
    const ctx: Ctx = { rng, pool, dir, h };
    const classesSeen = new Set<string>();
    let live: [string, any][] = [];
    try {
      for (let round = 0; round < 6; round++) {
        live = await openLive(dir);
        for (const [, o] of live) classesSeen.add(o.constructor.name);
        // Interleave: each object several times, in random order.
        const order = live.flatMap((entry) => [entry, entry]).sort(() => rng.next() - 0.5);
        for (const [kind, obj] of order) await fuzzInstance(ctx, kind, obj, 1, 0.3);
        // Traffic between the live objects so reads and receives complete too.
        await h.drain(live.map(([, o]) => o));
        for (const [kind, o] of live) assert.ok(o.closed, `${kind} not closed`);
      }
      for (
        const cls of [
          "Conn",
          "Listener",
          "DatagramConn",
          "SeqpacketConn",
          "SeqpacketListener",
          "RawSocket",
        ]
      ) {
        assert.ok(classesSeen.has(cls), `no live ${cls} was fuzzed`);
      }
      // The struct layouts and the reactor, live as exported.
      for (const [key, value] of Object.entries(mod)) {
        if (value instanceof ffi.StructLayout) await fuzzInstance(ctx, key, value, 3);
      }
      await fuzzInstance(ctx, "reactor()", reactor(), 1);
      await h.drain([]);
    } finally {
      h.abandon(live.map(([, o]) => o));
      pool.closeAll();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

// ------------------------------------------- buffers changed while waiting

/**
 * A length-tracking view of a resizable buffer: shrink it while an
 * operation waits, then grow it back and look at what lies past the
 * shrunk length — the spec makes it zero; anything else was written there
 * after the shrink, out of the view's bounds.
 */
function shrinkable(size: number): {
  view: Uint8Array;
  shrink(to: number): void;
  writtenPast(from: number): number;
} {
  const rab = new ArrayBuffer(size, { maxByteLength: size });
  const view = new Uint8Array(rab);
  return {
    view,
    shrink: (to) => rab.resize(to),
    writtenPast(from) {
      rab.resize(size);
      let n = 0;
      for (let i = from; i < size; i++) if (view[i] !== 0) n++;
      return n;
    },
  };
}

Deno.test("buffers resized or detached while an operation waits are never used past their new length", async () => {
  const tcp = await tcpPair();
  const { client, server } = tcp;
  const udp = udpPair();
  const { a: udpA, b: udpB } = udp;
  const seqPath = `\0bsd-fuzz-shrink-${Deno.pid}`;
  const seqListener = mod.listenSeqpacket({ path: seqPath });
  const [seqA, seqB] = await Promise.all([
    mod.connectSeqpacket({ path: seqPath }),
    seqListener.accept(),
  ]);
  const payload = new Uint8Array(64).fill(0x5a);
  try {
    // Conn.read: shrunk to 4 while waiting reads at most 4.
    {
      const s = shrinkable(64);
      const read = client.read(s.view);
      await new Promise((r) => setTimeout(r, 10));
      s.shrink(4);
      await server.write(payload);
      const n = await read;
      assert.ok(n !== null && n <= 4, `read ${n} bytes into a 4-byte view`);
      assert.equal(s.writtenPast(4), 0, "read wrote past the shrunk view");
      // What did not fit is still there for the next read.
      const rest = new Uint8Array(64);
      let got = 0;
      while (got < 64 - n!) got += (await client.read(rest.subarray(got)))!;
      assert.equal(got, 64 - n!);
    }
    // Conn.read: detached while waiting reads nothing (resolves 0), loses nothing.
    {
      const ab = new ArrayBuffer(64);
      const read = client.read(new Uint8Array(ab));
      await new Promise((r) => setTimeout(r, 10));
      ab.transfer();
      await server.write(payload.subarray(0, 10));
      assert.equal(await read, 0);
      const again = new Uint8Array(64);
      assert.equal(await client.read(again), 10);
    }
    // Conn.write and writeAll queued behind a full buffer, then shrunk.
    {
      client.setOption("SO_SNDBUF", 4096);
      const big = new Uint8Array(1 << 20);
      let blocked: Promise<number> | undefined;
      for (let i = 0; i < 64 && !blocked; i++) {
        const w = client.write(big);
        const s = await settleWithin(w, 30);
        if (s.state === "pending") blocked = w;
      }
      assert.ok(blocked, "a write should block while the peer does not read");
      const s = shrinkable(4096);
      s.view.fill(0x77);
      const queued = client.write(s.view);
      const t = shrinkable(4096);
      t.view.fill(0x66);
      const queuedAll = client.writeAll(t.view);
      s.shrink(16);
      t.shrink(16);
      // Drain the peer until both settle.
      const sink = new Uint8Array(1 << 16);
      let done = false;
      const results = Promise.allSettled([blocked, queued, queuedAll]).finally(() => done = true);
      while (!done) {
        await Promise.race([server.read(sink), results]);
      }
      const [, q, qa] = await results;
      assert.equal(q.status, "fulfilled");
      assert.ok(
        (q as PromiseFulfilledResult<number>).value <= 16,
        "write sent past the shrunk view",
      );
      assert.equal(qa.status, "rejected");
      assert.ok((qa as PromiseRejectedResult).reason instanceof RangeError);
    }
    // DatagramConn.receive(p) and SeqpacketConn.receive(p): shrunk to 4, the datagram is truncated.
    for (
      const [label, receive, send] of [
        ["udp", (p: Uint8Array) => udpB.receiveDetailed(p), () => udpA.send(payload, udpB.addr)],
        ["seqpacket", (p: Uint8Array) => seqB.receiveDetailed(p), () => seqA.send(payload)],
      ] as const
    ) {
      const s = shrinkable(64);
      const r = receive(s.view);
      await new Promise((res) => setTimeout(res, 10));
      s.shrink(4);
      await send();
      const info = (await r)!;
      assert.equal(info.data.byteLength, 4, label);
      assert.equal(info.length, 64, label);
      assert.equal(info.truncated, true, label);
      assert.equal(s.writtenPast(4), 0, `${label}: receive wrote past the shrunk view`);
    }
    // pollAsync runs poll(2) on a helper thread while JavaScript goes on.
    // Deno pins the buffer's memory for such a call: it refuses a resizable
    // buffer (TypeError), and a buffer transferred meanwhile keeps its memory
    // until the call returns. Either way nothing lands outside the buffer.
    {
      const s = shrinkable(8);
      s.view.set(ffi.pollfd.encode({ fd: udpB.fd, events: ffi.POLLIN, revents: 0 }));
      const polled = ffi.pollAsync(s.view, 1, 2000);
      const early = await settleWithin(polled, 10);
      if (early.state === "rejected") {
        assert.ok(early.reason instanceof TypeError, describeError(early.reason));
      } else {
        s.shrink(0);
        await udpA.send(payload, udpB.addr);
        assert.equal(await polled, 1);
        assert.equal(s.writtenPast(0), 0, "poll wrote revents into a shrunk buffer");
        await udpB.receive();
      }
      const ab = new ArrayBuffer(8);
      new Uint8Array(ab).set(ffi.pollfd.encode({ fd: udpB.fd, events: ffi.POLLIN, revents: 0 }));
      const pending = ffi.pollAsync(new Uint8Array(ab), 1, 2000);
      await new Promise((res) => setTimeout(res, 10));
      const moved = ab.transfer(4); // a new, smaller store: the old one must stay pinned
      await udpA.send(payload, udpB.addr);
      assert.equal(await pending, 1);
      assert.equal(moved.byteLength, 4);
      await udpB.receive();
    }
  } finally {
    for (const c of [tcp, udp, seqA, seqB, seqListener]) c.close();
  }
});
