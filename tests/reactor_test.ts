/**
 * The reactor under both backends, and its effect on process lifetime.
 *
 * Each backend is chosen per process (`BSD_SOCKETS_POLLER`), so the core
 * behaviours run in subprocesses: tests/fixtures/core_echo.ts (accept, echo,
 * half-close, close while waiting, backlog waits, no CPU while idle) must
 * print `OK <backend>`. The lifetime tests spawn small scripts: one that
 * finishes its work must exit by itself within 3 s, one whose pending
 * accept/read are unref'd must exit as promptly, and one with a ref'd
 * pending accept must still be running after 1.5 s (it is then killed).
 *
 * Under qemu-user (the aarch64 CI run) a foreign Deno can start another only
 * through qemu, and everything runs ~10x slower: BSD_SOCKETS_TEST_EXEC_WRAPPER=qemu-aarch64
 * runs the subprocesses through it, and BSD_SOCKETS_TEST_TIME_SCALE (>= 1)
 * stretches the wall-clock budgets by that factor. Natively both are unset
 * and the budgets are as written.
 *
 * Run: deno test --allow-ffi --allow-net --allow-read --allow-write --allow-run
 *      --allow-env --allow-sys tests/reactor_test.ts
 */

import assert from "@assert";
import { listen, setPoller } from "../mod.ts";
import { reactor } from "../reactor/reactor.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const BACKENDS = ["epoll", "poll"] as const;

const WRAPPER = Deno.env.get("BSD_SOCKETS_TEST_EXEC_WRAPPER") || undefined;
const TIME_SCALE = Math.max(1, Number(Deno.env.get("BSD_SOCKETS_TEST_TIME_SCALE")) || 1);
/** A wall-clock budget of `ms` on native hardware, stretched under emulation. */
const budget = (ms: number) => ms * TIME_SCALE;

/** `deno <args>`, through the wrapper when one is set. */
function denoCommand(args: string[], options: Omit<Deno.CommandOptions, "args">): Deno.Command {
  return WRAPPER
    ? new Deno.Command(WRAPPER, { ...options, args: [Deno.execPath(), ...args] })
    : new Deno.Command(Deno.execPath(), { ...options, args });
}

interface Run {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `deno run <flags> <script> <args>` from the project root and measures its wall time. */
async function runScript(
  script: string,
  flags: string[],
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<Run> {
  const t0 = performance.now();
  const out = await denoCommand(["run", ...flags, script, ...args], {
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t0;
  const dec = new TextDecoder();
  return {
    code: out.code,
    signal: out.signal,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    ms,
  };
}

function describeRun(run: Run): string {
  return `exit ${run.code} after ${
    run.ms.toFixed(0)
  } ms\n--- stdout\n${run.stdout}--- stderr\n${run.stderr}`;
}

const WITH_ENV = ["--allow-ffi", "--allow-net", "--allow-env"];

for (const backend of BACKENDS) {
  Deno.test(`${backend}: accept, echo, half-close and close behave (fixtures/core_echo.ts)`, async () => {
    const run = await runScript("tests/fixtures/core_echo.ts", WITH_ENV, {
      BSD_SOCKETS_POLLER: backend,
    });
    assert.equal(run.code, 0, describeRun(run));
    assert.equal(run.stdout.trim(), `OK ${backend}`, describeRun(run));
  });
}

Deno.test("idle exit: `deno run --allow-ffi --allow-net tests/fixtures/idle_exit.ts` exits by itself in < 3 s", async () => {
  const run = await runScript("tests/fixtures/idle_exit.ts", ["--allow-ffi", "--allow-net"]);
  assert.equal(run.code, 0, describeRun(run));
  assert.equal(run.stdout.trim(), "echoed", describeRun(run));
  assert.ok(run.ms < budget(3000), describeRun(run));
});

for (const backend of BACKENDS) {
  Deno.test(`${backend}: idle exit after listen/connect/echo/close, < 3 s`, async () => {
    const run = await runScript("tests/fixtures/idle_exit.ts", WITH_ENV, {
      BSD_SOCKETS_POLLER: backend,
    });
    assert.equal(run.code, 0, describeRun(run));
    assert.equal(run.stdout.trim(), "echoed", describeRun(run));
    assert.ok(run.ms < budget(3000), describeRun(run));
  });

  Deno.test(`${backend}: unref'd listener (pending accept) and conn (pending read) exit promptly`, async () => {
    const run = await runScript("tests/fixtures/unref_exit.ts", WITH_ENV, {
      BSD_SOCKETS_POLLER: backend,
    });
    assert.equal(run.code, 0, describeRun(run));
    assert.equal(run.stdout.trim(), "armed", describeRun(run));
    assert.ok(run.ms < budget(3000), describeRun(run));
  });

  Deno.test(`${backend}: a ref'd listener with a pending accept keeps the process alive (also after unref+ref)`, async () => {
    const spawnAlive = (args: string[]) =>
      denoCommand(["run", ...WITH_ENV, "tests/fixtures/ref_alive.ts", ...args], {
        cwd: ROOT,
        env: { NO_COLOR: "1", BSD_SOCKETS_POLLER: backend },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    const children = [spawnAlive([]), spawnAlive(["reref"])];
    const stderr = children.map((c) => new Response(c.stderr).text());
    // Each child's stdout as it arrives, and promises for its first line and its end.
    const texts = ["", ""];
    let wake = () => {};
    const ended = children.map(async (c, i) => {
      const decoder = new TextDecoder();
      for await (const chunk of c.stdout) {
        texts[i] += decoder.decode(chunk, { stream: true });
        wake();
      }
      wake();
    });
    const said = async (i: number, deadline: number): Promise<boolean> => {
      let done = false;
      ended[i].then(() => done = true);
      while (!texts[i].includes("\n") && !done && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
      }
      return texts[i].startsWith("waiting\n");
    };
    try {
      // The window starts once both children wait in accept, not at spawn:
      // start-up time (long under emulation) is not what this measures.
      const deadline = Date.now() + budget(10000);
      for (const i of [0, 1]) {
        assert.ok(await said(i, deadline), `child ${i} did not say "waiting": ${texts[i]}`);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stillRunning = new Promise<"running">((resolve) => {
        timer = setTimeout(() => resolve("running"), budget(1500));
      });
      const first = await Promise.race([
        ...children.map((c, i) => c.status.then((s) => `child ${i} exited with ${s.code}`)),
        stillRunning,
      ]);
      clearTimeout(timer);
      assert.equal(first, "running", "a ref'd pending accept must keep the process alive");
    } finally {
      for (const c of children) {
        try {
          c.kill("SIGKILL");
        } catch {
          // already exited: the assertion above reports it
        }
      }
    }
    for (const [i, c] of children.entries()) {
      const status = await c.status;
      await ended[i];
      assert.equal(status.signal, "SIGKILL", `child ${i}: ${texts[i]}${await stderr[i]}`);
      assert.equal(texts[i].trim(), "waiting");
    }
  });
}

Deno.test("setPoller: the running backend cannot be switched; an unknown one is a TypeError", () => {
  // Make sure this process's reactor exists (it is made lazily).
  const listener = listen({ hostname: "127.0.0.1", port: 0 });
  listener.close();
  const current = reactor().backend;
  assert.ok(current === "epoll" || current === "poll");
  const other = current === "epoll" ? "poll" : "epoll";
  assert.throws(() => setPoller(other), /already runs on/);
  setPoller(current as "epoll" | "poll"); // the same one is fine
  setPoller("auto");
  // @ts-expect-error: not a backend
  assert.throws(() => setPoller("kqueue"), TypeError);
  assert.equal(reactor().backend, current);
});
