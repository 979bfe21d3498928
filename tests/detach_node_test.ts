// A listener made by this module, detached and served by Deno's node:http
// (server.listen({ fd })): answered by curl with keep-alive, still served
// after the module's object is closed or garbage-collected, and no close of
// the module ever reaches a descriptor it gave away.

import assert from "@assert";
import http from "node:http";
import { connect, handOverToNode, listen } from "../mod.ts";
import { abstractPath, decoder, encoder, fdOpen, readExactly, ROOT } from "./helpers.ts";

const HAVE_CURL = (() => {
  try {
    return new Deno.Command("curl", { args: ["--version"], stdout: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();

/**
 * GETs each URL over one kept-alive connection; returns the bodies and the
 * number of new connections each request made (curl's num_connects).
 */
async function getAll(
  urls: string[],
  extra: string[] = [],
): Promise<{ bodies: string[]; connects: number[] }> {
  if (!HAVE_CURL) {
    // Deno's fetch pools connections too; it cannot report reuse.
    const bodies = [];
    for (const url of urls) bodies.push(await (await fetch(url)).text());
    return { bodies, connects: [] };
  }
  const args = [...extra, "-sS", "--fail"];
  for (const url of urls) args.push("-w", "\n%{num_connects}\n", url);
  const out = await new Deno.Command("curl", { args, stdout: "piped", stderr: "piped" }).output();
  assert.ok(out.success, decoder.decode(out.stderr));
  const lines = decoder.decode(out.stdout).split("\n");
  const bodies = [], connects = [];
  for (let i = 0; i + 1 < lines.length; i += 2) {
    bodies.push(lines[i]);
    connects.push(Number(lines[i + 1]));
  }
  return { bodies, connects };
}

function stop(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A working round trip on fresh sockets of the module (they take whatever fd numbers are free). */
async function probeRoundTrip(): Promise<void> {
  using probe = listen({ hostname: "127.0.0.1", port: 0 });
  using client = await connect({ hostname: "127.0.0.1", port: probe.addr.port });
  using server = await probe.accept();
  await client.write(encoder.encode("probe"));
  assert.equal(decoder.decode(await readExactly(server, 5)), "probe");
}

Deno.test("handOverToNode: node:http serves a reusePort listener with keep-alive, after close()", async () => {
  const listener = listen({ hostname: "127.0.0.1", port: 0, reusePort: true });
  const { port } = listener.addr;
  const fd = listener.fd;
  const server = http.createServer((req, res) => res.end(`hello ${req.url}`));
  assert.equal(await handOverToNode(listener, server), server);
  try {
    assert.ok(listener.closed);
    // The module let go: close() is a no-op, and the descriptor lives on in node's hands.
    listener.close();
    listener.close();
    assert.ok(fdOpen(fd));
    await assert.rejects(() => listener.accept(), Deno.errors.BadResource);

    const base = `http://127.0.0.1:${port}`;
    const first = await getAll([`${base}/a`, `${base}/b`, `${base}/c`]);
    assert.deepEqual(first.bodies, ["hello /a", "hello /b", "hello /c"]);
    // One connection for all three: keep-alive works on the handed-over socket.
    if (HAVE_CURL) assert.deepEqual(first.connects, [1, 0, 0]);

    // Other sockets of the module, opened and closed after the hand-over,
    // work and leave node's descriptor alone.
    await probeRoundTrip();
    await probeRoundTrip();
    assert.ok(fdOpen(fd));
    const second = await getAll([`${base}/after`]);
    assert.deepEqual(second.bodies, ["hello /after"]);
  } finally {
    await stop(server);
  }
  // node closed it; a later close() of the old object must not close
  // whatever took the number since.
  using unrelated = listen({ hostname: "127.0.0.1", port: 0 });
  listener.close();
  using client = await connect({ hostname: "127.0.0.1", port: unrelated.addr.port });
  using accepted = await unrelated.accept();
  await client.write(encoder.encode("ok"));
  assert.equal(decoder.decode(await readExactly(accepted, 2)), "ok");
});

Deno.test("handOverToNode: a Unix stream listener, served to curl --unix-socket", async () => {
  const path = `${Deno.makeTempDirSync()}/http.sock`;
  const listener = listen({ transport: "unix", path });
  const server = http.createServer((_req, res) => res.end("over unix"));
  await handOverToNode(listener, server);
  try {
    const { bodies, connects } = await getAll(
      ["http://localhost/1", "http://localhost/2"],
      ["--unix-socket", path],
    );
    if (HAVE_CURL) {
      assert.deepEqual(bodies, ["over unix", "over unix"]);
      assert.deepEqual(connects, [1, 0]);
    }
  } finally {
    await stop(server);
    Deno.removeSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  }
});

Deno.test("handOverToNode: refusals reject clearly; a refused descriptor is closed, not leaked", async () => {
  await assert.rejects(
    // @ts-expect-error: not a Listener
    () => handOverToNode({ fd: 3 }, http.createServer()),
    TypeError,
  );
  const closed = listen({ hostname: "127.0.0.1", port: 0 });
  closed.close();
  await assert.rejects(() => handOverToNode(closed, http.createServer()), Deno.errors.BadResource);

  // A server that already listens refuses a second listen.
  const busy = http.createServer();
  await new Promise<void>((resolve) => busy.listen({ port: 0, host: "127.0.0.1" }, resolve));
  const listener = listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  try {
    await assert.rejects(() => handOverToNode(listener, busy));
    assert.ok(listener.closed);
    // The port is free again: the refused descriptor was closed.
    listen({ hostname: "127.0.0.1", port }).close();
  } finally {
    await stop(busy);
  }
});

Deno.test("handOverToNode: still served after the module object is garbage-collected", async () => {
  // A child with a real gc(): the test process itself has none.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--v8-flags=--expose-gc",
      "--allow-ffi",
      "--allow-net",
      "--allow-read",
      `${ROOT}tests/fixtures/adopt_gc_server.ts`,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stdin = child.stdin.getWriter();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`child ended early: ${text}`);
      text += value;
    }
    const match = text.match(/^ready (\d+) probe=p/);
    assert.ok(match, text);
    const base = `http://127.0.0.1:${match![1]}`;
    const { bodies, connects } = await getAll([`${base}/x`, `${base}/y`]);
    assert.deepEqual(bodies, ["served /x", "served /y"]);
    if (HAVE_CURL) assert.deepEqual(connects, [1, 0]);
    await stdin.write(encoder.encode("check\n"));
    while (!text.includes("probe-after=")) {
      const { value, done } = await lines.read();
      if (done) break;
      text += value;
    }
    assert.match(text, /probe-after=q/);
    assert.equal((await child.status).code, 0);
  } finally {
    await stdin.close().catch(() => {});
    try {
      child.kill();
    } catch {
      // already exited
    }
    await child.status;
    lines.releaseLock();
  }
});

Deno.test("handOverToNode: an abstract-name Unix listener, served to node's own client", async () => {
  const path = abstractPath("node-http");
  const listener = listen({ transport: "unix", path });
  const server = http.createServer((_req, res) => res.end("abstract"));
  await handOverToNode(listener, server);
  try {
    const body = await new Promise<string>((resolve, reject) => {
      http.get({ socketPath: path, path: "/" }, (res) => {
        let data = "";
        res.on("data", (chunk) => data += chunk);
        res.on("end", () => resolve(data));
      }).on("error", reject);
    });
    assert.equal(body, "abstract");
  } finally {
    await stop(server);
  }
});
