// End-to-end tests of the README's main command: `deno task echo-server`
// (one process, and --workers N sharing the port with SO_REUSEPORT) and the
// echo client, each run as a real subprocess the way a user runs them.

import assert from "@assert";
import { decoder, delay, encoder, freePort, readExactly, runDeno } from "./helpers.ts";

/** Starts `deno task echo-server ...` and waits for its "listening" line. */
async function startServer(args: string[]): Promise<{ child: Deno.ChildProcess; banner: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "echo-server", ...args],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  const deadline = Date.now() + 15_000;
  while (!text.includes("listening")) {
    if (Date.now() > deadline) throw new Error(`server did not start: ${text}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited: ${text}`);
    text += decoder.decode(value);
  }
  reader.releaseLock();
  // Keep draining stdout so the child never blocks on a full pipe.
  child.stdout.pipeTo(new WritableStream()).catch(() => {});
  return { child, banner: text };
}

async function stop(child: Deno.ChildProcess): Promise<void> {
  // `deno task` runs the script as its child; end the whole process group.
  try {
    child.kill("SIGTERM");
  } catch {
    // already gone
  }
  await child.status;
}

/** One echo round trip through Deno's own client, retried while workers start. */
async function echoOnce(port: number, message: string): Promise<string> {
  for (let attempt = 0;; attempt++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        await conn.write(encoder.encode(message));
        return decoder.decode(await readExactly(conn, encoder.encode(message).length));
      } finally {
        conn.close();
      }
    } catch (error) {
      if (attempt >= 50 || !(error instanceof Deno.errors.ConnectionRefused)) throw error;
      await delay(100);
    }
  }
}

Deno.test("deno task echo-server: listens where it says and echoes bytes exactly", async () => {
  const port = freePort();
  const { child, banner } = await startServer(["--port", String(port), "--hostname", "127.0.0.1"]);
  try {
    assert.match(banner, new RegExp(`listening on 127\\.0\\.0\\.1:${port}`));
    assert.equal(await echoOnce(port, "hello, echo"), "hello, echo");
    // Many clients at once, each with its own bytes.
    const messages = Array.from({ length: 50 }, (_, i) => `client ${i} `.repeat(i + 1));
    const echoes = await Promise.all(messages.map((m) => echoOnce(port, m)));
    assert.deepEqual(echoes, messages);
  } finally {
    await stop(child);
  }
});

Deno.test("deno task echo-server: PORT from the environment", async () => {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "echo-server", "--hostname", "127.0.0.1"],
    env: { PORT: String(port) },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = child.stdout.getReader();
    const { value } = await reader.read();
    assert.match(decoder.decode(value), new RegExp(`:${port}`));
    reader.releaseLock();
    child.stdout.pipeTo(new WritableStream()).catch(() => {});
    assert.equal(await echoOnce(port, "from PORT"), "from PORT");
  } finally {
    await stop(child);
  }
});

Deno.test("deno task echo-server --workers 2: Workers share the port (SO_REUSEPORT)", async () => {
  const port = freePort();
  const { child, banner } = await startServer([
    "--port",
    String(port),
    "--hostname",
    "127.0.0.1",
    "--workers",
    "2",
  ]);
  try {
    assert.match(banner, /2 workers/);
    for (let i = 0; i < 20; i++) assert.equal(await echoOnce(port, `w${i}`), `w${i}`);
  } finally {
    await stop(child);
  }
});

Deno.test("deno task echo-client: sends its arguments and standard input, prints the echo", async () => {
  const port = freePort();
  const { child } = await startServer(["--port", String(port), "--hostname", "127.0.0.1"]);
  try {
    const withArgs = await runDeno([
      "task",
      "-q",
      "echo-client",
      "--port",
      String(port),
      "hello",
      "there",
    ]);
    assert.equal(withArgs.code, 0, withArgs.stderr);
    assert.equal(withArgs.stdout, "hello there\n");

    const payload = "line one\nline two\n".repeat(1000);
    const out = await runDeno(["task", "-q", "echo-client", "--port", String(port)], {
      stdin: payload,
    });
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, payload);
  } finally {
    await stop(child);
  }
});
