/**
 * Happy Eyeballs (RFC 8305) in `connect`, against Deno's own `Deno.connect`
 * in the same child: a name whose first (IPv6) address never answers and
 * whose second (IPv4) address does.
 *
 * The child runs in its own mount and network namespace (`unshare -m -n`),
 * with an `/etc/hosts` that maps `dual` to `::1` and `127.0.0.1`, so no
 * lookup and no packet leaves it. `[::1]:P` is a listener with backlog 0
 * whose one queue slot is taken: the kernel drops further SYNs to it, so a
 * connect there hangs (as to a black-holed address). `127.0.0.1:P` accepts.
 *
 * Run: deno task test tests/happy_eyeballs_test.ts
 */

import assert from "@assert";
import { canIsolate } from "./helpers.ts";

const MOD = new URL("../mod.ts", import.meta.url).href;

const CHILD = `
import { connect, listen } from ${JSON.stringify(MOD)};
const fds = () => [...Deno.readDirSync("/proc/self/fd")].length;
// A fresh pair for every measurement, so that no earlier attempt's state
// (a half-open connection the kernel still holds) can free a queue slot.
async function pair() {
  const blackhole = listen({ hostname: "::1", port: 0, backlog: 0 });
  const port = blackhole.addr.port;
  const filler = await connect({ hostname: "::1", port }); // takes the one queue slot
  const open = listen({ hostname: "127.0.0.1", port });
  const serving = (async () => { for await (const c of open) c.close(); })();
  return { port, close: async () => { filler.close(); blackhole.close(); open.close(); await serving; } };
}
const time = async (f) => {
  const { port, close } = await pair();
  const t0 = performance.now();
  let result;
  try {
    const c = await f(port);
    result = { ok: true, via: c.remoteAddr.hostname, ms: Math.round(performance.now() - t0) };
    c.close();
  } catch (e) {
    result = { ok: false, error: e.constructor.name, ms: Math.round(performance.now() - t0) };
  }
  await close();
  return result;
};
// A first round opens what stays open for the process's life (the reactor's
// epoll and eventfd, the resolver's sockets): count from after it.
await time((port) => connect({ hostname: "dual", port }));
await time((port) => Deno.connect({ hostname: "dual", port }));
const before = fds();
const out = {
  ours: await time((port) => connect({ hostname: "dual", port })),
  deno: await time((port) => Deno.connect({ hostname: "dual", port })),
  oursDelay50: await time((port) => connect({ hostname: "dual", port, autoSelectFamilyAttemptDelay: 50 })),
  denoDelay50: await time((port) => Deno.connect({ hostname: "dual", port, autoSelectFamilyAttemptDelay: 50 })),
  oursSequential: await time((port) =>
    connect({ hostname: "dual", port, autoSelectFamily: false, signal: AbortSignal.timeout(1500) })
  ),
  denoSequential: await time((port) =>
    Deno.connect({ hostname: "dual", port, autoSelectFamily: false, signal: AbortSignal.timeout(1500) })
  ),
};
await new Promise((r) => setTimeout(r, 50));
out.fdsLeft = fds() - before;
console.log(JSON.stringify(out));
`;

Deno.test({
  name:
    "happy eyeballs: a dead first address costs the attempt delay, as with Deno.connect; losers are closed",
  ignore: !canIsolate(),
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "bsd-he-" });
    try {
      Deno.writeTextFileSync(`${dir}/hosts`, "127.0.0.1 localhost\n::1 dual\n127.0.0.1 dual\n");
      Deno.writeTextFileSync(`${dir}/child.ts`, CHILD);
      Deno.writeTextFileSync(
        `${dir}/enter.sh`,
        `set -e\nmount --bind ${dir}/hosts /etc/hosts\nip link set lo up\nexec "$@"\n`,
      );
      const out = await new Deno.Command("unshare", {
        args: [
          "-m",
          "-n",
          "sh",
          `${dir}/enter.sh`,
          Deno.execPath(),
          "run",
          "--quiet",
          "--no-config",
          "--unstable-net",
          "-A",
          `${dir}/child.ts`,
        ],
        cwd: dir,
        env: { NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout).trim();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const r = JSON.parse(text.split("\n").at(-1)!);
      console.log(JSON.stringify(r));
      // Both connect through IPv4 once the attempt delay (250 ms) has passed.
      for (const side of ["ours", "deno"]) {
        assert.equal(r[side].ok, true, `${side}: ${JSON.stringify(r[side])}`);
        assert.equal(r[side].via, "127.0.0.1", side);
        assert.ok(r[side].ms >= 240 && r[side].ms < 1000, `${side} took ${r[side].ms} ms`);
      }
      // The delay is honoured.
      for (const side of ["oursDelay50", "denoDelay50"]) {
        assert.equal(r[side].ok, true, `${side}: ${JSON.stringify(r[side])}`);
        assert.ok(r[side].ms >= 40 && r[side].ms < 240, `${side} took ${r[side].ms} ms`);
      }
      // Without it, the first address is tried alone until the signal gives up.
      for (const side of ["oursSequential", "denoSequential"]) {
        assert.equal(r[side].ok, false, `${side}: ${JSON.stringify(r[side])}`);
        assert.ok(r[side].ms >= 1400, `${side} gave up after ${r[side].ms} ms`);
      }
      assert.equal(r.oursSequential.error, r.denoSequential.error);
      // Every losing attempt was closed.
      assert.ok(r.fdsLeft <= 0, `${r.fdsLeft} descriptors left by the attempts`);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
