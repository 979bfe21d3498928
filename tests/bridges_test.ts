// The bridges in one process, against real peers: node:http's own client
// with a keep-alive agent, openssl s_server, Node's TLS on both ends, Deno's
// native APIs given a module Conn by mistake.

import assert from "@assert";
import http from "node:http";
import type net from "node:net";
import { WebSocketServer } from "ws";
import {
  acceptTls,
  connect,
  connectTls,
  ConnSocket,
  listen,
  nativeMisuseGuarded,
  serveHttp,
  serveHttps,
  toNodeSocket,
} from "../mod.ts";
import { decoder, delay, encoder, fdOpen, freePort, seededBytes } from "./helpers.ts";

const cert = Deno.readTextFileSync(new URL("./fixtures/tls_localhost_cert.pem", import.meta.url));
const key = Deno.readTextFileSync(new URL("./fixtures/tls_localhost_key.pem", import.meta.url));

/** `promise`, or a rejection naming `what` after `ms`: a stalled bridge fails instead of hanging. */
async function bounded<T>(promise: Promise<T>, what: string, ms = 20_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) =>
        timer = setTimeout(() => reject(new Error(`${what}: no result in ${ms} ms`)), ms)
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

interface Reply {
  status: number;
  body: string;
  port: number; // the client's local port: the same one means the same connection
}

/** GET through node:http's client on `agent`; bounded. */
function get(port: number, agent: http.Agent, path = "/"): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path, agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (s) => body += s);
      res.on("end", () => resolve({ status: res.statusCode!, body, port: req.socket!.localPort! }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
  });
}

for (const via of ["handover", "stream"] as const) {
  Deno.test(`serveHttp (${via}): requests apart in time share one kept-alive connection`, async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await using served = serveHttp(
      listen({ hostname: "127.0.0.1", port: 0 }),
      (req, res) => res.end(`${req.method} ${req.url}`),
      { via },
    );
    try {
      await served.listening;
      const port = (served.addr as Deno.NetAddr).port;
      const replies: Reply[] = [];
      for (let i = 0; i < 3; i++) {
        replies.push(await get(port, agent, `/r${i}`));
        // A server that closes after each response would be seen closing here.
        await delay(150);
      }
      assert.deepEqual(replies.map((r) => [r.status, r.body]), [
        [200, "GET /r0"],
        [200, "GET /r1"],
        [200, "GET /r2"],
      ]);
      assert.equal(new Set(replies.map((r) => r.port)).size, 1, "one connection for all three");
    } finally {
      agent.destroy();
    }
  });
}

Deno.test("serveHttp (handover): the listener is detached and Node owns the descriptor", async () => {
  const listener = listen({ hostname: "127.0.0.1", port: 0 });
  const fd = listener.fd;
  const served = serveHttp(listener, (_req, res) => res.end("ok"));
  await served.listening;
  assert.equal(served.via, "handover");
  assert.ok(listener.closed, "the module object let go");
  assert.ok(fdOpen(fd), "the descriptor lives on in Node");
  assert.equal((served.server.address() as net.AddressInfo).port, listener.addr.port);
  const agent = new http.Agent({ keepAlive: false });
  assert.equal((await get(listener.addr.port, agent)).body, "ok");
  await served.close();
  // Node closes it on server.close(): nothing of ours would have.
  assert.ok(!fdOpen(fd), "server.close() released the descriptor");
});

Deno.test("serveHttp (stream): close() ends idle keep-alive connections and the listener", async () => {
  const listener = listen({ hostname: "127.0.0.1", port: 0 });
  const served = serveHttp(listener, (_req, res) => res.end("ok"), { via: "stream" });
  await served.listening;
  assert.equal((served.server.address() as net.AddressInfo).port, listener.addr.port);
  assert.ok(served.server.listening);
  // An idle keep-alive connection, left open by the client.
  using client = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
  await client.writeAll(encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const buf = new Uint8Array(4096);
  const n = await client.read(buf);
  assert.match(decoder.decode(buf.subarray(0, n!)), /^HTTP\/1\.1 200 OK\r\n[^]*keep-alive/i);
  const closing = served.close();
  // The server closes the idle connection: the client reads end of stream.
  assert.equal(await client.read(buf), null);
  await closing;
  assert.ok(listener.closed);
  await assert.rejects(() => connect({ hostname: "127.0.0.1", port: listener.addr.port }));
});

Deno.test("serveHttp: takes an http.Server and a Unix listener (stream route)", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const server = http.createServer((_req, res) => res.end("over unix"));
    await using served = serveHttp(
      listen({ transport: "unix", path: `${dir}/http.sock` }),
      server,
      { via: "stream" },
    );
    assert.equal(served.server, server);
    await served.listening;
    const body = await new Promise<string>((resolve, reject) => {
      http.get({ socketPath: `${dir}/http.sock`, path: "/" }, (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (s) => text += s).on("end", () => resolve(text));
      }).on("error", reject);
    });
    assert.equal(body, "over unix");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("serveHttp: a large body both ways survives backpressure on the adapter", async () => {
  const data = seededBytes(4 * 1024 * 1024, 7);
  await using served = serveHttp(listen({ hostname: "127.0.0.1", port: 0 }), (req, res) => {
    // Echo the upload back: both directions stream at once.
    req.pipe(res);
  }, { via: "stream" });
  await served.listening;
  const port = (served.addr as Deno.NetAddr).port;
  const conn = await connect({ hostname: "127.0.0.1", port });
  const echoed = await bounded(
    new Promise<Uint8Array>((resolve, reject) => {
      const req = http.request({
        createConnection: () => toNodeSocket(conn),
        method: "POST",
        path: "/",
        headers: { "content-length": String(data.byteLength) },
      }, (res) => {
        const parts: Uint8Array[] = [];
        res.on("data", (b: Uint8Array) => parts.push(b));
        res.on("end", () => {
          const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
          let at = 0;
          for (const p of parts) out.set(p, (at += p.byteLength) - p.byteLength);
          resolve(out);
        });
      });
      req.on("error", reject);
      req.setTimeout(20_000, () => req.destroy(new Error("timed out")));
      req.end(data);
    }),
    "the 4 MiB echo",
  );
  assert.equal(echoed.byteLength, data.byteLength);
  assert.deepEqual(echoed, data);
});

Deno.test("serveHttps (stream): HTTPS with keep-alive through node:https on the adapter", async () => {
  await using served = serveHttps(
    listen({ hostname: "127.0.0.1", port: 0 }),
    { cert, key, via: "stream" },
    (_req, res) => res.end("secure"),
  );
  await served.listening;
  const port = (served.addr as Deno.NetAddr).port;
  using client = Deno.createHttpClient({ caCerts: [cert] });
  for (let i = 0; i < 2; i++) {
    const res = await fetch(`https://localhost:${port}/`, { client });
    assert.equal(await res.text(), "secure");
  }
});

Deno.test("ws on the stream route: text and binary echoes to Deno's WebSocket", async () => {
  await using served = serveHttp(
    listen({ hostname: "127.0.0.1", port: 0 }),
    (_req, res) => res.end(),
    { via: "stream" },
  );
  const wss = new WebSocketServer({ server: served.server });
  type Echo = {
    on(event: "message", listener: (data: Uint8Array, binary: boolean) => void): void;
    send(data: Uint8Array, options: { binary: boolean }): void;
  };
  wss.on("connection", (ws: Echo) => {
    ws.on("message", (data, binary) => ws.send(data, { binary }));
  });
  await served.listening;
  const ws = new WebSocket(`ws://127.0.0.1:${(served.addr as Deno.NetAddr).port}/`);
  ws.binaryType = "arraybuffer";
  const got: unknown[] = [];
  const all = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${got.length} echoes`)), 10_000);
    ws.onmessage = (e) => {
      got.push(typeof e.data === "string" ? e.data : [...new Uint8Array(e.data)]);
      if (got.length === 4) {
        clearTimeout(timer);
        resolve();
      }
    };
  });
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  ws.send("one");
  ws.send(new Uint8Array([1, 2, 3]));
  ws.send("three");
  ws.send(new Uint8Array(0));
  await all;
  assert.deepEqual(got, ["one", [1, 2, 3], "three", []]);
  const closed = new Promise((resolve) => ws.onclose = resolve);
  ws.close();
  await closed;
  wss.close();
});

Deno.test("connectTls: TLS 1.3 to openssl s_server -rev, bytes reversed line by line", async () => {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/cert.pem`, cert);
  Deno.writeTextFileSync(`${dir}/key.pem`, key);
  const port = freePort();
  const server = new Deno.Command("openssl", {
    args: [
      "s_server",
      "-tls1_3",
      "-rev",
      "-accept",
      `127.0.0.1:${port}`,
      "-cert",
      `${dir}/cert.pem`,
      "-key",
      `${dir}/key.pem`,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const output = server.stdout.getReader();
  try {
    let banner = "";
    const until = Date.now() + 10_000;
    while (!banner.includes("ACCEPT")) {
      if (Date.now() > until) throw new Error(`s_server did not start: ${banner}`);
      const { value, done } = await output.read();
      if (done) throw new Error(`s_server exited: ${banner}`);
      banner += decoder.decode(value);
    }
    // Keep draining, so s_server never blocks on its log.
    (async () => {
      while (!(await output.read()).done);
    })().catch(() => {});
    const conn = await connect({ hostname: "127.0.0.1", port });
    using tls = await bounded(connectTls(conn, { servername: "localhost", ca: cert }), "handshake");
    assert.equal(tls.socket.getProtocol(), "TLSv1.3");
    assert.equal((tls.remoteAddr as Deno.NetAddr).port, port);
    const reversed: string[] = [];
    const buf = new Uint8Array(1024);
    let pending = "";
    for (const line of ["hello", "bsd-sockets over tls"]) {
      await tls.write(encoder.encode(line + "\n"));
      const until = Date.now() + 10_000;
      // s_server -rev greets first, then answers each line reversed.
      while (!pending.includes(line.split("").reverse().join(""))) {
        if (Date.now() > until) throw new Error(`no answer to ${line}: ${pending}`);
        const n = await tls.read(buf);
        if (n === null) throw new Error(`closed early: ${pending}`);
        pending += decoder.decode(buf.subarray(0, n));
      }
      reversed.push(line.split("").reverse().join(""));
    }
    assert.deepEqual(reversed, ["olleh", "slt revo stekcos-dsb"]);
  } finally {
    server.kill("SIGKILL");
    await server.status;
    await output.cancel().catch(() => {});
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("connectTls/acceptTls: a megabyte each way, ALPN, close_notify as end of stream", async () => {
  using listener = listen({ hostname: "127.0.0.1", port: 0 });
  const up = seededBytes(1024 * 1024, 1);
  const down = seededBytes(1024 * 1024, 2);
  const serverSide = (async () => {
    using tls = await acceptTls(await listener.accept(), {
      cert,
      key,
      alpnProtocols: ["bsd/1"],
    });
    const [received] = await Promise.all([
      new Response(tls.readable).bytes(),
      tls.write(down).then(() => tls.closeWrite()),
    ]);
    return { received, alpn: (await tls.handshake()).alpnProtocol };
  })();
  const conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
  using tls = await connectTls(conn, { ca: cert, alpnProtocols: ["bsd/1"] });
  const [received] = await bounded(
    Promise.all([
      new Response(tls.readable).bytes(),
      tls.write(up).then(() => tls.closeWrite()),
    ]),
    "the client's transfer",
  );
  const server = await bounded(serverSide, "the server's transfer");
  assert.equal(server.alpn, "bsd/1");
  assert.deepEqual(server.received, up);
  assert.deepEqual(received, down);
});

Deno.test("connectTls: an untrusted certificate fails the handshake and closes the Conn", async () => {
  using listener = listen({ hostname: "127.0.0.1", port: 0 });
  const serverSide = listener.accept().then((c) => acceptTls(c, { cert, key })).catch((e) => e);
  const conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const fd = conn.fd;
  // No ca: Node's root store does not know this self-signed certificate.
  await assert.rejects(() => connectTls(conn, { servername: "localhost" }), /self[- ]signed/i);
  assert.ok(conn.closed, "the Conn is released with the failed handshake");
  assert.ok(!fdOpen(fd) || fd !== conn.fd);
  const server = await serverSide;
  if (!(server instanceof Error)) server.close();
});

Deno.test("connectTls: an abort during the handshake rejects with the reason", async () => {
  using listener = listen({ hostname: "127.0.0.1", port: 0 });
  // The peer accepts but never answers the ClientHello.
  const silent = listener.accept();
  const conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error("gave up")), 100);
  await assert.rejects(() => connectTls(conn, { signal: controller.signal }), /gave up/);
  assert.ok(conn.closed);
  (await silent).close();
});

Deno.test("ConnSocket: net.Socket's surface on a module Conn", async () => {
  using listener = listen({ hostname: "127.0.0.1", port: 0 });
  const conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
  using server = await listener.accept();
  const socket = toNodeSocket(conn);
  assert.ok(socket instanceof ConnSocket);
  assert.equal(socket.remoteAddress, "127.0.0.1");
  assert.equal(socket.remotePort, listener.addr.port);
  assert.equal(socket.remoteFamily, "IPv4");
  assert.equal(socket.localPort, (conn.localAddr as Deno.NetAddr).port);
  assert.deepEqual(socket.address(), {
    address: "127.0.0.1",
    family: "IPv4",
    port: socket.localPort,
  });
  assert.equal(socket.readyState, "open");
  socket.setNoDelay(true);
  assert.equal(conn.getOption("TCP_NODELAY"), true);
  socket.setKeepAlive(true, 30_000);
  assert.equal(conn.getOption("TCP_KEEPIDLE"), 30);
  // The idle timer fires once without traffic, as net.Socket's does.
  const timedOut = new Promise((resolve) => socket.setTimeout(50, () => resolve("timeout")));
  assert.equal(await timedOut, "timeout");
  socket.setTimeout(0);
  // Data both ways, then end() reaches the peer as end of stream.
  const got = new Promise<string>((resolve) => socket.once("data", (b) => resolve(String(b))));
  await server.write(encoder.encode("ping"));
  assert.equal(await got, "ping");
  socket.end("pong");
  const buf = new Uint8Array(8);
  assert.equal(decoder.decode(buf.subarray(0, (await server.read(buf))!)), "pong");
  assert.equal(await server.read(buf), null);
  assert.equal(socket.bytesRead, 4);
  assert.equal(socket.bytesWritten, 4);
  // The peer's end finishes the socket, which closes the Conn.
  await server.closeWrite();
  await new Promise((resolve) => socket.once("close", resolve));
  assert.ok(conn.closed);
});

Deno.test("Deno.startTls and Deno.serveHttp given a module Conn name the bridge", async () => {
  assert.ok(nativeMisuseGuarded());
  using listener = listen({ hostname: "127.0.0.1", port: 0 });
  using conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
  using _server = await listener.accept();
  const tlsError = await Deno.startTls(conn, { hostname: "localhost" }).then(
    () => assert.fail("startTls took our Conn"),
    (e: unknown) => e,
  );
  assert.ok(tlsError instanceof TypeError);
  assert.match(tlsError.message, /Deno\.startTls cannot take a Conn of bsd-sockets/);
  assert.match(tlsError.message, /connectTls\(conn/);
  const serveHttpOf = (Deno as unknown as { serveHttp?: (c: unknown) => unknown }).serveHttp;
  if (serveHttpOf !== undefined) {
    assert.throws(() => serveHttpOf(conn), TypeError, "use serveHttp(listener, handler)");
  }
  // The Conn is untouched by the refusal.
  assert.ok(!conn.closed);
  await conn.write(encoder.encode("x"));
});
