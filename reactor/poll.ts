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
import { CLOSED, type Poller, READABLE, WRITABLE } from "./poller.ts";

interface Interest {
  token: number;
  read: boolean;
  write: boolean;
}

const IN_BITS = POLLIN | POLLRDHUP | POLLHUP | POLLERR | POLLNVAL;
const OUT_BITS = POLLOUT | POLLHUP | POLLERR | POLLNVAL;
const CLOSED_BITS = POLLRDHUP | POLLHUP | POLLERR | POLLNVAL;

/** A poll(2)-based {@linkcode Poller}. */
export class PollPoller implements Poller {
  readonly name = "poll";
  readonly edgeTriggered = false;
  readonly #interest = new Map<number, Interest>();
  readonly #pipe = new Int32Array(2);
  readonly #drain = new Uint8Array(64);
  readonly #one = new Uint8Array(1);
  #set = new Int32Array(0); // pollfd[]: word 2i = fd, word 2i+1 = events | revents << 16
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
    if (this.#set.length < 2 * n) {
      this.#set = new Int32Array(2 * Math.max(n, 2 * this.#set.length / 2 | 0, 16));
    }
    const s = this.#set;
    s[0] = this.#pipe[0];
    s[1] = POLLIN;
    let i = 1;
    for (const [fd, entry] of this.#interest) {
      if (!entry.read && !entry.write) continue;
      s[2 * i] = fd;
      s[2 * i + 1] = (entry.read ? POLLIN | POLLRDHUP : 0) | (entry.write ? POLLOUT : 0);
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
    const bytes = new Uint8Array(this.#set.buffer, 0, 8 * this.#count);
    let n: number;
    do n = c.poll(bytes, this.#count, 0); while (n === -1 && errno() === EINTR);
    if (n === -1) throw new SocketError(errno(), "poll");
    return this.#collect(n);
  }

  async wait(): Promise<number> {
    this.#build();
    // The kernel fills revents while we may rebuild #set: wait on a copy.
    const copy = this.#set.slice(0, 2 * this.#count);
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
      const revents = s[2 * i + 1] >>> 16;
      if (revents === 0) continue;
      n--;
      s[2 * i + 1] &= 0xffff;
      const fd = s[2 * i];
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
