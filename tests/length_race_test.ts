/**
 * The `socklen_t *` race: a Worker flips a length cell in a SharedArrayBuffer
 * between 2 (the buffer's capacity) and 4096 while the main thread calls
 * getsockname, getpeername, accept, accept4, recvfrom and getsockopt with a
 * 2-byte view inside a guarded allocation. A wrapper that read the cell once
 * for its check and again for the kernel let the kernel write up to 280
 * bytes past the view (in 2 to 4 of 11 runs of 20 rounds here, depending
 * on the machine's load; twice the heap was corrupted outright when the
 * guards were narrower than TCP_INFO). The window is nanoseconds wide, so a
 * pass before the fix proved little; after it there is no window at all.
 *
 * The calls run in a subprocess (tests/fixtures/race_driver.ts): if memory
 * is corrupted, the process may abort, and that must fail this test rather
 * than take the test runner down with it.
 *
 * Run: deno test --allow-run --allow-read tests/length_race_test.ts
 */

import assert from "@assert";

const DRIVER = new URL("./fixtures/race_driver.ts", import.meta.url).pathname;
const ROUNDS = 20;

type Stat = { calls: number; rejected: number; overflows: number };
type Report = {
  rounds: number;
  calls: number;
  rejected: number;
  overflows: number;
  flips: number;
  ms: number;
  perCall: Record<string, Stat>;
};

Deno.test("length cells: a cell raised by another thread never reaches the kernel (20 rounds)", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", "--allow-read", DRIVER, String(ROUNDS)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    // Bounded: a wedged child is a failure, not a hung suite.
    signal: AbortSignal.timeout(120_000),
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(
    out.signal,
    null,
    `the racing process was killed by ${out.signal} (memory corruption?)\n${stderr}`,
  );
  assert.ok(out.success, `the racing process exited ${out.code}\n${stderr}\n${stdout}`);
  const report = JSON.parse(stdout.trim().split("\n").at(-1)!) as Report;

  assert.equal(report.rounds, ROUNDS);
  assert.equal(report.overflows, 0, `writes past the buffer: ${JSON.stringify(report.perCall)}`);
  // The race was really run: the worker flipped, some calls saw the large
  // value in their check (RangeError), and some saw the small one and
  // reached the kernel, in every call that takes a cell.
  assert.ok(report.flips > 0, "the worker never flipped the cell");
  for (
    const name of ["getsockname", "getpeername", "getsockopt", "accept", "accept4", "recvfrom"]
  ) {
    const s = report.perCall[name];
    assert.ok(s !== undefined, `${name} was not called`);
    assert.equal(s.overflows, 0, `${name} wrote past the buffer`);
    assert.ok(s.rejected > 0, `${name}: the check never saw the raised cell`);
    assert.ok(s.calls > s.rejected, `${name}: no call ever reached the kernel`);
  }
});
