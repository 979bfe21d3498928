/**
 * Helpers shared by the test files: connected pairs on a module listener,
 * echo servers and rounds, descriptor counting, seeded random numbers and
 * bytes, guard-byte buffers, subprocess runners, waits with deadlines and
 * free ports. One home for each, so a fix reaches every test at once.
 *
 * Not a test file: `deno test tests/` only collects `*_test.ts`.
 *
 * @module
 */

import assert from "@assert";
import {
  type Conn,
  connect,
  type DatagramConn,
  listen,
  listenDatagram,
  type Listener,
  SocketError,
} from "../mod.ts";
import type { TcpConn, UnixConn } from "../mod.ts";
import { F_GETFD } from "../ffi/constants.ts";
import { libc } from "../ffi/libc.ts";
import { deadline, delay, waitUntil } from "./fixtures/child.ts";

// The fixtures' child-process helpers already hold these: one copy, re-exported.
export { deadline, delay, waitUntil };

/** The project root (with a trailing slash), for subprocess working directories. */
export const ROOT: string = new URL("../", import.meta.url).pathname;

/** 1 MiB in bytes. */
export const MiB = 1024 * 1024;

/** `bytes` as `"12.3 MiB"`, for logs and assertion messages. */
export function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

export const encoder: TextEncoder = new TextEncoder();
export const decoder: TextDecoder = new TextDecoder();

// ------------------------------------------------------------------ waiting

/** How a promise stood after a bounded wait. */
export type Settled =
  | { state: "fulfilled"; value: unknown }
  | { state: "rejected"; reason: unknown }
  | { state: "pending" };

/** Waits at most `ms` for `promise`, and says how it stood then (its timer is cleared). */
export function settleWithin(promise: Promise<unknown>, ms: number): Promise<Settled> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.then(
      (value): Settled => ({ state: "fulfilled", value }),
      (reason): Settled => ({ state: "rejected", reason }),
    ),
    new Promise<Settled>((resolve) => timer = setTimeout(() => resolve({ state: "pending" }), ms)),
  ]).finally(() => clearTimeout(timer));
}

/** `"pending"` if `promise` has not settled within `ms`, else `"settled"`. */
export async function state(promise: Promise<unknown>, ms = 20): Promise<"pending" | "settled"> {
  return (await settleWithin(promise, ms)).state === "pending" ? "pending" : "settled";
}

/** The promise's value (or its rejection), or `"timeout"` when it takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  const s = await settleWithin(promise, ms);
  if (s.state === "pending") return "timeout";
  if (s.state === "rejected") throw s.reason;
  return s.value as T;
}

/**
 * Polls `read()` every `everyMs` until it is non-zero and unchanged between
 * two polls: a writer that has stopped making progress (blocked on a full
 * peer) has stalled.
 */
export async function untilSteady(read: () => number, everyMs = 100): Promise<number> {
  let last = -1;
  for (let now = read(); now !== last || now === 0; now = read()) {
    last = now;
    await delay(everyMs);
  }
  return last;
}

// -------------------------------------------------------------- descriptors

/** Highest descriptor number scanned: .ci/run sets `ulimit -n 65536`. */
const FD_SCAN_LIMIT = 1 << 16;

/**
 * Open descriptors of this process. Deno 2 reads `/proc/self/fd` only with
 * `--allow-all` (and `Deno.resources` is gone), so ask the kernel directly:
 * `fcntl(fd, F_GETFD)` succeeds exactly for open descriptors.
 */
export function openFdCount(): number {
  const c = libc();
  let n = 0;
  for (let fd = 0; fd < FD_SCAN_LIMIT; fd++) if (c.fcntl(fd, F_GETFD, 0) !== -1) n++;
  return n;
}

/** Whether descriptor `fd` is open in this process. */
export function fdOpen(fd: number): boolean {
  return libc().fcntl(fd, F_GETFD, 0) !== -1;
}

// ------------------------------------------------------- seeded randomness

/**
 * mulberry32: a small, fast, seedable PRNG, so a failing run replays from
 * its seed.
 */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  /** The next 32-bit unsigned integer. */
  uint32(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** A number in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** `n` random bytes. */
  bytes(n: number): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.uint32() & 0xff;
    return out;
  }
}

/**
 * Deterministic pseudo-random bytes (xorshift32), different per seed and
 * covering all 256 values: payloads whose misplaced or lost bytes show.
 */
export function seededBytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = (seed * 0x9e3779b1 + 0x7f4a7c15) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

// ------------------------------------------------------------------- bytes

/** Asserts byte equality, naming the first differing offset (deepEqual on MiBs is slow). */
export function assertBytes(actual: Uint8Array, expected: Uint8Array, what = "bytes"): void {
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    if (actual[i] !== expected[i]) {
      assert.fail(`${what}: first difference at offset ${i}: ${actual[i]} != ${expected[i]}`);
    }
  }
  assert.equal(actual.length, expected.length, `${what}: length`);
}

/** The byte guard regions are filled with. */
export const GUARD_BYTE = 0xa5;

/** What {@linkcode guarded} allocates the view in. */
export type GuardStore = "plain" | "shared" | "resizable";

/**
 * A view with guard bytes on both sides in its backing store: a call that
 * writes out of the view's bounds changes a guard, and
 * {@linkcode Guarded.checkGuards} names which.
 */
export class Guarded {
  constructor(
    /** The whole store: guard, view, guard. */
    readonly backing: Uint8Array,
    /** The view under test. */
    readonly view: Uint8Array,
    /** Where the view starts in `backing`. */
    readonly start: number,
    /** The view's length. */
    readonly length: number,
    /** The view's name in failure messages. */
    readonly what: string,
  ) {}

  /** Fails (naming `context` and the offset) when a guard byte changed. */
  checkGuards(context: string): void {
    const b = this.backing;
    if (b.byteLength === 0) return; // detached by the test on purpose
    for (let i = 0; i < this.start; i++) {
      if (b[i] !== GUARD_BYTE) {
        assert.fail(`${context}: guard byte ${i - this.start} before ${this.what} changed`);
      }
    }
    for (let i = this.start + this.length; i < b.length; i++) {
      if (b[i] !== GUARD_BYTE) {
        assert.fail(
          `${context}: guard byte +${i - this.start - this.length} after ${this.what} changed`,
        );
      }
    }
  }
}

/**
 * An `n`-byte view filled with `fill`, with `guard` guard bytes on each side
 * in the same store (plain, shared or resizable).
 */
export function guarded(
  n: number,
  options: { fill?: number; guard?: number; store?: GuardStore; what?: string } = {},
): Guarded {
  const { fill = 0, guard = 16, store = "plain" } = options;
  const total = guard + n + guard;
  const buffer = store === "shared"
    ? new SharedArrayBuffer(total)
    : store === "resizable"
    ? new ArrayBuffer(total, { maxByteLength: total * 2 })
    : new ArrayBuffer(total);
  const backing = new Uint8Array(buffer);
  backing.fill(GUARD_BYTE);
  const view = new Uint8Array(buffer, guard, n);
  view.fill(fill);
  return new Guarded(backing, view, guard, n, options.what ?? `Uint8Array(${n})`);
}

// ------------------------------------------------------------- stream I/O

/** What both our Conn and Deno's expose for reading and writing. */
export interface Duplex {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
}

/** Writes all of `data`, `chunk` bytes per write() at most. */
export async function writeAll(conn: Duplex, data: Uint8Array, chunk = 256 * 1024): Promise<void> {
  let off = 0;
  while (off < data.length) {
    off += await conn.write(data.subarray(off, Math.min(off + chunk, data.length)));
  }
}

/** Reads until end of stream. */
export async function readToEnd(conn: Duplex, sizeHint = 0): Promise<Uint8Array> {
  let buf = new Uint8Array(Math.max(sizeHint, 64 * 1024));
  let len = 0;
  for (;;) {
    if (len === buf.length) {
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
    const n = await conn.read(buf.subarray(len));
    if (n === null) return buf.slice(0, len);
    len += n;
  }
}

/** Reads exactly `size` bytes; fails on an early end of stream. */
export async function readExactly(conn: Duplex, size: number): Promise<Uint8Array> {
  const buf = new Uint8Array(size);
  let len = 0;
  while (len < size) {
    const n = await conn.read(buf.subarray(len));
    if (n === null) throw new Error(`end of stream after ${len} of ${size} bytes`);
    len += n;
  }
  return buf;
}

/**
 * Writes `chunk` (default 1 MiB) until a write stays pending for `waitMs`:
 * the peer does not read and every buffer on the way is full. Returns that
 * write (undefined if none blocked in `attempts` writes) and the bytes the
 * settled writes took.
 */
export async function writeUntilBlocked(
  conn: Duplex,
  options: { chunk?: Uint8Array; attempts?: number; waitMs?: number } = {},
): Promise<{ blocked: Promise<number> | undefined; written: number }> {
  const { chunk = new Uint8Array(MiB), attempts = 512, waitMs = 50 } = options;
  let written = 0;
  for (let i = 0; i < attempts; i++) {
    const p = conn.write(chunk);
    const s = await settleWithin(p, waitMs);
    if (s.state === "pending") return { blocked: p, written };
    if (s.state === "rejected") throw s.reason;
    written += s.value as number;
  }
  return { blocked: undefined, written };
}

// ------------------------------------------------------------------- echo

/** Echoes one connection until end of stream, then closes it. */
export async function echo(conn: Conn): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      await writeAll(conn, buf.subarray(0, n));
    }
  } finally {
    conn.close();
  }
}

/** Runs an echo server on `listener` until it is closed; resolves when every echo ended. */
export async function serveEcho(
  listener: Listener<TcpConn, Deno.NetAddr> | Listener<UnixConn, Deno.UnixAddr>,
): Promise<void> {
  const echoes: Promise<void>[] = [];
  for await (const conn of listener) echoes.push(echo(conn));
  const results = await Promise.allSettled(echoes);
  for (const r of results) if (r.status === "rejected") throw r.reason;
}

/** One client round: send, half-close, read all back, compare, close. */
export async function echoRound(conn: Duplex & Deno.Conn, data: Uint8Array): Promise<void> {
  try {
    const [, back] = await Promise.all([
      (async () => {
        await writeAll(conn, data);
        await conn.closeWrite();
      })(),
      readToEnd(conn, data.length),
    ]);
    assertBytes(back, data, "echo");
  } finally {
    conn.close();
  }
}

/**
 * Sends `data` with `conn.writeAll` and reads the same bytes back (an echo
 * round trip on an open connection).
 */
export async function roundTrip(conn: Conn, data: Uint8Array): Promise<void> {
  const [, back] = await Promise.all([conn.writeAll(data), readExactly(conn, data.length)]);
  for (let i = 0; i < data.length; i++) {
    if (back[i] !== data[i]) assert.fail(`echo differs at offset ${i}`);
  }
}

// ------------------------------------------------------------------ pairs

/** A wildcard listener is reached on loopback. */
const WILDCARD_TO_LOOPBACK: Record<string, string> = { "0.0.0.0": "127.0.0.1", "::": "::1" };

/** Connects a client to `listener`'s address and accepts it: `[client, server]`. */
export async function connectPair<C extends TcpConn | UnixConn>(
  listener: Listener<C, Deno.NetAddr | Deno.UnixAddr>,
): Promise<[C, C]> {
  const addr = listener.addr;
  const dial = "path" in addr
    ? connect({ transport: "unix", path: addr.path })
    : connect({ hostname: WILDCARD_TO_LOOPBACK[addr.hostname] ?? addr.hostname, port: addr.port });
  const [client, server] = await Promise.all([dial, listener.accept()]);
  return [client as C, server];
}

/**
 * A module listener with a connected client and its accepted server side;
 * {@linkcode StreamPair.another} adds more. `close()` (or `using`) closes
 * them all together; closing any of them earlier is harmless.
 */
export class StreamPair<C extends TcpConn | UnixConn> implements Disposable {
  readonly #held: Conn[] = [];
  constructor(
    /** The listener, still open: more clients may connect. */
    readonly listener: Listener<C, Deno.NetAddr | Deno.UnixAddr>,
    /** The first client. */
    readonly client: C,
    /** The first client's accepted peer. */
    readonly server: C,
    readonly cleanup: () => void = () => {},
  ) {}

  /** Connects and accepts one more pair, closed with this one. */
  async another(): Promise<[C, C]> {
    const pair = await connectPair(this.listener);
    this.#held.push(...pair);
    return pair;
  }

  /** Closes every connection, then the listener. */
  close(): void {
    for (const c of [this.client, this.server, ...this.#held]) c.close();
    this.listener.close();
    this.cleanup();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** A TCP {@linkcode StreamPair} on `hostname` (default 127.0.0.1), ephemeral port. */
export function tcpPair(
  options: { hostname?: string; backlog?: number } = {},
): Promise<StreamPair<TcpConn>> {
  const listener = listen({
    hostname: options.hostname ?? "127.0.0.1",
    port: 0,
    ...(options.backlog === undefined ? {} : { backlog: options.backlog }),
  });
  return pairOn(listener);
}

/** A Unix stream {@linkcode StreamPair} at `path` (default: a fresh abstract name). */
export function unixPair(path = abstractPath("pair")): Promise<StreamPair<UnixConn>> {
  return pairOn(listen({ transport: "unix", path }));
}

/** Connects a first pair on `listener`; closes the listener if that fails. */
async function pairOn<C extends TcpConn | UnixConn>(
  listener: Listener<C, Deno.NetAddr | Deno.UnixAddr>,
): Promise<StreamPair<C>> {
  try {
    const [client, server] = await connectPair(listener);
    return new StreamPair(listener, client, server);
  } catch (error) {
    listener.close();
    throw error;
  }
}

/** Two UDP sockets on `hostname` (default 127.0.0.1), ephemeral ports, closed together. */
export function udpPair(hostname = "127.0.0.1"): Disposable & {
  a: DatagramConn<Deno.NetAddr>;
  b: DatagramConn<Deno.NetAddr>;
  close(): void;
} {
  const a = listenDatagram({ transport: "udp", hostname, port: 0 });
  let b: DatagramConn<Deno.NetAddr>;
  try {
    b = listenDatagram({ transport: "udp", hostname, port: 0 });
  } catch (error) {
    a.close();
    throw error;
  }
  const close = () => {
    a.close();
    b.close();
  };
  return { a, b, close, [Symbol.dispose]: close };
}

// ------------------------------------------------------------ addresses

/** A fresh Unix abstract name (`\0...`): no file to clean up, unique per call. */
export function abstractPath(tag: string): string {
  return `\0bsd-sockets-${tag}-${Deno.pid}-${crypto.randomUUID()}`;
}

/** A temporary directory for Unix socket files; `path(name)` inside it; removed on dispose. */
export function tempDir(prefix = "bsd-test-"): Disposable & {
  dir: string;
  path(name: string): string;
  cleanup(): void;
} {
  const dir = Deno.makeTempDirSync({ prefix });
  const cleanup = () => Deno.removeSync(dir, { recursive: true });
  return { dir, path: (name) => `${dir}/${name}`, cleanup, [Symbol.dispose]: cleanup };
}

/** A Unix socket file path in a fresh temporary directory, and the cleanup that removes both. */
export function tempSocketPath(prefix = "bsd-test-"): { path: string; cleanup: () => void } {
  const tmp = tempDir(prefix);
  return { path: tmp.path("s.sock"), cleanup: tmp.cleanup };
}

/** A loopback TCP port nobody listens on just now (bind to 0, read it, release it). */
export function freePort(hostname = "127.0.0.1"): number {
  const l = Deno.listen({ hostname, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * A loopback UDP port nobody is bound to just now (through this module:
 * `Deno.listenDatagram` would need `--unstable-net`).
 */
export function freeUdpPort(hostname = "127.0.0.1"): number {
  const s = listenDatagram({ transport: "udp", hostname, port: 0 });
  const port = s.addr.port;
  s.close();
  return port;
}

/** Deno's addresses are null-prototype objects; this copies their fields for deepEqual. */
export function plain<T extends object>(addr: T): T {
  return { ...addr };
}

// --------------------------------------------------------------- errors

/**
 * Calls `fn`, which must throw a {@linkcode SocketError} whose code is one
 * of `codes` (and whose syscall is `syscall`, when given); returns it.
 */
export function expectSocketError(
  fn: () => unknown,
  codes: string | string[],
  syscall?: string,
): SocketError {
  const expected = typeof codes === "string" ? [codes] : codes;
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof SocketError)) {
    throw new Error(`expected SocketError ${expected}, got ${caught}`);
  }
  assert.ok(
    expected.includes(caught.code),
    `expected ${expected}, got ${caught.code} (${caught.message})`,
  );
  if (syscall !== undefined) assert.equal(caught.syscall, syscall);
  return caught;
}

// ----------------------------------------------------------- subprocesses

/** What a finished subprocess left. */
export interface RunResult {
  code: number;
  success: boolean;
  stdout: string;
  stderr: string;
}

/**
 * Runs `cmd args` in the project root with NO_COLOR set, stdin closed
 * (or fed `options.stdin`), and returns its exit code and output.
 */
export async function run(
  cmd: string,
  args: string[],
  options: { stdin?: string; env?: Record<string, string>; cwd?: string } = {},
): Promise<RunResult> {
  const child = new Deno.Command(cmd, {
    args,
    cwd: options.cwd ?? ROOT,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(encoder.encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  return {
    code: out.code,
    success: out.success,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

/** `deno <args>` through {@linkcode run} (e.g. `["run", ...flags, script]`, `["task", ...]`). */
export function runDeno(
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<RunResult> {
  return run(Deno.execPath(), args, options);
}

/**
 * Runs TypeScript `source` as a file under `deno run` with exactly `flags`
 * (`deno eval` would grant every permission), then removes the file.
 */
export async function runDenoSource(
  flags: string[],
  source: string,
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<RunResult> {
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, source);
    return await runDeno(["run", ...flags, file], options);
  } finally {
    await Deno.remove(file);
  }
}

/** Reads a /proc file through `cat`: Deno reads /proc only with --allow-all. */
export async function readProc(path: string): Promise<string> {
  const r = await run("cat", [path]);
  if (!r.success) throw new Error(`cat ${path}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** The sysctl that opens ICMP ping sockets to a range of groups. */
export const PING_RANGE_FILE = "/proc/sys/net/ipv4/ping_group_range";

/** `net.ipv4.ping_group_range` as `"lo hi"` (read through the shell, as /proc needs). */
export async function readPingRange(): Promise<string> {
  return (await run("cat", [PING_RANGE_FILE])).stdout.trim().replace(/\s+/, " ");
}

/** Sets `net.ipv4.ping_group_range`; whether it now reads back as `value`. */
export async function writePingRange(value: string): Promise<boolean> {
  const r = await run("sh", ["-c", `echo "$1" > ${PING_RANGE_FILE}`, "sh", value]);
  return r.code === 0 && (await readPingRange()) === value;
}

/**
 * Whether this process may make private mount and network namespaces
 * (`unshare -m -n`, root): the tests that need their own /etc/hosts or
 * resolv.conf, so that no lookup or packet leaves the machine, run in one.
 */
export function canIsolate(): boolean {
  try {
    return new Deno.Command("unshare", { args: ["-m", "-n", "true"], stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}
