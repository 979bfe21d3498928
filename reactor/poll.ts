/**
 * Portable poll(2) backend: level-triggered, so it watches only the
 * directions somebody waits for; a pipe wakes a pending wait when that set
 * changes or the reactor must stop.
 *
 * @module
 */

import {
  EINTR,
  O_CLOEXEC,
  O_NONBLOCK,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  POLLRDHUP,
} from "../ffi/constants.ts";
import { SocketError } from "../ffi/errors.ts";
import { errno, libc } from "../ffi/libc.ts";
import { pollfd } from "../ffi/structs.ts";
import { CLOSED, type Poller, READABLE, WRITABLE } from "./poller.ts";

interface Interest {
  token: number;
  read: boolean;
  write: boolean;
}

const IN_BITS = POLLIN | POLLRDHUP | POLLHUP | POLLERR | POLLNVAL;
const OUT_BITS = POLLOUT | POLLHUP | POLLERR | POLLNVAL;
const CLOSED_BITS = POLLRDHUP | POLLHUP | POLLERR | POLLNVAL;

// The pollfd array is kept as 32-bit words, so the layout's offsets become
// word indices here, once: fd is one word, and events and revents share the
// next (revents the high half, on a little-endian CPU).
const WORD = Int32Array.BYTES_PER_ELEMENT;
const FD_FIELD = pollfd.field("fd");
const EVENTS_FIELD = pollfd.field("events");
if (
  pollfd.size % WORD !== 0 || FD_FIELD.offset % WORD !== 0 || EVENTS_FIELD.offset % WORD !== 0 ||
  pollfd.field("revents").offset !== EVENTS_FIELD.offset + EVENTS_FIELD.size ||
  new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1
) {
  throw new Error(`reactor/poll.ts cannot read ${pollfd.name} as 32-bit words here`);
}
/** Words per pollfd. */
const STRIDE = pollfd.size / WORD;
const FD_WORD = FD_FIELD.offset / WORD;
const EVENTS_WORD = EVENTS_FIELD.offset / WORD;
const REVENTS_SHIFT = 8 * EVENTS_FIELD.size;
const EVENTS_MASK = (1 << REVENTS_SHIFT) - 1;

/**
 * A poll(2)-based {@linkcode Poller}: level-triggered, for systems without
 * epoll (or `BSD_SOCKETS_POLLER=poll`).
 *
 * @example
 * ```ts
 * import { PollPoller } from "./poll.ts";
 * import { WRITABLE } from "./poller.ts";
 * import { O_CLOEXEC, O_NONBLOCK } from "../ffi/constants.ts";
 * import { close, pipe2 } from "../ffi/syscalls.ts";
 * const pipe = new Int32Array(2);
 * pipe2(pipe, O_NONBLOCK | O_CLOEXEC); // needs --allow-ffi
 * const poller = new PollPoller();
 * poller.add(pipe[1], 3);
 * poller.want(pipe[1], false, true); // wait to write
 * const n = poller.pollNow(); // 1: an empty pipe is writable
 * console.log(n, poller.tokenAt(0), poller.readinessAt(0) & WRITABLE);
 * poller.remove(pipe[1]);
 * poller.close();
 * close(pipe[0]);
 * close(pipe[1]);
 * ```
 */
export class PollPoller implements Poller {
  readonly name = "poll";
  readonly edgeTriggered = false;
  readonly #interest = new Map<number, Interest>();
  readonly #pipe = new Int32Array(2);
  readonly #drain = new Uint8Array(64);
  readonly #one = new Uint8Array(1);
  #set = new Int32Array(0); // pollfd[]: entry i is words [STRIDE*i ..)
  #count = 0;
  #dirty = true;
  #waiting = false;
  #wakePending = false;
  #resultFd = new Int32Array(64);
  #resultToken = new Uint32Array(64);
  #resultReady = new Uint8Array(64);

  /** @throws {SocketError} when the waker pipe cannot be created. */
  constructor() {
    if (libc().pipe2(this.#pipe, O_NONBLOCK | O_CLOEXEC) === -1) {
      throw new SocketError(errno(), "pipe2");
    }
  }

  add(fd: number, token: number): void {
    this.#interest.set(fd, { token, read: false, write: false });
  }

  want(fd: number, read: boolean, write: boolean): void {
    const entry = this.#interest.get(fd);
    if (!entry || (entry.read === read && entry.write === write)) return;
    entry.read = read;
    entry.write = write;
    this.#changed();
  }

  remove(fd: number): void {
    if (this.#interest.delete(fd)) this.#changed();
  }

  #changed(): void {
    this.#dirty = true;
    if (this.#waiting) this.wake();
  }

  #build(): void {
    if (!this.#dirty) return;
    this.#dirty = false;
    let n = 1;
    for (const entry of this.#interest.values()) if (entry.read || entry.write) n++;
    if (this.#set.length < STRIDE * n) {
      this.#set = new Int32Array(STRIDE * Math.max(n, 2 * this.#set.length / STRIDE, 16));
    }
    const s = this.#set;
    s[FD_WORD] = this.#pipe[0];
    s[EVENTS_WORD] = POLLIN;
    let i = 1;
    for (const [fd, entry] of this.#interest) {
      if (!entry.read && !entry.write) continue;
      s[STRIDE * i + FD_WORD] = fd;
      s[STRIDE * i + EVENTS_WORD] = (entry.read ? POLLIN | POLLRDHUP : 0) |
        (entry.write ? POLLOUT : 0);
      i++;
    }
    this.#count = n;
    if (this.#resultFd.length < n) {
      this.#resultFd = new Int32Array(n);
      this.#resultToken = new Uint32Array(n);
      this.#resultReady = new Uint8Array(n);
    }
  }

  pollNow(): number {
    this.#build();
    const c = libc();
    const bytes = new Uint8Array(this.#set.buffer, 0, pollfd.size * this.#count);
    let n: number;
    do n = c.poll(bytes, this.#count, 0); while (n === -1 && errno() === EINTR);
    if (n === -1) throw new SocketError(errno(), "poll");
    return this.#collect(n);
  }

  async wait(): Promise<number> {
    this.#build();
    // The kernel fills revents while we may rebuild #set: wait on a copy.
    const copy = this.#set.slice(0, STRIDE * this.#count);
    this.#waiting = true;
    let n: number;
    try {
      n = await libc().poll_blocking(new Uint8Array(copy.buffer), this.#count, -1);
    } finally {
      this.#waiting = false;
    }
    if (n <= 0) return 0;
    const saved = this.#set;
    this.#set = copy;
    try {
      return this.#collect(n);
    } finally {
      this.#set = saved;
      this.#dirty = true;
    }
  }

  #collect(n: number): number {
    const s = this.#set;
    let out = 0;
    for (let i = 0; i < this.#count && n > 0; i++) {
      const revents = s[STRIDE * i + EVENTS_WORD] >>> REVENTS_SHIFT;
      if (revents === 0) continue;
      n--;
      s[STRIDE * i + EVENTS_WORD] &= EVENTS_MASK;
      const fd = s[STRIDE * i + FD_WORD];
      if (i === 0) {
        while (libc().read(fd, this.#drain, this.#drain.length) > 0) { /* drain */ }
        this.#wakePending = false;
        continue;
      }
      const entry = this.#interest.get(fd);
      if (!entry) continue;
      this.#resultFd[out] = fd;
      this.#resultToken[out] = entry.token;
      this.#resultReady[out] = ((revents & IN_BITS) !== 0 ? READABLE : 0) |
        ((revents & OUT_BITS) !== 0 ? WRITABLE : 0) | ((revents & CLOSED_BITS) !== 0 ? CLOSED : 0);
      out++;
    }
    return out;
  }

  wake(): void {
    if (this.#wakePending) return;
    this.#wakePending = true;
    libc().write(this.#pipe[1], this.#one, 1);
  }

  fdAt(i: number): number {
    return this.#resultFd[i];
  }

  tokenAt(i: number): number {
    return this.#resultToken[i];
  }

  readinessAt(i: number): number {
    return this.#resultReady[i];
  }

  close(): void {
    libc().close(this.#pipe[0]);
    libc().close(this.#pipe[1]);
  }
}
