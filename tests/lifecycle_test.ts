/**
 * The shared socket life cycle (net/socket.ts): one accept loop, one connect
 * with its retry, one permission check per operation, for every socket kind.
 *
 * Each test here is a regression test for a copy that had drifted from its
 * stream original before the copies were merged:
 * - `SeqpacketListener.accept` gave up on `EMFILE` where `Listener.accept`
 *   backs off and recovers;
 * - `connectSeqpacket` against a full backlog waited for a writability that
 *   never comes, where the stream connect retries on a timer;
 * - a raw socket asked the permission API once per destination (Deno keeps
 *   every answer, so memory grew per peer), where the stream code asks once
 *   under a plain `--allow-net`;
 * - `connectDatagram` checked the resolved address against the allow list
 *   too, so `--allow-net=localhost:P` refused `hostname: "localhost"`.
 *
 * Run: deno task test tests/lifecycle_test.ts
 */

import assert from "@assert";
import { connectSeqpacket, listenSeqpacket, openRawSocket } from "../mod.ts";
import { buildIcmpEcho } from "../net/packets.ts";
import { IPPROTO_ICMP } from "../ffi/mod.ts";
import { deadline } from "./helpers.ts";

const MOD = new URL("../mod.ts", import.meta.url).href;
const decoder = new TextDecoder();

function tempPath(name: string): string {
  return `${Deno.makeTempDirSync({ prefix: "bsd-lifecycle-" })}/${name}`;
}

/** Runs a script with `deno run <flags>` under `sh -c "<prefix>; exec ..."`. */
async function runScript(
  source: string,
  flags: string[],
  shellPrefix = "true",
): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = tempPath("child.ts");
  Deno.writeTextFileSync(file, source);
  const quoted = [Deno.execPath(), "run", ...flags, file].map((a) => `'${a}'`).join(" ");
  const out = await new Deno.Command("sh", {
    args: ["-c", `${shellPrefix}; exec ${quoted}`],
    // Outside the repository: no config file, so Deno loads nothing lazily
    // (an npm resolver, certificates) that would need a descriptor later.
    cwd: file.slice(0, file.lastIndexOf("/")),
    // A clean environment: extra-certificate variables would make Deno load
    // certificates lazily, and fail to, once the child's table is full.
    clearEnv: true,
    env: { NO_COLOR: "1", PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: "/tmp" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

Deno.test("lifecycle: SeqpacketListener.accept backs off on EMFILE and accepts once descriptors are free", async () => {
  const path = tempPath("seq.sock");
  // The child accepts one client first (so Deno and the reactor have made
  // every descriptor they make lazily), fills its descriptor table, and
  // frees a few descriptors 500 ms after the next client queued up: the
  // pending accept must survive EMFILE and succeed.
  const child = `
    import { listenSeqpacket } from ${JSON.stringify(MOD)};
    const listener = listenSeqpacket({ path: ${JSON.stringify(path)} });
    const warm = await listener.accept();
    // Deno opens its signal pipe lazily, and panics when it cannot: open it now.
    const onSignal = () => {};
    Deno.addSignalListener("SIGUSR2", onSignal);
    await new Promise((r) => setTimeout(r, 50));
    const files = [];
    for (;;) {
      try { files.push(Deno.openSync("/dev/null")); } catch { break; }
    }
    console.log("FULL");
    const outcome = listener.accept().then((c) => { c.close(); return "accepted"; }, (e) => "rejected: " + e);
    await new Promise((r) => setTimeout(r, 500));
    for (const f of files.splice(0, 8)) f.close();
    console.log(await outcome);
    warm.close();
    listener.close();
    Deno.removeSignalListener("SIGUSR2", onSignal);
  `;
  const running = runScript(child, ["--allow-all"], "ulimit -n 48");
  for (let i = 0; i < 500; i++) {
    try {
      Deno.statSync(path);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  const first = await connectSeqpacket({ path });
  await new Promise((r) => setTimeout(r, 200));
  // Queued by the kernel while the child has no descriptor to accept it into.
  const second = await connectSeqpacket({ path });
  const result = await running;
  first.close();
  second.close();
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /FULL/);
  assert.match(result.stdout, /^accepted$/m, `child said: ${result.stdout} ${result.stderr}`);
});

Deno.test("lifecycle: connectSeqpacket against a full backlog completes once the listener accepts", async () => {
  const path = tempPath("backlog.sock");
  const listener = listenSeqpacket({ path, backlog: 0 });
  // Backlog 0 queues one connection: the next connects are refused with
  // EAGAIN until the listener takes the queued ones.
  const connects = [0, 1, 2].map(() => connectSeqpacket({ path }));
  await new Promise((r) => setTimeout(r, 200));
  const accepted = [];
  for (let i = 0; i < 3; i++) {
    accepted.push(await deadline(listener.accept(), 2000, `accept ${i}`));
  }
  const clients = await deadline(Promise.all(connects), 2000, "connects after the backlog drained");
  await clients[2].send(new TextEncoder().encode("hi"));
  const got = await Promise.race(accepted.map((a) => a.receive()));
  assert.equal(decoder.decode(got!), "hi");
  for (const c of [...clients, ...accepted]) c.close();
  listener.close();
});

Deno.test("lifecycle: a raw socket asks the permission API no per-destination question under a plain --allow-net", async () => {
  let sock;
  try {
    sock = openRawSocket({ protocol: IPPROTO_ICMP, mode: "auto" });
  } catch (error) {
    if (error instanceof Deno.errors.PermissionDenied) {
      console.log(`skipped: neither raw nor ping sockets are allowed here (${error.message})`);
      return;
    }
    throw error;
  }
  const original = Deno.permissions.querySync;
  let hostQueries = 0;
  Deno.permissions.querySync = ((descriptor: Deno.PermissionDescriptor) => {
    if (descriptor.name === "net" && "host" in descriptor && descriptor.host !== undefined) {
      hostQueries++;
    }
    return original.call(Deno.permissions, descriptor);
  }) as typeof Deno.permissions.querySync;
  try {
    for (let i = 1; i <= 40; i++) {
      await sock.send(buildIcmpEcho({ identifier: 7, sequence: i }), `127.0.0.${i}`);
    }
  } finally {
    Deno.permissions.querySync = original;
    sock.close();
  }
  assert.equal(hostQueries, 0, "per-destination permission queries under a plain --allow-net");
});

Deno.test("lifecycle: --allow-net=localhost:P lets connectDatagram({ hostname: 'localhost', port: P }) through, as Deno.connect", async () => {
  const port = 5399;
  const child = `
    import { connectDatagram } from ${JSON.stringify(MOD)};
    const outcome = async (f) => {
      try { const c = await f(); c.close(); return "ok"; } catch (e) { return e.name; }
    };
    const deno = await outcome(() => Deno.connect({ hostname: "localhost", port: ${port} }));
    const ours = await outcome(() => connectDatagram({ transport: "udp", hostname: "localhost", port: ${port} }));
    console.log(JSON.stringify({ deno, ours }));
  `;
  const result = await runScript(child, [
    `--allow-ffi`,
    `--allow-read`,
    `--allow-net=localhost:${port}`,
  ]);
  assert.equal(result.code, 0, result.stderr);
  const { deno, ours } = JSON.parse(result.stdout.trim().split("\n").pop()!);
  // Nobody listens: Deno's TCP connect passes the permission check and is refused.
  assert.notEqual(deno, "NotCapable");
  assert.equal(ours, "ok");
});
