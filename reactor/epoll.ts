/**
 * Linux epoll backend: edge-triggered, one registration per descriptor for
 * both directions, an eventfd as waker.
 *
 * @module
 */

import {
  EBADF,
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  EINTR,
  ENOENT,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLLERR,
  EPOLLET,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  EPOLLRDHUP,
} from "../ffi/constants.ts";
import { SocketError } from "../ffi/errors.ts";
import { errno, libc } from "../ffi/libc.ts";
import { epoll_event } from "../ffi/structs.ts";
import { CLOSED, type Poller, READABLE, WRITABLE } from "./poller.ts";

const WAKER_TOKEN = 0xffffffff;
const IN_BITS = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
const OUT_BITS = EPOLLOUT | EPOLLHUP | EPOLLERR;
const CLOSED_BITS = EPOLLRDHUP | EPOLLHUP | EPOLLERR;
// `>>> 0` keeps EPOLLET (bit 31) an unsigned value for the Uint32Array.
const INTEREST = (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) >>> 0;

// The event arrays are read as 32-bit words, so the layout's offsets become
// word indices here, once: packed events on x86_64, aligned ones (with a
// padding word before data) on aarch64. The fd is the low half of `data`
// and the token the high half, which needs a little-endian CPU.
const WORD = Uint32Array.BYTES_PER_ELEMENT;
const EVENTS_FIELD = epoll_event.field("events");
const DATA_FIELD = epoll_event.field("data");
if (
  epoll_event.size % WORD !== 0 || EVENTS_FIELD.offset % WORD !== 0 ||
  DATA_FIELD.offset % WORD !== 0 || new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1
) {
  throw new Error(`reactor/epoll.ts cannot read ${epoll_event.name} as 32-bit words here`);
}
/** Words per event. */
const STRIDE = epoll_event.size / WORD;
const EVENTS_WORD = EVENTS_FIELD.offset / WORD;
const FD_WORD = DATA_FIELD.offset / WORD;
const TOKEN_WORD = FD_WORD + 1;

/**
 * An epoll-based {@linkcode Poller} (Linux).
 *
 * @example
 * ```ts
 * import { EpollPoller } from "./epoll.ts";
 * import { READABLE } from "./poller.ts";
 * import { O_CLOEXEC, O_NONBLOCK } from "../ffi/constants.ts";
 * import { close, pipe2, write } from "../ffi/syscalls.ts";
 * const pipe = new Int32Array(2);
 * pipe2(pipe, O_NONBLOCK | O_CLOEXEC); // needs --allow-ffi
 * const poller = new EpollPoller(16); // at most 16 events per poll
 * poller.add(pipe[0], 7); // token 7; edge-triggered, both directions
 * write(pipe[1], new Uint8Array([1]));
 * const n = poller.pollNow();
 * console.log(n, poller.fdAt(0) === pipe[0], poller.tokenAt(0), poller.readinessAt(0) & READABLE);
 * poller.remove(pipe[0]);
 * poller.close();
 * close(pipe[0]);
 * close(pipe[1]);
 * ```
 */
export class EpollPoller implements Poller {
  readonly name = "epoll";
  readonly edgeTriggered = true;
  readonly #epfd: number;
  readonly #wakefd: number;
  readonly #capacity: number;
  // Event i is words [STRIDE*i ..): events, fd (low half of data), token (high half).
  readonly #events: Uint8Array;
  readonly #words: Uint32Array;
  // The blocking wait writes into its own buffer: it runs on a helper
  // thread while the JavaScript thread may still poll with #events.
  readonly #waitEvents: Uint8Array;
  readonly #waitWords: Uint32Array;
  #current: Uint32Array;
  readonly #ctl = new Uint32Array(STRIDE);
  readonly #ctlBytes = new Uint8Array(this.#ctl.buffer);
  readonly #wakeValue = new BigUint64Array([1n]);
  readonly #wakeBytes = new Uint8Array(this.#wakeValue.buffer);
  readonly #drain = new Uint8Array(8);
  #wakePending = false;

  /**
   * @param capacity how many events one poll returns at most.
   * @throws {SocketError} when epoll or eventfd cannot be created.
   */
  constructor(capacity = 1024) {
    const c = libc();
    this.#capacity = capacity;
    this.#events = new Uint8Array(epoll_event.size * capacity);
    this.#words = new Uint32Array(this.#events.buffer);
    this.#waitEvents = new Uint8Array(epoll_event.size * capacity);
    this.#waitWords = new Uint32Array(this.#waitEvents.buffer);
    this.#current = this.#words;
    this.#epfd = c.epoll_create1(EPOLL_CLOEXEC);
    if (this.#epfd === -1) throw new SocketError(errno(), "epoll_create1");
    this.#wakefd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (this.#wakefd === -1) {
      const e = errno();
      c.close(this.#epfd);
      throw new SocketError(e, "eventfd");
    }
    this.#ctl[EVENTS_WORD] = (EPOLLIN | EPOLLET) >>> 0;
    this.#ctl[FD_WORD] = this.#wakefd;
    this.#ctl[TOKEN_WORD] = WAKER_TOKEN;
    if (c.epoll_ctl(this.#epfd, EPOLL_CTL_ADD, this.#wakefd, this.#ctlBytes) === -1) {
      throw new SocketError(errno(), "epoll_ctl");
    }
  }

  add(fd: number, token: number): void {
    this.#ctl[EVENTS_WORD] = INTEREST;
    this.#ctl[FD_WORD] = fd;
    this.#ctl[TOKEN_WORD] = token;
    if (libc().epoll_ctl(this.#epfd, EPOLL_CTL_ADD, fd, this.#ctlBytes) === -1) {
      throw new SocketError(errno(), "epoll_ctl");
    }
  }

  want(_fd: number, _read: boolean, _write: boolean): void {
    // Edge-triggered: the registration already covers both directions.
  }

  remove(fd: number): void {
    if (libc().epoll_ctl(this.#epfd, EPOLL_CTL_DEL, fd, this.#ctlBytes) === -1) {
      const e = errno();
      // ENOENT: never added (a socket whose registration failed). Anything
      // else (EBADF) means the descriptor is already gone; the kernel then
      // dropped the registration itself.
      if (e !== ENOENT && e !== EBADF) throw new SocketError(e, "epoll_ctl");
    }
  }

  pollNow(): number {
    const c = libc();
    let n: number;
    do n = c.epoll_wait(this.#epfd, this.#events, this.#capacity, 0); while (
      n === -1 && errno() === EINTR
    );
    if (n === -1) throw new SocketError(errno(), "epoll_wait");
    this.#current = this.#words;
    return this.#filterWaker(n);
  }

  async wait(): Promise<number> {
    const n = await libc().epoll_wait_blocking(
      this.#epfd,
      this.#waitEvents,
      this.#capacity,
      -1,
    );
    // -1 here can only be EINTR (errno belongs to the helper thread): report
    // no events and let the loop poll again.
    this.#current = this.#waitWords;
    return n < 0 ? 0 : this.#filterWaker(n);
  }

  /** Drops the waker's event from the list (it is not a socket's). */
  #filterWaker(n: number): number {
    const w = this.#current;
    for (let i = 0; i < n; i++) {
      const at = STRIDE * i;
      if (w[at + TOKEN_WORD] === WAKER_TOKEN && w[at + FD_WORD] === this.#wakefd) {
        libc().read(this.#wakefd, this.#drain, 8);
        this.#wakePending = false;
        w.copyWithin(at, STRIDE * (n - 1), STRIDE * n);
        return n - 1;
      }
    }
    return n;
  }

  wake(): void {
    if (this.#wakePending) return;
    this.#wakePending = true;
    libc().write(this.#wakefd, this.#wakeBytes, 8);
  }

  fdAt(i: number): number {
    return this.#current[STRIDE * i + FD_WORD];
  }

  tokenAt(i: number): number {
    return this.#current[STRIDE * i + TOKEN_WORD];
  }

  readinessAt(i: number): number {
    const ev = this.#current[STRIDE * i + EVENTS_WORD];
    return ((ev & IN_BITS) !== 0 ? READABLE : 0) | ((ev & OUT_BITS) !== 0 ? WRITABLE : 0) |
      ((ev & CLOSED_BITS) !== 0 ? CLOSED : 0);
  }

  close(): void {
    const c = libc();
    c.close(this.#wakefd);
    c.close(this.#epfd);
  }
}
