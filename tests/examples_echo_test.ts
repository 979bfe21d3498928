// End-to-end tests of the README's main command: `deno task echo-server`
// (one process, and --workers N sharing the port with SO_REUSEPORT) and the
// echo client, each run as a real subprocess the way a user runs them.

import assert from "@assert";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** A free loopback port (bind to 0, read it, release it). */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

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
      await conn.write(encoder.encode(message));
      const buf = new Uint8Array(message.length);
      let got = 0;
      while (got < buf.length) {
        const n = await conn.read(buf.subarray(got));
        if (n === null) break;
        got += n;
      }
      conn.close();
      return decoder.decode(buf.subarray(0, got));
    } catch (error) {
      if (attempt >= 50 || !(error instanceof Deno.errors.ConnectionRefused)) throw error;
      await new Promise((r) => setTimeout(r, 100));
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
    const withArgs = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "echo-client", "--port", String(port), "hello", "there"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(withArgs.code, 0, decoder.decode(withArgs.stderr));
    assert.equal(decoder.decode(withArgs.stdout), "hello there\n");

    const piped = new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "echo-client", "--port", String(port)],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const payload = "line one\nline two\n".repeat(1000);
    const writer = piped.stdin.getWriter();
    await writer.write(encoder.encode(payload));
    await writer.close();
    const out = await piped.output();
    assert.equal(out.code, 0, decoder.decode(out.stderr));
    assert.equal(decoder.decode(out.stdout), payload);
  } finally {
    await stop(child);
  }
});
