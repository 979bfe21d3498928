/**
 * The readiness reactor: one per JavaScript thread (each Worker has its own).
 *
 * Sockets are non-blocking. An operation tries its syscall first and asks
 * the reactor to wait only after `EAGAIN`. The reactor polls without
 * blocking while work is flowing and blocks on a helper thread (a
 * `nonblocking` FFI call) only when nothing is ready. When no ref'd waiter
 * is left it stops, so no FFI call stays pending and the process can exit.
 *
 * @module
 */

import { checkFd } from "../ffi/checks.ts";
import { EpollPoller } from "./epoll.ts";
import { PollPoller } from "./poll.ts";
import { CLOSED, type Poller, READABLE, WRITABLE } from "./poller.ts";

/** Microtask turns to let resumed tasks run before polling again without blocking. */
const SETTLE_TURNS = 6;
/**
 * Milliseconds the loop may keep polling without blocking before it lets
 * timers and Deno's own I/O run (a blocking wait returns through the event
 * loop). Counted in time, not rounds: under a burst one round can be long.
 */
const MAX_BUSY_MS = 4;
/** How often waiters on unref'd sources are polled while the loop is stopped. */
const UNREF_POLL_MS = 25;

type Resolve = (value: void) => void;
type Reject = (reason: unknown) => void;

/**
 * One registered descriptor: its readiness cache and at most one reader and
 * one writer waiting on it.
 *
 * @example
 * ```ts
 * import { type IoSource, reactor } from "./reactor.ts";
 * import { O_CLOEXEC, O_NONBLOCK } from "../ffi/constants.ts";
 * import { close, pipe2, write } from "../ffi/syscalls.ts";
 * const pipe = new Int32Array(2);
 * pipe2(pipe, O_NONBLOCK | O_CLOEXEC); // needs --allow-ffi
 * const source: IoSource = reactor().register(pipe[0]);
 * const ready = reactor().readable(source);
 * write(pipe[1], new Uint8Array([1]));
 * await ready; // pipe[0] can now be read without EAGAIN
 * reactor().deregister(source, new Error("closed"));
 * close(pipe[0]);
 * close(pipe[1]);
 * ```
 */
export class IoSource {
  /** The descriptor. */
  readonly fd: number;
  /** Distinguishes this registration from a later one of the same fd number. */
  readonly token: number;
  /** Whether a waiter here keeps the process alive. */
  refed = true;
  /** Set once {@linkcode Reactor.deregister} ran. */
  closed = false;
  /**
   * How many readable events the reactor has seen for this source. A reader
   * that drained the socket (a short read) remembers the count; while it is
   * unchanged no data can have arrived, so the reader waits without first
   * paying for a read that would only say `EAGAIN`.
   */
  readEvents = 0;
  /**
   * Set once an event said the peer hung up or the socket failed: from then
   * on a read never blocks (it returns end of stream or the error), so a
   * drained reader must still try it. Edge-triggered backends report that
   * condition once; this keeps it.
   */
  readClosed = false;
  /** @internal */ readResolve: Resolve | null = null;
  /** @internal */ readReject: Reject | null = null;
  /** @internal */ writeResolve: Resolve | null = null;
  /** @internal */ writeReject: Reject | null = null;
  /** @internal */ readonly readExecutor: (res: Resolve, rej: Reject) => void;
  /** @internal */ readonly writeExecutor: (res: Resolve, rej: Reject) => void;

  /**
   * Creates the source of a registration (the reactor does this in `register`).
   *
   * @param fd the descriptor.
   * @param token the registration token.
   */
  constructor(fd: number, token: number) {
    this.fd = fd;
    this.token = token;
    // Made once per source, so waiting allocates a promise and nothing else.
    this.readExecutor = (res, rej) => {
      this.readResolve = res;
      this.readReject = rej;
    };
    this.writeExecutor = (res, rej) => {
      this.writeResolve = res;
      this.writeReject = rej;
    };
  }

  /** Whether a reader is waiting. */
  get waitingToRead(): boolean {
    return this.readResolve !== null;
  }

  /** Whether a writer is waiting. */
  get waitingToWrite(): boolean {
    return this.writeResolve !== null;
  }
}

/**
 * Which backend to use: `"auto"` picks epoll where it exists, else poll.
 *
 * @example
 * ```ts
 * import { type PollerKind, setPoller } from "./reactor.ts";
 * const kind: PollerKind = Deno.build.os === "linux" ? "epoll" : "poll";
 * setPoller(kind); // before the first socket is opened
 * ```
 */
export type PollerKind = "auto" | "epoll" | "poll";

/**
 * The reactor. Get the thread's instance with {@linkcode reactor}.
 *
 * @example
 * ```ts
 * import { type Reactor, reactor } from "./reactor.ts";
 * import { O_CLOEXEC, O_NONBLOCK } from "../ffi/constants.ts";
 * import { close, pipe2 } from "../ffi/syscalls.ts";
 * const pipe = new Int32Array(2);
 * pipe2(pipe, O_NONBLOCK | O_CLOEXEC); // needs --allow-ffi
 * const r: Reactor = reactor();
 * const source = r.register(pipe[1]);
 * await r.writable(source); // an empty pipe takes a write at once
 * r.deregister(source, new Error("closed"));
 * close(pipe[0]);
 * close(pipe[1]);
 * ```
 */
export class Reactor {
  readonly #poller: Poller;
  readonly #sources: (IoSource | undefined)[] = [];
  #nextToken = 1;
  #waiters = 0;
  #refedWaiters = 0;
  #running = false;
  #blocking = false;
  #unrefTimer: ReturnType<typeof setInterval> | undefined;
  // Rejections of closed sources held until the in-flight poll returns.
  #afterWait: (() => void)[] = [];

  /**
   * Creates a reactor over a backend; use {@linkcode reactor} for the thread's own.
   *
   * @param poller the backend.
   */
  constructor(poller: Poller) {
    this.#poller = poller;
  }

  /** The backend's name (`"epoll"` or `"poll"`). */
  get backend(): string {
    return this.#poller.name;
  }

  /** How many registered descriptors. */
  get size(): number {
    let n = 0;
    for (const s of this.#sources) if (s) n++;
    return n;
  }

  /** Whether a poll is pending on a helper thread right now. */
  get blocking(): boolean {
    return this.#blocking;
  }

  /**
   * Registers a non-blocking descriptor.
   *
   * @param fd the descriptor.
   * @returns its source.
   */
  register(fd: number): IoSource {
    checkFd(fd); // the backend may be any Poller: never index #sources by something else
    const token = this.#nextToken;
    this.#nextToken = token === 0xfffffffe ? 1 : token + 1;
    const source = new IoSource(fd, token);
    this.#poller.add(fd, token);
    this.#sources[fd] = source;
    return source;
  }

  /**
   * Unregisters a source and rejects its waiters with `error`. Call it
   * before closing the descriptor. Idempotent.
   *
   * @param source the source.
   * @param error what pending waiters reject with.
   */
  deregister(source: IoSource, error: unknown): void {
    if (source.closed) return;
    source.closed = true;
    if (this.#sources[source.fd] === source) this.#sources[source.fd] = undefined;
    this.#poller.remove(source.fd);
    const rr = source.readReject, wr = source.writeReject;
    if (rr) {
      this.#release(source);
      source.readResolve = source.readReject = null;
      this.#rejectSoon(rr, error);
    }
    if (wr) {
      this.#release(source);
      source.writeResolve = source.writeReject = null;
      this.#rejectSoon(wr, error);
    }
    this.#maybeStop();
  }

  /**
   * Rejects a waiter of a closed source. While a blocking poll is in flight
   * on the helper thread, the poll is woken and the rejection waits for it
   * to come back: code that awaits the rejection (a test that closes a
   * listener and awaits its accept) then runs after the poll has completed,
   * so Deno's op sanitizer never sees it still pending.
   */
  #rejectSoon(reject: (error: unknown) => void, error: unknown): void {
    if (!this.#blocking) {
      reject(error);
      return;
    }
    this.#afterWait.push(() => reject(error));
    this.#poller.wake();
  }

  /**
   * Waits until `source` may be readable again (after `EAGAIN`).
   *
   * @param source the source; at most one reader waits at a time.
   * @returns a promise that resolves on readiness or rejects when the source is deregistered.
   */
  readable(source: IoSource): Promise<void> {
    const p = new Promise<void>(source.readExecutor);
    this.#acquire(source);
    this.#poller.want(source.fd, true, source.writeResolve !== null);
    return p;
  }

  /**
   * Waits until `source` may be writable again (after `EAGAIN` or `EINPROGRESS`).
   *
   * @param source the source; at most one writer waits at a time.
   * @returns a promise that resolves on readiness or rejects when the source is deregistered.
   */
  writable(source: IoSource): Promise<void> {
    const p = new Promise<void>(source.writeExecutor);
    this.#acquire(source);
    this.#poller.want(source.fd, source.readResolve !== null, true);
    return p;
  }

  /**
   * Sets whether waiters on `source` keep the process alive.
   *
   * @param source the source.
   * @param refed true to keep the process alive while it waits.
   */
  setRef(source: IoSource, refed: boolean): void {
    if (source.refed === refed) return;
    const waiting = (source.readResolve ? 1 : 0) + (source.writeResolve ? 1 : 0);
    source.refed = refed;
    this.#refedWaiters += refed ? waiting : -waiting;
    if (refed) this.#start();
    else this.#maybeStop();
  }

  #acquire(source: IoSource): void {
    this.#waiters++;
    if (source.refed) {
      this.#refedWaiters++;
      this.#start();
    } else {
      this.#startUnrefPolling();
    }
  }

  #release(source: IoSource): void {
    this.#waiters--;
    if (source.refed) this.#refedWaiters--;
  }

  #start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stopUnrefPolling();
    this.#run().catch((error) => {
      // A failing epoll_wait leaves every waiter stuck: fail them loudly.
      for (const s of this.#sources) if (s) this.deregister(s, error);
    });
  }

  /** Wakes a blocked poll when no ref'd waiter is left, so the process can exit. */
  #maybeStop(): void {
    if (this.#refedWaiters === 0 && this.#blocking) this.#poller.wake();
  }

  async #run(): Promise<void> {
    const poller = this.#poller;
    let busySince = performance.now();
    try {
      while (this.#refedWaiters > 0) {
        let n = performance.now() - busySince < MAX_BUSY_MS ? poller.pollNow() : 0;
        if (n === 0) {
          // Nothing ready (or time to let timers and other I/O run): block on a helper thread.
          this.#blocking = true;
          try {
            n = await poller.wait();
          } finally {
            this.#blocking = false;
            this.#flushAfterWait();
          }
          busySince = performance.now();
          if (n === 0) continue;
        }
        this.#dispatch(n);
        // Let the tasks just resumed read, write and wait again before we
        // poll without blocking, so their next events are caught on this thread.
        for (let i = 0; i < SETTLE_TURNS; i++) await undefined;
      }
    } finally {
      this.#running = false;
    }
    if (this.#waiters > 0) this.#startUnrefPolling();
  }

  #flushAfterWait(): void {
    const held = this.#afterWait;
    if (held.length === 0) return;
    this.#afterWait = [];
    for (const reject of held) reject();
  }

  #dispatch(n: number): void {
    const poller = this.#poller;
    const sources = this.#sources;
    for (let i = 0; i < n; i++) {
      const source = sources[poller.fdAt(i)];
      if (source === undefined || source.token !== poller.tokenAt(i)) continue;
      const ready = poller.readinessAt(i);
      if ((ready & READABLE) !== 0) source.readEvents++;
      if ((ready & CLOSED) !== 0) source.readClosed = true;
      if ((ready & READABLE) !== 0 && source.readResolve !== null) {
        const resolve = source.readResolve;
        source.readResolve = source.readReject = null;
        this.#release(source);
        resolve();
      }
      if ((ready & WRITABLE) !== 0 && source.writeResolve !== null) {
        const resolve = source.writeResolve;
        source.writeResolve = source.writeReject = null;
        this.#release(source);
        resolve();
      }
      if (!poller.edgeTriggered) {
        poller.want(source.fd, source.readResolve !== null, source.writeResolve !== null);
      }
    }
  }

  /**
   * Waiters on unref'd sources must still complete while something else
   * keeps the process alive, without keeping it alive themselves: an
   * unref'd timer polls for them while the loop is stopped.
   */
  #startUnrefPolling(): void {
    if (this.#running || this.#unrefTimer !== undefined || this.#waiters === 0) return;
    this.#unrefTimer = setInterval(() => {
      if (this.#running || this.#waiters === 0) {
        this.#stopUnrefPolling();
        return;
      }
      const n = this.#poller.pollNow();
      if (n > 0) this.#dispatch(n);
    }, UNREF_POLL_MS);
    Deno.unrefTimer(this.#unrefTimer);
  }

  #stopUnrefPolling(): void {
    if (this.#unrefTimer === undefined) return;
    clearInterval(this.#unrefTimer);
    this.#unrefTimer = undefined;
  }
}

let instance: Reactor | undefined;
let preferred: PollerKind = "auto";
const POLLER_VARIABLE = "BSD_SOCKETS_POLLER";

function makePoller(kind: PollerKind): Poller {
  if (kind === "poll") return new PollPoller();
  if (kind === "epoll") return new EpollPoller();
  if (Deno.build.os === "linux") {
    try {
      return new EpollPoller();
    } catch {
      // epoll unavailable (seccomp, emulation): fall back to poll(2).
    }
  }
  return new PollPoller();
}

/**
 * Chooses the backend of the thread's reactor. Call it before the first
 * socket is made; the `BSD_SOCKETS_POLLER` environment variable (`epoll` or
 * `poll`) does the same without code.
 *
 * @param kind `"auto"`, `"epoll"` or `"poll"`.
 * @throws {Deno.errors.AlreadyExists} when the reactor already exists with another backend.
 * @example
 * ```ts
 * import { setPoller } from "./reactor.ts";
 * setPoller("poll");
 * ```
 */
export function setPoller(kind: PollerKind): void {
  if (kind !== "auto" && kind !== "epoll" && kind !== "poll") {
    throw new TypeError(`poller must be "auto", "epoll" or "poll", got ${String(kind)}`);
  }
  if (instance !== undefined && kind !== "auto" && instance.backend !== kind) {
    throw new Deno.errors.AlreadyExists(`the reactor already runs on ${instance.backend}`);
  }
  preferred = kind;
}

/**
 * The reactor of the calling thread, made on first use.
 *
 * @returns the reactor.
 * @example
 * ```ts
 * import { reactor } from "./reactor.ts";
 * console.log(reactor().backend); // "epoll" on Linux; needs --allow-ffi
 * ```
 */
export function reactor(): Reactor {
  if (instance === undefined) {
    let kind = preferred;
    if (kind === "auto") {
      // Query first: without --allow-env, Deno.env.get would prompt on a terminal.
      const fromEnv = Deno.permissions.querySync({ name: "env", variable: POLLER_VARIABLE })
          .state === "granted"
        ? Deno.env.get(POLLER_VARIABLE)
        : undefined;
      if (fromEnv === "epoll" || fromEnv === "poll") kind = fromEnv;
    }
    instance = new Reactor(makePoller(kind));
  }
  return instance;
}
