// End-to-end tests of the bridge examples, each run as a user runs it
// (`deno run -A examples/...`) against real peers: curl and `openssl
// s_client` against the HTTPS server, `openssl s_server` against the TLS
// client, Deno's own WebSocket client against the echo. The certificate is
// a throwaway one made by openssl for each run.

import assert from "@assert";
import { decoder, delay, encoder, freePort, ROOT } from "./helpers.ts";

const STARTUP_MS = 20_000;
const PEER_MS = 20_000;

/** A throwaway P-256 certificate for localhost in a temp dir, as the command makes it. */
async function makeCert(): Promise<{ dir: string; cert: string; key: string }> {
  const dir = await Deno.makeTempDir({ prefix: "bsd-tls-" });
  const cert = `${dir}/cert.pem`;
  const key = `${dir}/key.pem`;
  const out = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-keyout",
      key,
      "-out",
      cert,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(PEER_MS),
  }).output();
  assert.ok(out.success, `openssl req failed: ${decoder.decode(out.stderr)}`);
  return { dir, cert, key };
}

/** Runs a peer tool to completion within a bound; stdout and stderr as text. */
async function tool(
  cmd: string,
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(PEER_MS),
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(encoder.encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** A long-running child whose stdout is watched for a line; killed by `stop`. */
class Child {
  readonly process: Deno.ChildProcess;
  #text = "";
  #reading: Promise<void>;

  constructor(cmd: string, args: string[]) {
    const process = this.process = new Deno.Command(cmd, {
      args,
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    // Drained the whole time, so the child never blocks on a full pipe.
    this.#reading = (async () => {
      for await (const chunk of process.stdout) this.#text += decoder.decode(chunk);
    })();
    process.stderr.pipeTo(new WritableStream()).catch(() => {});
  }

  get output(): string {
    return this.#text;
  }

  /** Waits (bounded) until stdout contains `pattern`. */
  async waitFor(pattern: RegExp | string, ms = STARTUP_MS): Promise<void> {
    const end = Date.now() + ms;
    const found = () =>
      typeof pattern === "string" ? this.#text.includes(pattern) : pattern.test(this.#text);
    while (!found()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${pattern}: ${this.#text}`);
      await delay(50);
    }
  }

  async stop(): Promise<void> {
    try {
      this.process.kill("SIGTERM");
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        this.process.kill("SIGKILL");
      } catch {
        // gone meanwhile
      }
    }, 5000);
    await this.process.status;
    clearTimeout(timer);
    await this.#reading.catch(() => {});
  }
}

function example(name: string, args: string[]): Child {
  return new Child(Deno.execPath(), ["run", "-A", `examples/${name}`, ...args]);
}

async function startHttps(
  cert: string,
  key: string,
  via: string,
): Promise<{ child: Child; port: number }> {
  const port = freePort();
  const child = example("https_server.ts", [
    "--hostname",
    "127.0.0.1",
    "--port",
    String(port),
    "--cert",
    cert,
    "--key",
    key,
    "--via",
    via,
  ]);
  await child.waitFor(`listening on 127.0.0.1:${port}`);
  return { child, port };
}

for (const via of ["handover", "stream"]) {
  Deno.test(`https_server (${via}): curl gets 200 twice over one kept-alive connection`, async () => {
    const { dir, cert, key } = await makeCert();
    const { child, port } = await startHttps(cert, key, via);
    try {
      const url = `https://localhost:${port}/`;
      const out = await tool("curl", [
        "--silent",
        "--show-error",
        "--verbose",
        "--http1.1",
        "--cacert",
        cert,
        "--max-time",
        "15",
        "--write-out",
        "\n[%{http_code} %{num_connects}]\n",
        url,
        url,
      ]);
      assert.equal(out.code, 0, out.stderr);
      // Per transfer: its status and how many new connections it opened.
      assert.deepEqual(out.stdout.match(/\[\d+ \d+\]/g), ["[200 1]", "[200 0]"], out.stdout);
      assert.match(out.stdout, new RegExp(`hello over TLS from bsd-sockets \\(${via}\\)`));
      assert.match(out.stderr, /Re-using existing connection/);
      assert.match(out.stderr, /SSL connection using TLSv1\.3/);
    } finally {
      await child.stop();
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`https_server (${via}): openssl s_client -tls1_3 completes a TLS 1.3 handshake and GET /`, async () => {
    const { dir, cert, key } = await makeCert();
    const { child, port } = await startHttps(cert, key, via);
    try {
      const out = await tool(
        "openssl",
        [
          "s_client",
          "-connect",
          `127.0.0.1:${port}`,
          "-servername",
          "localhost",
          "-tls1_3",
          "-CAfile",
          cert,
          "-verify_return_error",
          "-brief",
          // Wait for the server's answer after our request, not for stdin's end.
          "-ign_eof",
        ],
        "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
      );
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stderr, /Protocol version: TLSv1\.3/);
      assert.match(out.stderr, /Verification: OK/);
      assert.match(out.stdout, /^HTTP\/1\.1 200 OK/m);
    } finally {
      await child.stop();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("tls_client: GET / HTTP/1.0 against openssl s_server -tls1_3 -www", async () => {
  const { dir, cert, key } = await makeCert();
  const port = freePort();
  const server = new Child("openssl", [
    "s_server",
    "-tls1_3",
    "-www",
    "-accept",
    `127.0.0.1:${port}`,
    "-cert",
    cert,
    "-key",
    key,
  ]);
  try {
    await server.waitFor("ACCEPT");
    const out = await tool(Deno.execPath(), [
      "run",
      "-A",
      `${ROOT}examples/tls_client.ts`,
      "--hostname",
      "127.0.0.1",
      "--port",
      String(port),
      "--ca",
      cert,
      "--servername",
      "localhost",
    ]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /with TLSv1\.3/);
    // s_server -www answers with a status page naming the protocol it negotiated.
    assert.match(out.stdout, /^HTTP\/1\.0 200 ok/m);
    assert.match(out.stdout, /TLSv1\.3/);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tls_client: refuses a server whose certificate it was not told to trust", async () => {
  const { dir, cert, key } = await makeCert();
  const port = freePort();
  const server = new Child("openssl", [
    "s_server",
    "-tls1_3",
    "-www",
    "-accept",
    `127.0.0.1:${port}`,
    "-cert",
    cert,
    "-key",
    key,
  ]);
  try {
    await server.waitFor("ACCEPT");
    const out = await tool(Deno.execPath(), [
      "run",
      "-A",
      `${ROOT}examples/tls_client.ts`,
      "--port",
      String(port),
    ]);
    assert.notEqual(out.code, 0);
    assert.match(out.stderr, /self[- ]signed|unable to verify|certificate/i);
    assert.doesNotMatch(out.stdout, /HTTP\/1\.0 200/);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Sends `count` messages, alternating text and binary, and collects the echoes in order. */
async function echoMessages(port: number, count: number): Promise<void> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  ws.binaryType = "arraybuffer";
  try {
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = (e) => reject(new Error(`WebSocket failed: ${(e as ErrorEvent).message}`));
    });
    const sent: (string | Uint8Array)[] = [];
    for (let i = 0; i < count; i++) {
      // Sizes past 125 and 65535 bytes take the longer frame-length forms.
      const size = i === 7 ? 70_000 : i % 5 === 0 ? 300 : 8;
      sent.push(i % 2 === 0 ? `text ${i} `.padEnd(size, "x") : new Uint8Array(size).fill(i));
    }
    const received: (string | Uint8Array)[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${received.length} of ${count} echoes in ${PEER_MS} ms`)),
        PEER_MS,
      );
      ws.onmessage = (e) => {
        received.push(typeof e.data === "string" ? e.data : new Uint8Array(e.data));
        if (received.length === count) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
    for (const message of sent) ws.send(message);
    await done;
    assert.equal(received.length, count);
    for (let i = 0; i < count; i++) {
      assert.deepEqual(received[i], sent[i], `message ${i} came back changed`);
    }
  } finally {
    const closed = new Promise((resolve) => ws.onclose = resolve);
    ws.close();
    await Promise.race([closed, delay(2000)]);
  }
}

for (const via of ["handover", "stream"]) {
  Deno.test(`websocket_echo (${via}): 110 text and binary messages come back unchanged`, async () => {
    const port = freePort();
    const child = example("websocket_echo.ts", [
      "--hostname",
      "127.0.0.1",
      "--port",
      String(port),
      "--via",
      via,
    ]);
    try {
      await child.waitFor(`listening on 127.0.0.1:${port}`);
      await echoMessages(port, 110);
    } finally {
      await child.stop();
    }
  });
}

Deno.test("bridge examples: --help prints the fixed command line and exits 0", async () => {
  const lines: Record<string, RegExp> = {
    "https_server.ts": /--hostname H --port P --cert CERT --key KEY/,
    "tls_client.ts": /--hostname H --port P \[--ca FILE\] \[--servername NAME\]/,
    "websocket_echo.ts": /--hostname H --port P/,
  };
  for (const [name, usage] of Object.entries(lines)) {
    const out = await tool(Deno.execPath(), ["run", "-A", `${ROOT}examples/${name}`, "--help"]);
    assert.equal(out.code, 0, `${name}: ${out.stderr}`);
    assert.match(out.stdout, usage, name);
  }
});
