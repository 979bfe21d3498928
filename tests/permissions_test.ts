/**
 * Permissions like Deno's own, proven in subprocesses run with narrow flags.
 *
 * Each subprocess does the same thing through this module and through
 * Deno's own API (`Deno.listen`, `Deno.connect`, `Deno.listenDatagram`) and
 * reports both outcomes; the test asserts the same error class, and for
 * `NotCapable` the same message, word for word. Covered:
 *
 * - `examples/echo_server.ts` under `--allow-net=127.0.0.1:<p>` listens on
 *   p (and echoes) and dies on p+1 with Deno's `NotCapable` message;
 * - TCP connect, UDP bind and UDP send to a host:port not granted;
 * - Unix socket paths under every subset of `--allow-read`,
 *   `--allow-write` and `--allow-net=unix:<path>` (Deno 2.9 checks all
 *   three), relative paths and abstract names;
 * - `--allow-net=localhost` grants the name as written, as in Deno;
 * - without `--allow-ffi`: one clear error naming the flag, no prompt (also
 *   under a pseudo-terminal, where a bare `Deno.dlopen` would prompt).
 *
 * Subprocesses run with stdin closed, so a prompt could never block them.
 *
 * Run: deno test --unstable-net --allow-ffi --allow-net --allow-read --allow-write --allow-run
 *      --allow-env tests/permissions_test.ts
 */

import assert from "@assert";
import { listen, listenDatagram } from "../mod.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const MOD = new URL("../mod.ts", import.meta.url).href;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `deno run <flags> <file> <args>` with stdin closed and colours off. */
async function run(
  file: string,
  flags: string[],
  args: string[] = [],
  cwd = ROOT,
): Promise<Run> {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, file, ...args],
    cwd,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
    ms: performance.now() - t0,
  };
}

function show(r: Run): string {
  return `exit ${r.code} after ${
    r.ms.toFixed(0)
  } ms\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

/**
 * Writes a script (`deno eval` would grant everything, so it must be a
 * file) whose body sees `m` (this module), `args`, `outcome(fn)` and
 * `report(name, ours, deno)`, and prints the reports as JSON.
 */
async function scriptFile(dir: string, body: string): Promise<string> {
  const file = `${dir}/case_${crypto.randomUUID()}.ts`;
  await Deno.writeTextFile(
    file,
    `import * as m from ${JSON.stringify(MOD)};
const args = Deno.args;
const reports = [];
/** "ok", or "Class: message"; closes what it opened. */
async function outcome(fn) {
  try {
    const v = await fn();
    try { v?.close?.(); } catch { /* closed */ }
    return "ok";
  } catch (e) {
    return e?.constructor?.name + ": " + e?.message;
  }
}
function report(name, ours, deno) { reports.push({ name, ours, deno }); }
${body}
console.log(JSON.stringify(reports));
`,
  );
  return file;
}

interface Report {
  name: string;
  ours: string;
  deno: string | null;
}

async function runCases(
  dir: string,
  flags: string[],
  body: string,
  args: string[] = [],
  cwd = dir,
): Promise<Report[]> {
  const file = await scriptFile(dir, body);
  const r = await run(file, flags, args, cwd);
  assert.equal(r.code, 0, show(r));
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Report[];
}

const NOT_CAPABLE =
  /^NotCapable: Requires (net|read|write) access to ".*", run again with the --allow-(net|read|write) flag$/s;

function className(outcome: string): string {
  return outcome === "ok" ? "ok" : outcome.slice(0, outcome.indexOf(":"));
}

/**
 * Ours must match Deno's: same class, and for NotCapable the same message
 * (after `normalize`, which maps our file names onto Deno's).
 */
function assertSame(r: Report, normalize: (s: string) => string = (s) => s): void {
  if (r.deno === null) throw new Error(`${r.name}: no Deno outcome to compare`);
  const ours = normalize(r.ours), deno = normalize(r.deno);
  assert.equal(className(ours), className(deno), `${r.name}: ours ${r.ours} / Deno ${r.deno}`);
  if (className(deno) === "NotCapable") {
    assert.match(ours, NOT_CAPABLE, r.name);
    assert.equal(ours, deno, `${r.name}: message`);
  }
}

function byName(reports: Report[]): Map<string, Report> {
  return new Map(reports.map((r) => [r.name, r]));
}

/** A free TCP+UDP port p on 127.0.0.1 whose neighbour p+1 is free too. */
function freePortPair(): number {
  for (let i = 0; i < 50; i++) {
    const l = listen({ hostname: "127.0.0.1", port: 0 });
    const p = l.addr.port;
    const held: { close(): void }[] = [l];
    try {
      if (p >= 65535) continue;
      held.push(listen({ hostname: "127.0.0.1", port: p + 1 }));
      held.push(listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: p }));
      held.push(listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: p + 1 }));
      return p;
    } catch {
      // taken: try another
    } finally {
      for (const h of held) h.close();
    }
  }
  throw new Error("no free port pair on 127.0.0.1");
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "bsd-perm-" }));
  try {
    return await fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** Reads `reader` until `pattern` appears in the text so far; returns the text. */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  pattern: RegExp,
  ms: number,
): Promise<string> {
  let text = "";
  const timer = setTimeout(() => reader.cancel().catch(() => {}), ms);
  try {
    while (!pattern.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    clearTimeout(timer);
  }
  return text;
}

// ------------------------------------------------------------ the echo server

Deno.test("echo_server.ts with --allow-net=127.0.0.1:<p>: serves p, dies on p+1 with Deno.listen's NotCapable", async () => {
  const p = freePortPair();
  const flags = ["--allow-ffi", `--allow-net=127.0.0.1:${p}`];
  const server = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, "examples/echo_server.ts", "--hostname", "127.0.0.1", "--port", `${p}`],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const refused = run("examples/echo_server.ts", flags, [
    "--hostname",
    "127.0.0.1",
    "--port",
    `${p + 1}`,
  ]);
  await withTempDir(async (dir) => {
    // Deno.listen itself, in the same situation, for the reference message.
    const denoRefused = run(
      await scriptFile(dir, `Deno.listen({ hostname: "127.0.0.1", port: ${p + 1} });`),
      flags,
    );
    const stdout = server.stdout.getReader();
    try {
      const banner = await readUntil(stdout, /listening on .*\n/, 10000);
      assert.match(banner, new RegExp(`echo server listening on 127\\.0\\.0\\.1:${p}\\n`));
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: p });
      const message = encoder.encode("granted port echoes");
      await conn.write(message);
      const back = new Uint8Array(message.length);
      for (let got = 0; got < back.length;) {
        const n = await conn.read(back.subarray(got));
        assert.notEqual(n, null, "echo ended early");
        got += n!;
      }
      assert.equal(decoder.decode(back), "granted port echoes");
      conn.close();
    } finally {
      stdout.releaseLock();
      server.kill("SIGTERM");
      await server.status;
      await server.stdout.cancel().catch(() => {});
      await server.stderr.cancel().catch(() => {});
    }

    const ours = await refused, deno = await denoRefused;
    const expected = `NotCapable: Requires net access to "127.0.0.1:${
      p + 1
    }", run again with the --allow-net flag`;
    for (const r of [ours, deno]) {
      assert.equal(r.code, 1, show(r));
      const line = r.stderr.split("\n").find((l) => l.startsWith("error: "));
      if (line === undefined) throw new Error(`no error line:\n${show(r)}`);
      // Deno.listen throws synchronously at top level; serve() rejects inside a promise.
      assert.equal(line.replace(/^error: Uncaught (\(in promise\) )?/, ""), expected, show(r));
    }
  });
});

// ------------------------------------------------------------- TCP and UDP

Deno.test("net: listen, connect, UDP bind and UDP send to what is not granted refuse exactly as Deno does", async () => {
  const p = freePortPair();
  await withTempDir(async (dir) => {
    const reports = await runCases(
      dir,
      ["--allow-ffi", "--unstable-net", `--allow-net=127.0.0.1:${p}`],
      `
const P = Number(args[0]);
const tcp = async (name, options) =>
  report(name, await outcome(() => m.listen(options)), await outcome(() => Deno.listen(options)));
const dial = async (name, options) =>
  report(name, await outcome(() => m.connect(options)), await outcome(() => Deno.connect(options)));
await tcp("listen granted port", { hostname: "127.0.0.1", port: P });
await tcp("listen port+1", { hostname: "127.0.0.1", port: P + 1 });
await tcp("listen default hostname 0.0.0.0", { port: P });
await tcp("listen ::1", { hostname: "::1", port: P });
await dial("connect other host", { hostname: "127.0.0.2", port: P });
await dial("connect port+1", { hostname: "127.0.0.1", port: P + 1 });
await dial("connect [::1]", { hostname: "::1", port: P });
await dial("connect localhost (only 127.0.0.1 granted)", { hostname: "localhost", port: P });
await dial("connect granted, nobody listening", { hostname: "127.0.0.1", port: P });
const udp = (hostname, port) => ({ transport: "udp", hostname, port });
report("UDP bind granted", await outcome(() => m.listenDatagram(udp("127.0.0.1", P))),
  await outcome(() => Deno.listenDatagram(udp("127.0.0.1", P))));
report("UDP bind port+1", await outcome(() => m.listenDatagram(udp("127.0.0.1", P + 1))),
  await outcome(() => Deno.listenDatagram(udp("127.0.0.1", P + 1))));
const ours = m.listenDatagram(udp("127.0.0.1", P));
const sendOurs = (to) => outcome(() => ours.send(new Uint8Array([1, 2, 3]), to));
const oursResults = [await sendOurs(udp("127.0.0.1", P)), await sendOurs(udp("127.0.0.1", P + 1)),
  await sendOurs(udp("127.0.0.2", P)), await sendOurs(udp("::1", P))];
const [got] = await ours.receive();
ours.close();
const deno = Deno.listenDatagram(udp("127.0.0.1", P));
const sendDeno = (to) => outcome(() => deno.send(new Uint8Array([1, 2, 3]), to));
const denoResults = [await sendDeno(udp("127.0.0.1", P)), await sendDeno(udp("127.0.0.1", P + 1)),
  await sendDeno(udp("127.0.0.2", P)), await sendDeno(udp("::1", P))];
deno.close();
report("UDP send to itself (granted)", oursResults[0], denoResults[0]);
report("UDP send to port+1", oursResults[1], denoResults[1]);
report("UDP send to other host", oursResults[2], denoResults[2]);
report("UDP send to ::1", oursResults[3], denoResults[3]);
report("UDP send delivered", String(got.length), null);
report("connectDatagram other host",
  await outcome(() => m.connectDatagram({ transport: "udp", hostname: "127.0.0.2", port: P })),
  await outcome(() => Deno.connect({ hostname: "127.0.0.2", port: P })));
`,
      [`${p}`],
    );
    const cases = byName(reports);
    for (const r of reports) if (r.deno !== null) assertSame(r);
    const denied = (host: string) =>
      `NotCapable: Requires net access to "${host}", run again with the --allow-net flag`;
    const expect: [string, string][] = [
      ["listen granted port", "ok"],
      ["listen port+1", denied(`127.0.0.1:${p + 1}`)],
      ["listen default hostname 0.0.0.0", denied(`0.0.0.0:${p}`)],
      ["listen ::1", denied(`[::1]:${p}`)],
      ["connect other host", denied(`127.0.0.2:${p}`)],
      ["connect port+1", denied(`127.0.0.1:${p + 1}`)],
      ["connect [::1]", denied(`[::1]:${p}`)],
      ["connect localhost (only 127.0.0.1 granted)", denied(`localhost:${p}`)],
      ["UDP bind granted", "ok"],
      ["UDP bind port+1", denied(`127.0.0.1:${p + 1}`)],
      ["UDP send to itself (granted)", "ok"],
      ["UDP send to port+1", denied(`127.0.0.1:${p + 1}`)],
      ["UDP send to other host", denied(`127.0.0.2:${p}`)],
      ["UDP send to ::1", denied(`[::1]:${p}`)],
      ["connectDatagram other host", denied(`127.0.0.2:${p}`)],
    ];
    for (const [name, outcome] of expect) assert.equal(cases.get(name)?.ours, outcome, name);
    assert.match(cases.get("connect granted, nobody listening")!.ours, /^ConnectionRefused: /);
    assert.equal(cases.get("UDP send delivered")!.ours, "3");
  });
});

// ----------------------------------------------------------------- Unix paths

/**
 * Every Unix-socket entry point of ours beside Deno's: listen at a new path
 * (ours `o_*`, Deno's `d_*`, in this run's own directory `sub`, which is
 * also the working directory), a relative path, an abstract name, connect
 * to a path a listener of the parent serves, and datagram binds.
 */
const UNIX_BODY = `
const [dir, sub, abstract] = args;
const served = dir + "/served.sock";
const pair = async (name, mine, theirs) => report(name, await outcome(mine), await outcome(theirs));
await pair("listen",
  () => m.listen({ transport: "unix", path: sub + "/o_s.sock" }),
  () => Deno.listen({ transport: "unix", path: sub + "/d_s.sock" }));
await pair("listen relative",
  () => m.listen({ transport: "unix", path: "o_rel.sock" }),
  () => Deno.listen({ transport: "unix", path: "d_rel.sock" }));
await pair("listen abstract",
  () => m.listen({ transport: "unix", path: "\\0o_" + abstract }),
  () => Deno.listen({ transport: "unix", path: "\\0d_" + abstract }));
await pair("connect",
  () => m.connect({ transport: "unix", path: served }),
  () => Deno.connect({ transport: "unix", path: served }));
await pair("connect missing",
  () => m.connect({ transport: "unix", path: dir + "/missing.sock" }),
  () => Deno.connect({ transport: "unix", path: dir + "/missing.sock" }));
await pair("datagram bind",
  () => m.listenDatagram({ transport: "unixgram", path: sub + "/o_g.sock" }),
  () => Deno.listenDatagram({ transport: "unixpacket", path: sub + "/d_g.sock" }));
await pair("seqpacket listen (vs Deno.listen)",
  () => m.listenSeqpacket({ path: sub + "/o_q.sock" }),
  () => Deno.listen({ transport: "unix", path: sub + "/d_q.sock" }));
`;

Deno.test("unix: read, write and net=unix:<path> are each required, as Deno.listen/Deno.connect require them", async () => {
  await withTempDir(async (dir) => {
    const served = listen({ transport: "unix", path: `${dir}/served.sock` });
    const accepting = (async () => {
      for await (const c of served) c.close();
    })();
    const abstract = `bsd-perm-${Deno.pid}-${Date.now()}`;
    const base = ["--allow-ffi", "--unstable-net"];
    /** --allow-net=unix:<each path the run may use>, for run directory `sub`. */
    const unixNet = (sub: string) =>
      "--allow-net=" + [
        `${dir}/served.sock`,
        `${dir}/missing.sock`,
        ...["o_s", "d_s", "o_rel", "d_rel", "o_g", "d_g", "o_q", "d_q"].map((n) =>
          `${sub}/${n}.sock`
        ),
      ].map((path) => `unix:${path}`).join(",");
    const subsets: [string, (sub: string) => string[], Record<string, RegExp | "ok">][] = [
      ["no file or net flags", () => [], {
        listen: /read access to ".*\/o_s\.sock"/,
        "listen relative": /read access to "o_rel\.sock"/,
        "listen abstract": /net access to "unix:\0o_/,
        connect: /read access/,
      }],
      ["--allow-read", () => ["--allow-read"], { listen: /write access/, connect: /write access/ }],
      ["--allow-write", () => ["--allow-write"], { listen: /read access/, connect: /read access/ }],
      ["--allow-read --allow-write", () => ["--allow-read", "--allow-write"], {
        listen: /net access to "unix:.*\/o_s\.sock"/,
        // Deno names the absolute path in the net descriptor.
        "listen relative": /net access to "unix:\/.*\/run3\/o_rel\.sock"/,
        connect: /net access to "unix:.*\/served\.sock"/,
        "datagram bind": /net access/,
      }],
      ["read/write of the dir, net for each path", (sub) => [
        `--allow-read=${dir}`,
        `--allow-write=${dir}`,
        unixNet(sub),
      ], {
        listen: "ok",
        "listen relative": "ok",
        connect: "ok",
        "connect missing": /^NotFound/,
        "datagram bind": "ok",
        "seqpacket listen (vs Deno.listen)": "ok",
        // No --allow-net=<list> can name an abstract socket; only a plain --allow-net does.
        "listen abstract": /net access to "unix:\0o_/,
      }],
      ["all three", () => ["--allow-read", "--allow-write", "--allow-net"], {
        listen: "ok",
        "listen relative": "ok",
        "listen abstract": "ok",
        connect: "ok",
        "datagram bind": "ok",
      }],
    ];
    try {
      // One subprocess per subset, run together, each in its own directory.
      const results = await Promise.all(subsets.map(async ([, flags], i) => {
        const sub = `${dir}/run${i}`;
        Deno.mkdirSync(sub);
        return await runCases(
          dir,
          [...base, ...flags(sub)],
          UNIX_BODY,
          [dir, sub, `${abstract}-${i}`],
          sub,
        );
      }));
      // Ours uses o_* names, Deno d_*: compare the messages with both mapped to x_*.
      const normalize = (s: string) => s.replaceAll(/\b[od]_/g, "x_");
      results.forEach((reports, i) => {
        const [label, , expected] = subsets[i];
        for (const r of reports) assertSame({ ...r, name: `${label}: ${r.name}` }, normalize);
        const cases = byName(reports);
        for (const [name, want] of Object.entries(expected)) {
          const got = cases.get(name)!.ours;
          if (want === "ok") assert.equal(got, "ok", `${label}: ${name}`);
          else assert.match(got, want, `${label}: ${name}`);
        }
      });
    } finally {
      served.close();
      await accepting;
    }
  });
});

// ------------------------------------------------------------------ localhost

Deno.test("--allow-net=localhost grants the name as written (listen, connect, echo), not 127.0.0.1, as in Deno", async () => {
  await withTempDir(async (dir) => {
    const reports = await runCases(
      dir,
      ["--allow-ffi", "--allow-net=localhost"],
      `
async function roundTrip(listenFn, connectFn) {
  const l = listenFn({ hostname: "localhost", port: 0 });
  try {
    const [c, s] = await Promise.all([connectFn({ hostname: "localhost", port: l.addr.port }), l.accept()]);
    await c.write(new TextEncoder().encode("ping"));
    const buf = new Uint8Array(4);
    let got = 0;
    while (got < 4) got += await s.read(buf.subarray(got));
    await s.write(buf);
    got = 0;
    const back = new Uint8Array(4);
    while (got < 4) got += await c.read(back.subarray(got));
    c.close(); s.close();
    return new TextDecoder().decode(back);
  } finally { l.close(); }
}
report("localhost round trip", await outcome(async () => { if (await roundTrip(m.listen, m.connect) !== "ping") throw new Error("bad echo"); }),
  await outcome(async () => { if (await roundTrip(Deno.listen, Deno.connect) !== "ping") throw new Error("bad echo"); }));
report("listen 127.0.0.1", await outcome(() => m.listen({ hostname: "127.0.0.1", port: 0 })),
  await outcome(() => Deno.listen({ hostname: "127.0.0.1", port: 0 })));
report("connect 127.0.0.1", await outcome(() => m.connect({ hostname: "127.0.0.1", port: 9 })),
  await outcome(() => Deno.connect({ hostname: "127.0.0.1", port: 9 })));
`,
    );
    for (const r of reports) assertSame(r);
    const cases = byName(reports);
    assert.equal(cases.get("localhost round trip")!.ours, "ok");
    assert.match(cases.get("listen 127.0.0.1")!.ours, /net access to "127\.0\.0\.1:0"/);
    assert.match(cases.get("connect 127.0.0.1")!.ours, /net access to "127\.0\.0\.1:9"/);
  });
});

// ------------------------------------------------------------ no --allow-ffi

Deno.test("without --allow-ffi: one error that says to add it; pure helpers still work; no prompt", async () => {
  await withTempDir(async (dir) => {
    const echo = run("examples/echo_server.ts", ["--allow-net"], ["--port", "0"]);
    const file = await scriptFile(
      dir,
      `
import * as c from ${JSON.stringify(new URL("../ffi/mod.ts", import.meta.url).href)};
report("htons, inet_pton without ffi", String(m.htons(0x1234)) + " " + m.inet_pton(c.AF_INET, "10.1.2.3").join("."), null);
report("connect", await outcome(() => m.connect({ hostname: "127.0.0.1", port: 9 })), null);
report("listenDatagram", await outcome(() => m.listenDatagram({ transport: "udp", port: 0 })), null);
report("ffi socket", await outcome(() => c.socket(c.AF_INET, c.SOCK_STREAM, 0)), null);
report("ffi memset", await outcome(() => c.memset(new Uint8Array(4), 1, 4)), null);
`,
    );
    const script = await run(file, ["--allow-net"], [], dir);
    // Both flags that would do are named: all of ffi, or libc's own path alone.
    const ffiMessage = new RegExp(
      "^NotCapable: This module calls libc through Deno\\.dlopen: run Deno with --allow-ffi " +
        "\\(for example `deno run --allow-ffi --allow-net script\\.ts`\\), or with " +
        "--allow-ffi=/\\S+/libc[.\\w-]*\\.so[.\\d]* to allow libc alone " +
        "\\(BSD_SOCKETS_LIBC=<path> names another libc\\)\\.$",
    );
    assert.equal(script.code, 0, show(script));
    const cases = byName(JSON.parse(script.stdout.trim()) as Report[]);
    assert.equal(cases.get("htons, inet_pton without ffi")!.ours, `${0x3412} 10.1.2.3`);
    for (const name of ["connect", "listenDatagram", "ffi socket", "ffi memset"]) {
      assert.match(cases.get(name)!.ours, ffiMessage, name);
    }

    const r = await echo;
    assert.equal(r.code, 1, show(r));
    const errors = r.stderr.split("\n").filter((l) => /^error: /.test(l));
    assert.equal(errors.length, 1, show(r));
    assert.match(errors[0].replace(/^error: Uncaught \(in promise\) /, ""), ffiMessage);
    assert.match(errors[0], /^error: Uncaught \(in promise\) NotCapable: /);
    assert.doesNotMatch(r.stderr + r.stdout, /Deno requests|Allow\?/);
    assert.ok(r.ms < 10000, show(r));
  });
});

const hasScript = (() => {
  try {
    return new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "without --allow-ffi on a terminal: no prompt (a bare Deno.dlopen does prompt there)" +
    (hasScript ? "" : " [needs util-linux `script` for a pseudo-terminal]"),
  ignore: !hasScript,
  fn: async () => {
    await withTempDir(async (dir) => {
      const bare = await scriptFile(
        dir,
        `Deno.dlopen("libc.so.6", { getpid: { parameters: [], result: "i32" } });`,
      );
      /** Runs `deno run --allow-net <file>` on a pseudo-terminal; stops at a prompt. */
      const onTerminal = async (file: string, args: string[]) => {
        const child = new Deno.Command("script", {
          args: [
            "-qec",
            [Deno.execPath(), "run", "--allow-net", file, ...args].join(" "),
            "/dev/null",
          ],
          cwd: ROOT,
          env: { NO_COLOR: "1" },
          stdin: "piped", // kept open: a prompt would wait on it
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const reader = child.stdout.getReader();
        const text = await readUntil(reader, /Allow\?|error: [^\n]*\n/, 10000);
        const prompted = /Allow\?/.test(text);
        reader.releaseLock();
        child.kill("SIGKILL");
        await child.status;
        await child.stdout.cancel().catch(() => {});
        await child.stderr.cancel().catch(() => {});
        await child.stdin.close().catch(() => {});
        return { text, prompted };
      };
      const [control, ours] = await Promise.all([
        onTerminal(bare, []),
        onTerminal("examples/echo_server.ts", ["--hostname", "127.0.0.1", "--port", "0"]),
      ]);
      // The harness can see a prompt: Deno's own dlopen asks on a terminal.
      assert.ok(control.prompted, `expected Deno's ffi prompt, got:\n${control.text}`);
      assert.match(control.text, /Deno requests ffi access/);
      assert.ok(!ours.prompted, `no prompt expected, got:\n${ours.text}`);
      assert.match(ours.text, /error: Uncaught \(in promise\) NotCapable: [^\n]*--allow-ffi/);
    });
  },
});

// ------------------------------------------------ checked value = used value

/**
 * Options whose permission-relevant fields count their reads. Each is read
 * once: a field read twice could give the permission check one value and
 * the syscall another (a getter or Proxy can change between the reads).
 */
function counted<T extends Record<string, unknown>>(fields: T): {
  options: T;
  reads: Record<string, number>;
} {
  const reads: Record<string, number> = {};
  const options = {} as T;
  for (const [key, value] of Object.entries(fields)) {
    reads[key] = 0;
    Object.defineProperty(options, key, {
      enumerable: true,
      get: () => {
        reads[key]++;
        return value;
      },
    });
  }
  return { options, reads };
}

Deno.test("options: every permission-checked field (hostname, port, path, localHostname, localPort, localPath) is read once", async () => {
  const m = await import("../mod.ts");
  await withTempDir(async (dir) => {
    const udpPeer = m.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    // deno-lint-ignore no-explicit-any
    const cases: [string, Record<string, unknown>, (o: any) => unknown][] = [
      ["listen tcp", { hostname: "127.0.0.1", port: 0 }, m.listen],
      ["listen unix", { transport: "unix", path: `${dir}/l.sock` }, m.listen],
      ["connect tcp", { hostname: "127.0.0.1", port: 9 }, m.connect],
      ["connect unix", { transport: "unix", path: `${dir}/missing.sock` }, m.connect],
      [
        "listenDatagram udp",
        { transport: "udp", hostname: "127.0.0.1", port: 0 },
        m.listenDatagram,
      ],
      ["listenDatagram unix", { transport: "unixgram", path: `${dir}/g.sock` }, m.listenDatagram],
      ["connectDatagram udp", {
        transport: "udp",
        hostname: "127.0.0.1",
        port: udpPeer.addr.port,
        localHostname: "127.0.0.1",
        localPort: 0,
      }, m.connectDatagram],
      ["connectDatagram unix", {
        transport: "unixgram",
        path: `${dir}/g.sock`,
        localPath: `${dir}/h.sock`,
      }, m.connectDatagram],
      ["listenSeqpacket", { path: `${dir}/q.sock` }, m.listenSeqpacket],
      ["connectSeqpacket", { path: `${dir}/q.sock` }, m.connectSeqpacket],
      ["openRawSocket", { protocol: 1, mode: "dgram", hostname: "127.0.0.1" }, m.openRawSocket],
    ];
    const opened: { close(): void }[] = [udpPeer];
    try {
      for (const [name, fields, fn] of cases) {
        const { options, reads } = counted(fields);
        try {
          const result = await fn(options);
          opened.push(result as { close(): void });
        } catch (error) {
          // Refusals are fine here (nobody listens, no ping permission): only the reads matter.
          if (!(error instanceof Error)) throw error;
        }
        for (const key of ["hostname", "port", "path", "localHostname", "localPort", "localPath"]) {
          if (key in reads) {
            assert.equal(reads[key], 1, `${name}: options.${key} read ${reads[key]} times`);
          }
        }
      }
    } finally {
      for (const o of opened) o.close();
    }
  });
});
