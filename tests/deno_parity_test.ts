/**
 * The differences a user of `Deno.listen`/`Deno.connect`/`Deno.listenDatagram`
 * would notice, each run side by side with Deno's own objects in the same
 * process and asserted to come out the same.
 *
 * Run: deno task test tests/deno_parity_test.ts
 */

import assert from "@assert";
import { connect, listen, listenDatagram } from "../mod.ts";
import { openFdCount, readExactly } from "./helpers.ts";

type Api = "ours" | "deno";
const APIS: Api[] = ["ours", "deno"];

function listenWith(
  api: Api,
  options: Deno.TcpListenOptions,
): Deno.Listener<Deno.TcpConn, Deno.NetAddr> {
  return api === "ours"
    ? listen(options as Parameters<typeof listen>[0]) as unknown as Deno.Listener<
      Deno.TcpConn,
      Deno.NetAddr
    >
    : Deno.listen(options) as Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
}

function connectWith(api: Api, port: number): Promise<Deno.TcpConn> {
  return api === "ours"
    ? connect({ hostname: "127.0.0.1", port }) as Promise<Deno.TcpConn>
    : Deno.connect({ hostname: "127.0.0.1", port });
}

function className(error: unknown): string {
  return error instanceof Error ? error.constructor.name : String(error);
}

Deno.test("parity: leaving `for await (const conn of listener)` closes the listener", async () => {
  const seen: Record<string, string[]> = {};
  for (const api of APIS) {
    const listener = listenWith(api, { hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    const client = connectWith(api, port);
    for await (const conn of listener) {
      conn.close();
      break;
    }
    (await client).close();
    const after = await connectWith(api, port).then((c) => {
      c.close();
      return "connected";
    }, className);
    const accept = await listener.accept().then(() => "accepted", className);
    seen[api] = [after, accept];
  }
  assert.deepEqual(seen.ours, seen.deno);
  assert.deepEqual(seen.ours, ["ConnectionRefused", "BadResource"]);
});

Deno.test("parity: the 'pipe the reply into conn.writable and forget the conn' idiom releases every descriptor", async () => {
  const CLIENTS = 200;
  const leaked: Record<string, number> = {};
  for (const api of APIS) {
    const before = openFdCount();
    const listener = listenWith(api, { hostname: "127.0.0.1", port: 0 });
    const serving = (async () => {
      for await (const conn of listener) {
        conn.readable.pipeTo(conn.writable).catch(() => {});
      }
    })();
    const message = new TextEncoder().encode("ping");
    for (let i = 0; i < CLIENTS; i += 20) {
      await Promise.all(Array.from({ length: 20 }, async () => {
        const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
        await client.write(message);
        assert.deepEqual(await readExactly(client as unknown as Deno.Conn, 4), message);
        client.close();
      }));
    }
    // Let the servers' pipes see the clients' ends.
    for (let i = 0; i < 100 && openFdCount() > before + 1; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    leaked[api] = openFdCount() - before - 1; // the listener itself is still open
    listener.close();
    await serving;
  }
  assert.deepEqual(leaked, { ours: 0, deno: 0 });
});

Deno.test("parity: a server port may be omitted or a numeric string, as Deno takes it", () => {
  for (const api of APIS) {
    const listeners = [
      listenWith(api, { hostname: "127.0.0.1" } as Deno.TcpListenOptions),
      listenWith(api, { hostname: "127.0.0.1", port: "0" as unknown as number }),
    ];
    for (const l of listeners) {
      assert.ok(l.addr.port > 0, `${api}: an ephemeral port`);
      l.close();
    }
    const udp = api === "ours"
      ? listenDatagram({ transport: "udp", hostname: "127.0.0.1" })
      : Deno.listenDatagram(
        { transport: "udp", hostname: "127.0.0.1" } as Deno.UdpListenOptions & { transport: "udp" },
      );
    assert.ok((udp.addr as Deno.NetAddr).port > 0, `${api}: an ephemeral UDP port`);
    udp.close();
  }
  // And both refuse the same bad ports with the same class and words.
  for (const bad of ["", "x", 1.5, -1, 70000, null]) {
    const outcome = (f: () => unknown) => {
      try {
        (f() as { close(): void }).close();
        return "ok";
      } catch (e) {
        return `${className(e)}: ${(e as Error).message}`;
      }
    };
    const ours = outcome(() => listen({ hostname: "127.0.0.1", port: bad as unknown as number }));
    const deno = outcome(() =>
      Deno.listen({ hostname: "127.0.0.1", port: bad as unknown as number })
    );
    assert.equal(ours, deno, `port ${JSON.stringify(bad)}`);
  }
});

Deno.test("parity: UDP sockets may send to a broadcast address by default, as Deno's", async () => {
  // 127.255.255.255 is lo's broadcast route: sending there needs SO_BROADCAST,
  // and the datagram never leaves the machine.
  const target = { transport: "udp" as const, hostname: "127.255.255.255", port: 9 };
  const outcome = (p: Promise<unknown>) => p.then(() => "sent", className);
  const ours = listenDatagram({ transport: "udp", hostname: "0.0.0.0", port: 0 });
  const deno = Deno.listenDatagram({ transport: "udp", hostname: "0.0.0.0", port: 0 });
  const off = listenDatagram({ transport: "udp", hostname: "0.0.0.0", port: 0, broadcast: false });
  try {
    const results = {
      ours: await outcome(ours.send(new Uint8Array(1), target)),
      deno: await outcome(deno.send(new Uint8Array(1), target)),
      off: await outcome(off.send(new Uint8Array(1), target)),
    };
    assert.deepEqual(results, { ours: "sent", deno: "sent", off: "PermissionDenied" });
  } finally {
    ours.close();
    deno.close();
    off.close();
  }
});
