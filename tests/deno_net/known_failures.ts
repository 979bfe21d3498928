/**
 * The tests of Deno's net suite that pass on Deno's API and still fail on
 * ours, by cause. tests/deno_net_test.ts fails on any other such test, and on
 * a cause that no longer excuses anything (fixed: delete it here).
 *
 * A cause names its tests, or matches the error the reporter printed, or
 * both. `timing: true` marks a cause whose victims vary from run to run, so
 * that seeing none in one run does not call it fixed.
 *
 * @module
 */

export interface KnownCause {
  cause: string;
  /** Where in our code, and what would fix it. */
  diagnosis: string;
  tests?: string[];
  error?: RegExp;
  timing?: boolean;
}

export const KNOWN: KnownCause[] = [
  {
    cause: "op sanitizer: the reactor's woken epoll_wait_blocking is still in flight at test end",
    diagnosis: "reactor/reactor.ts #maybeStop wakes the blocked EpollPoller.wait() when the " +
      "last refed waiter goes (close, unref), but the nonblocking FFI call reports completion " +
      "from a helper thread; Deno's sanitizer only spins the event loop 16 times " +
      "(cli/tools/test/sanitizers.rs MAX_SANITIZER_LOOP_SPINS) with no sleep, so whether the " +
      "wait is seen complete is a race. Deno's own ops are cancelled on the same thread.",
    error: /non blocking ffi call was started in this test, but never completed/,
    timing: true,
  },
];

/** The cause that excuses this failure, if any. */
export function excuse(name: string, error: string | undefined): KnownCause | undefined {
  return KNOWN.find((k) =>
    (k.tests === undefined || k.tests.includes(name)) &&
    (k.error === undefined || k.error.test(error ?? ""))
  );
}
