/**
 * The small interface every readiness backend implements (epoll, poll). The
 * reactor knows descriptors and readiness, never connections.
 *
 * @module
 */

/**
 * Readiness bit: the descriptor can be read (or accepted) without blocking.
 *
 * @example
 * ```ts
 * import { CLOSED, READABLE } from "./poller.ts";
 * const readiness = READABLE | CLOSED; // e.g. from poller.readinessAt(i)
 * if (readiness & READABLE) console.log("a read will not block");
 * ```
 */
export const READABLE = 1;
/**
 * Readiness bit: the descriptor can be written (or a connect finished).
 *
 * @example
 * ```ts
 * import { WRITABLE } from "./poller.ts";
 * const readiness: number = WRITABLE; // e.g. from poller.readinessAt(i)
 * if (readiness & WRITABLE) console.log("a write (or the pending connect) is ready");
 * ```
 */
export const WRITABLE = 2;
/**
 * Readiness bit: the peer hung up or the socket has an error (reads will
 * return end of stream or the error without blocking, however often they run).
 *
 * @example
 * ```ts
 * import { CLOSED, READABLE, WRITABLE } from "./poller.ts";
 * const readiness = READABLE | WRITABLE | CLOSED; // an error or hang-up sets all three
 * if (readiness & CLOSED) console.log("peer hung up: read to get EOF or the error");
 * ```
 */
export const CLOSED = 4;

/**
 * A readiness backend. Backends report edges or levels in a common form:
 * after {@linkcode Poller.pollNow} or {@linkcode Poller.wait} returns `n`,
 * entries `0..n-1` are read with {@linkcode Poller.fdAt},
 * {@linkcode Poller.tokenAt} and {@linkcode Poller.readinessAt}.
 *
 * @example
 * ```ts
 * import { PollPoller } from "./poll.ts";
 * import { type Poller, READABLE } from "./poller.ts";
 * import { O_CLOEXEC, O_NONBLOCK } from "../ffi/constants.ts";
 * import { close, pipe2, write } from "../ffi/syscalls.ts";
 * const pipe = new Int32Array(2);
 * pipe2(pipe, O_NONBLOCK | O_CLOEXEC); // needs --allow-ffi
 * const poller: Poller = new PollPoller();
 * poller.add(pipe[0], 1); // token 1
 * poller.want(pipe[0], true, false); // a level-triggered backend watches only what is wanted
 * write(pipe[1], new Uint8Array([1]));
 * const n = await poller.wait();
 * for (let i = 0; i < n; i++) {
 *   if (poller.readinessAt(i) & READABLE) console.log(poller.fdAt(i), poller.tokenAt(i));
 * }
 * poller.remove(pipe[0]);
 * poller.close();
 * close(pipe[0]);
 * close(pipe[1]);
 * ```
 */
export interface Poller {
  /** `"epoll"` or `"poll"`. */
  readonly name: string;
  /** True when the backend delivers edges (each readiness change once). */
  readonly edgeTriggered: boolean;
  /**
   * Starts watching `fd` (for reading and writing); `token` comes back with
   * its events, so a stale event for a reused descriptor number can be told apart.
   */
  add(fd: number, token: number): void;
  /**
   * Says which directions somebody waits for (level-triggered backends only
   * watch those; edge-triggered ones ignore it).
   */
  want(fd: number, read: boolean, write: boolean): void;
  /** Stops watching `fd`; call before closing it. */
  remove(fd: number): void;
  /** Collects ready events without blocking; returns how many. */
  pollNow(): number;
  /**
   * Blocks on a helper thread until an event or {@linkcode Poller.wake};
   * returns how many events (a wake-up alone may return 0).
   */
  wait(): Promise<number>;
  /** Interrupts a pending {@linkcode Poller.wait} from the JavaScript thread. */
  wake(): void;
  /** The descriptor of event `i`. */
  fdAt(i: number): number;
  /** The token of event `i`. */
  tokenAt(i: number): number;
  /** `READABLE | WRITABLE | CLOSED` of event `i` (errors and hang-ups set all three). */
  readinessAt(i: number): number;
  /** Releases the backend's own descriptors. */
  close(): void;
}
