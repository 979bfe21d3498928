// Issue 3's capacity target as a test: one echo server process holds 10,000
// concurrent idle connections in under 100 MiB of resident memory, and
// releases every descriptor when they close. Server and clients run as child
// processes with `ulimit -n` raised, so the test needs no special limit itself.

import assert from "@assert";
import { Child, fdCount, rssBytes, settledFdCount, waitUntil } from "./fixtures/child.ts";
import { freePort, mib } from "./helpers.ts";

const CONNECTIONS = 10_000;
const RSS_LIMIT = 100 * 1024 * 1024;
const ULIMIT = "ulimit -n 12000 2>/dev/null || ulimit -n $(ulimit -Hn)";

Deno.test({
  name: `echo server: ${CONNECTIONS} idle connections in < 100 MiB RSS, every fd released after`,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const port = freePort();
    const server = new Child({
      flags: ["--allow-ffi", "--allow-net", "--allow-env", "--allow-read"],
      script: "examples/echo_server.ts",
      args: ["--hostname", "127.0.0.1", "--port", String(port)],
      shellPrefix: ULIMIT,
    });
    let clients: Child | undefined;
    try {
      await server.line(/listening/, 15_000);
      const baselineFds = await settledFdCount(server.pid);
      const baselineRss = await rssBytes(server.pid);
      clients = new Child({
        flags: ["--allow-net"],
        script: "tests/fixtures/idle_clients.ts",
        args: [String(port), String(CONNECTIONS)],
        shellPrefix: ULIMIT,
        stdin: true,
      });
      await clients.line(new RegExp(`READY ${CONNECTIONS}`), 120_000);
      const heldFds = await fdCount(server.pid);
      const rss = await rssBytes(server.pid);
      console.log(
        `server: ${heldFds - baselineFds} connection fds held, RSS ${mib(rss)} ` +
          `(${mib(baselineRss)} before the clients came)`,
      );
      assert.ok(heldFds - baselineFds >= CONNECTIONS, `server holds ${heldFds - baselineFds} fds`);
      assert.ok(
        rss < RSS_LIMIT,
        `server RSS ${mib(rss)} with ${CONNECTIONS} idle connections`,
      );

      await clients.closeStdin();
      await clients.line(/CLOSED/, 60_000);
      await clients.exited(30_000);
      const released = await waitUntil(
        async () => (await fdCount(server.pid)) <= baselineFds,
        20_000,
      );
      assert.ok(
        released,
        `server fds ${await fdCount(server.pid)} after close, baseline ${baselineFds}`,
      );
    } finally {
      await clients?.stop();
      await server.stop();
    }
  },
});
