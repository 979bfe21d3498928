/**
 * The round trip that hung on aarch64 while `struct epoll_event` was declared
 * with x86_64's packed layout (the kernel wrote `data` at offset 8, the
 * reactor read it at 4, so no waiter was ever woken): listen, connect, write
 * both ways, read, close, through mod.ts on the reactor of this process.
 * Bounded by a deadline, so a hang fails instead of stalling the run.
 *
 * The backend is per process: CI runs this file once per backend with
 * `BSD_SOCKETS_POLLER=epoll` and `=poll` (natively and under qemu-aarch64);
 * unset, the default backend runs it.
 *
 * Run: BSD_SOCKETS_POLLER=poll deno test --allow-ffi --allow-net --allow-env
 *      tests/aarch64_roundtrip_test.ts
 */

import assert from "@assert";
import { connect, listen } from "../mod.ts";
import { reactor } from "../reactor/reactor.ts";

const wanted = Deno.env.get("BSD_SOCKETS_POLLER") || undefined;
const SCALE = Math.max(1, Number(Deno.env.get("BSD_SOCKETS_TEST_TIME_SCALE")) || 1);

/** `promise`, or a rejection naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no progress in ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function readExactly(conn: { read(b: Uint8Array): Promise<number | null> }, n: number) {
  const buf = new Uint8Array(n);
  for (let got = 0; got < n;) {
    const r = await conn.read(buf.subarray(got));
    if (r === null) throw new Error(`end of stream after ${got} of ${n} bytes`);
    got += r;
  }
  return buf;
}

Deno.test(`listen/connect/write/read round trip on the ${wanted ?? "default"} backend`, async () => {
  const encoder = new TextEncoder(), decoder = new TextDecoder();
  const listener = listen({ hostname: "127.0.0.1", port: 0 });
  if (wanted !== undefined) assert.equal(reactor().backend, wanted);
  const limit = 5000 * SCALE;
  try {
    // Both directions, and more than one wait each: every readiness event
    // must carry the right descriptor and token back to its waiter.
    const accepted = listener.accept();
    accepted.catch(() => {}); // awaited below; if connect fails first, close rejects it
    const client = await within(
      connect({ hostname: "127.0.0.1", port: listener.addr.port }),
      limit,
      "connect",
    );
    const server = await within(accepted, limit, "accept");
    try {
      for (let round = 0; round < 3; round++) {
        const ping = encoder.encode(`ping ${round}`);
        const atServer = readExactly(server, ping.length); // waits before the data exists
        await client.write(ping);
        assert.equal(decoder.decode(await within(atServer, limit, "server read")), `ping ${round}`);
        const pong = encoder.encode(`pong ${round}`);
        const atClient = readExactly(client, pong.length);
        await server.write(pong);
        assert.equal(decoder.decode(await within(atClient, limit, "client read")), `pong ${round}`);
      }
      client.closeWrite();
      assert.equal(await within(server.read(new Uint8Array(1)), limit, "end of stream"), null);
    } finally {
      client.close();
      server.close();
    }
  } finally {
    listener.close();
  }
});
