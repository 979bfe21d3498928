/**
 * A queue that runs asynchronous operations one after another, in call
 * order: how writes (and datagram sends and receives) keep their order when
 * some of them must wait for the socket.
 *
 * @module
 */

/** Runs operations one at a time, in the order they were queued. */
export class SerialQueue {
  #tail: Promise<void> | null = null;

  /** Whether an operation is queued or running. */
  get busy(): boolean {
    return this.#tail !== null;
  }

  /** Settles once everything queued so far has finished; null when idle. */
  get settled(): Promise<void> | null {
    return this.#tail;
  }

  /**
   * Queues `operation` behind the ones before it.
   *
   * @param operation started once every earlier operation has settled.
   * @returns what `operation` returns (a failure fails only this call).
   */
  async run<T>(operation: () => Promise<T>): Promise<T> {
    const previous = this.#tail;
    let done!: () => void;
    const tail = new Promise<void>((resolve) => done = resolve);
    this.#tail = tail;
    try {
      if (previous !== null) await previous;
      return await operation();
    } finally {
      done();
      if (this.#tail === tail) this.#tail = null;
    }
  }
}
