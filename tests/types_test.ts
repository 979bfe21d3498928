/**
 * Shape tests: our `Listener` and `Conn` must stay assignable to Deno's own
 * interfaces (`Deno.Listener`, `Deno.TcpListener`, `Deno.UnixListener`,
 * `Deno.Conn`, `Deno.TcpConn`, `Deno.UnixConn`), so code written for
 * `Deno.listen`/`Deno.connect` takes ours unchanged. The assignments below
 * are the test: `deno check` (and `deno test`, which type-checks first)
 * fails as soon as a shape drifts. The runtime part checks that the members
 * the types promise are really there and work through the Deno-typed
 * variables.
 *
 * Run: deno test --allow-ffi --allow-net --allow-read --allow-write --allow-run
 *      --allow-env --allow-sys tests/types_test.ts
 */

import assert from "@assert";
import { Conn, connect, listen, Listener } from "../mod.ts";
import type { TcpConn, UnixConn } from "../mod.ts";
import { connectPair, decoder, encoder, readExactly } from "./helpers.ts";

// ------------------------------------------------------------ compile time

/** Code written against Deno's types only. */
async function denoEcho(listener: Deno.Listener, dial: () => Promise<Deno.Conn>): Promise<string> {
  const [client, server] = await Promise.all([dial(), listener.accept()]);
  try {
    await client.write(encoder.encode("shape"));
    return decoder.decode(await readExactly(server, 5));
  } finally {
    client.close();
    server.close();
  }
}

function useTcpListener(l: Deno.TcpListener): Deno.NetAddr {
  return l.addr;
}

function useUnixListener(l: Deno.UnixListener): Deno.UnixAddr {
  return l.addr;
}

function useTcpConn(c: Deno.TcpConn): void {
  c.setNoDelay(true);
  c.setKeepAlive(true);
  const local: Deno.NetAddr = c.localAddr;
  const remote: Deno.NetAddr = c.remoteAddr;
  void local;
  void remote;
}

function useUnixConn(c: Deno.UnixConn): void {
  const local: Deno.UnixAddr = c.localAddr;
  const remote: Deno.UnixAddr = c.remoteAddr;
  void local;
  void remote;
}

function useStreams(
  c: Deno.Conn,
): [ReadableStream<Uint8Array<ArrayBuffer>>, WritableStream<Uint8Array>] {
  return [c.readable, c.writable];
}

Deno.test("types: TCP listener and connections are Deno's types", async () => {
  const l: Deno.Listener<Deno.TcpConn, Deno.NetAddr> = listen({ port: 0, hostname: "127.0.0.1" });
  const tl: Deno.TcpListener = l;
  const generic: Deno.Listener = l;
  const disposable: Disposable = l;
  const iterable: AsyncIterable<Deno.TcpConn> = l;
  void [generic, disposable, iterable];
  try {
    const addr: Deno.NetAddr = useTcpListener(tl);
    const c: Deno.TcpConn = await connect({ port: addr.port, hostname: "127.0.0.1" });
    const s: Deno.TcpConn = await l.accept();
    const asConn: Deno.Conn = c;
    const asNetConn: Deno.Conn<Deno.NetAddr> = s;
    useTcpConn(c);
    useTcpConn(s);
    const [readable, writable] = useStreams(asConn);
    assert.ok(readable instanceof ReadableStream);
    assert.ok(writable instanceof WritableStream);
    assert.equal(asNetConn.remoteAddr.port, c.localAddr.port);
    c.close();
    s.close();
    assert.equal(
      await denoEcho(l, () => connect({ port: addr.port, hostname: "127.0.0.1" })),
      "shape",
    );
  } finally {
    l.close();
  }
});

Deno.test("types: Unix listener and connections are Deno's types", async () => {
  const path = `\0bsd-sockets-types-${Deno.pid}`;
  const l: Deno.Listener<Deno.UnixConn, Deno.UnixAddr> = listen({ transport: "unix", path });
  const ul: Deno.UnixListener = l;
  try {
    assert.equal(useUnixListener(ul).path, path);
    const c: Deno.UnixConn = await connect({ transport: "unix", path });
    const s: Deno.UnixConn = await l.accept();
    const asConn: Deno.Conn = s;
    useUnixConn(c);
    useUnixConn(s);
    useStreams(asConn);
    c.close();
    s.close();
    assert.equal(await denoEcho(l, () => connect({ transport: "unix", path })), "shape");
  } finally {
    l.close();
  }
});

Deno.test("types: our exported names agree with Deno's", async () => {
  const l: Listener<TcpConn, Deno.NetAddr> = listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const c: TcpConn = await connect({ port: l.addr.port });
    const s: TcpConn = await l.accept();
    // The extra surface of ours (fd, options, writeAll) stays reachable.
    const fd: number = c.fd;
    const nodelay: boolean = c.getOption("TCP_NODELAY");
    void [fd, nodelay];
    const d: Deno.TcpConn = c;
    const back: Conn = s;
    void [d, back];
    c.close();
    s.close();
  } finally {
    l.close();
  }
  // Negative checks: a Unix listener is not a TCP one, a Unix conn not a TCP conn.
  const path = `\0bsd-sockets-types-neg-${Deno.pid}`;
  const ul = listen({ transport: "unix", path });
  try {
    // @ts-expect-error: its addr is a UnixAddr
    const wrong: Deno.TcpListener = ul;
    void wrong;
    const uc: UnixConn = await connect({ transport: "unix", path });
    // @ts-expect-error: its addresses are UnixAddr
    const wrongConn: Deno.TcpConn = uc;
    void wrongConn;
    uc.close();
    (await ul.accept()).close();
  } finally {
    ul.close();
  }
});

// ------------------------------------------------------------ run time

const CONN_MEMBERS = [
  "read",
  "write",
  "close",
  "closeWrite",
  "ref",
  "unref",
  "setNoDelay",
  "setKeepAlive",
] as const;
const CONN_GETTERS = ["localAddr", "remoteAddr", "readable", "writable"] as const;
const LISTENER_MEMBERS = ["accept", "close", "ref", "unref"] as const;

Deno.test("runtime: every member Deno's interfaces promise is present and of the right kind", async () => {
  const l = listen({ port: 0, hostname: "127.0.0.1" });
  try {
    assert.ok(l instanceof Listener);
    for (const name of LISTENER_MEMBERS) assert.equal(typeof l[name], "function", name);
    assert.equal(typeof l[Symbol.asyncIterator], "function");
    assert.equal(typeof l[Symbol.dispose], "function");
    assert.deepEqual(Object.keys(l.addr).sort(), ["hostname", "port", "transport"]);

    const [c, s] = await connectPair(l);
    for (const conn of [c, s]) {
      assert.ok(conn instanceof Conn);
      for (const name of CONN_MEMBERS) assert.equal(typeof conn[name], "function", name);
      assert.equal(typeof conn[Symbol.dispose], "function");
      for (const name of CONN_GETTERS) assert.notEqual(conn[name], undefined, name);
      assert.ok(conn.readable instanceof ReadableStream);
      assert.ok(conn.writable instanceof WritableStream);
      assert.equal(conn.readable, conn.readable, "one readable per Conn");
      assert.equal(conn.writable, conn.writable, "one writable per Conn");
      assert.deepEqual(Object.keys(conn.localAddr).sort(), ["hostname", "port", "transport"]);
    }
    // `using` disposes (closes) them.
    {
      using cc = c;
      using ss = s;
      void [cc, ss];
    }
    assert.ok(c.closed && s.closed);
    await assert.rejects(() => c.read(new Uint8Array(1)), Deno.errors.BadResource);
  } finally {
    l.close();
  }
  {
    using l2 = listen({ port: 0, hostname: "127.0.0.1" });
    void l2;
  }
});

Deno.test("runtime: the same members exist on Deno's own Conn and Listener (the reference)", async () => {
  // Guards the member lists above against drifting from Deno itself.
  const l = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    for (const name of LISTENER_MEMBERS) assert.equal(typeof l[name], "function", name);
    const [c, s] = await Promise.all([Deno.connect({ port: l.addr.port }), l.accept()]);
    for (const conn of [c, s]) {
      for (const name of CONN_MEMBERS) assert.equal(typeof conn[name], "function", name);
      for (const name of CONN_GETTERS) assert.notEqual(conn[name], undefined, name);
    }
    c.close();
    s.close();
  } finally {
    l.close();
  }
});
