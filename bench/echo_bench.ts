/**
 * Echo server shoot-out on loopback (`deno task bench:echo`).
 *
 * One after another it starts
 *   - module:      examples/echo_server.ts (this module's FFI sockets + reactor)
 *   - deno-listen: bench/deno_listen_echo.ts (Deno.listen, the baseline)
 *   - node:        bench/node_echo.mjs (Node's `net`; only if `node` is on PATH)
 *   - c:           bench/c_echo_server.c (edge-triggered epoll in C; needs gcc)
 * each pinned to core 0, and drives every one with the same C load client
 * (bench/echo_load.c) pinned to core 1, through three cases:
 *   - pp-64:   64-byte ping-pong over --connections connections
 *   - pp-16k:  16 KiB ping-pong over --connections connections
 *   - bulk:    --bulk-connections connections each streaming --bulk-mib MiB
 *              through the echo while reading it back
 *
 * Prints a Markdown table and writes the raw numbers to .bench-out/echo.json.
 *
 *   deno task bench:echo [--quick] [--duration 5] [--warmup 1] [--connections 50]
 *                        [--servers module,deno-listen,node,c] [--cases pp-64,pp-16k,bulk]
 *                        [--bulk-mib 64] [--bulk-connections 4] [--out PATH]
 *                        [--retries 2] [--quiet-wait 60]
 *
 * --quick: 1 s per case after a 0.5 s warm-up, no retries (a smoke run).
 * Before each case it waits up to --quiet-wait seconds for the machine to be
 * idle, and a case during which other processes used more than 0.1 core is
 * rerun up to --retries times (the least disturbed attempt is kept; a row
 * that stays disturbed is flagged in the notes).
 *
 * @module
 */

import { parseArgs } from "@cli";

const ROOT = new URL("../", import.meta.url).pathname;
const BENCH = new URL("./", import.meta.url).pathname;
const HOST = "127.0.0.1";
const SERVER_CORE = 0;
const CLIENT_CORE = 1;

type ServerName = "module" | "deno-listen" | "node" | "c";
type CaseName = "pp-64" | "pp-16k" | "bulk";
const ALL_SERVERS: ServerName[] = ["module", "deno-listen", "node", "c"];
const ALL_CASES: CaseName[] = ["pp-64", "pp-16k", "bulk"];
const SERVER_LABEL: Record<ServerName, string> = {
  module: "module (examples/echo_server.ts)",
  "deno-listen": "Deno.listen",
  node: "node net",
  c: "C epoll (gcc -O2)",
};

interface CpuWindow {
  busy: number;
  softirq: number;
  total: number;
}

/** What bench/echo_load.c prints (one JSON object). */
interface LoadResult {
  mode: "pingpong" | "bulk";
  connections: number;
  size?: number;
  bytes_per_connection?: number;
  wall_s: number;
  round_trips?: number;
  round_trips_per_s?: number;
  bytes?: number;
  bytes_per_s: number;
  mb_per_s?: number;
  latency_us?: {
    mean: number;
    p50: number;
    p90: number;
    p99: number;
    p999: number;
    max: number;
  };
  client_cpu_s: number;
  client_cpu_util: number;
  server_ticks: number;
  cpus: CpuWindow[];
}

interface CaseResult {
  server: ServerName;
  case: CaseName;
  load: LoadResult;
  /** round trips/s (ping-pong) or MB/s (bulk) */
  throughput: number;
  unit: "rt/s" | "MB/s";
  server_cpu_s: number;
  server_cpu_util: number;
  /** server CPU per round trip (µs) or per MiB echoed (µs) */
  server_cpu_per_op_us: number;
  core_busy: { server: number; client: number };
  /** CPU (in cores) used during the window by everything but server and client */
  other_cpu_cores: number;
  vs_deno_listen: number | null;
}

interface ServerInfo {
  name: ServerName;
  pid: number;
  comm: string;
  cpus_allowed: string;
  command: string[];
  startup_ms: number;
}

function usage(): never {
  console.error(
    "usage: deno task bench:echo [--quick] [--duration S] [--warmup S] [--connections N]\n" +
      "       [--servers module,deno-listen,node,c] [--cases pp-64,pp-16k,bulk]\n" +
      "       [--bulk-mib M] [--bulk-connections N] [--out PATH] [--retries N] [--quiet-wait S]",
  );
  Deno.exit(2);
}

// `deno bench bench/` also loads this file (it matches *_bench.ts): run only as the main module.
if (import.meta.main) await main();

async function main(): Promise<void> {
  // `deno task bench:echo -- --quick` hands the `--` through; drop it.
  const { values: opts } = parseArgs({
    args: Deno.args.filter((a) => a !== "--"),
    options: {
      duration: { type: "string" },
      warmup: { type: "string" },
      connections: { type: "string", default: "50" },
      servers: { type: "string", default: ALL_SERVERS.join(",") },
      cases: { type: "string", default: ALL_CASES.join(",") },
      "bulk-mib": { type: "string" },
      "bulk-connections": { type: "string", default: "4" },
      quick: { type: "boolean", default: false },
      retries: { type: "string" },
      "quiet-wait": { type: "string" },
      out: { type: "string", default: `${ROOT}.bench-out/echo.json` },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (opts.help) usage();

  function num(name: string, v: string | undefined, dflt: number, min: number): number {
    const n = v === undefined ? dflt : Number(v);
    if (!Number.isFinite(n) || n < min) {
      console.error(`bad --${name} ${v}`);
      usage();
    }
    return n;
  }
  const duration = num("duration", opts.duration, opts.quick ? 1 : 5, 0.1);
  const warmup = num("warmup", opts.warmup, opts.quick ? 0.5 : 1, 0);
  const connections = num("connections", opts.connections, 50, 1);
  const bulkMiB = num("bulk-mib", opts["bulk-mib"], 64, 1);
  const bulkConnections = num("bulk-connections", opts["bulk-connections"], 4, 1);
  const retries = num("retries", opts.retries, opts.quick ? 0 : 2, 0);
  const quietWaitS = num("quiet-wait", opts["quiet-wait"], opts.quick ? 5 : 60, 0);
  /** A window where other processes used more than this many cores is retried / flagged. */
  const OTHER_LIMIT = 0.1;
  const servers = String(opts.servers).split(",").map((s: string) => s.trim()).filter(
    Boolean,
  ) as ServerName[];
  const cases = String(opts.cases).split(",").map((s: string) => s.trim()).filter(
    Boolean,
  ) as CaseName[];
  for (const s of servers) {
    if (!ALL_SERVERS.includes(s)) (console.error(`unknown server ${s}`), usage());
  }
  for (const c of cases) if (!ALL_CASES.includes(c)) (console.error(`unknown case ${c}`), usage());

  const notes: string[] = [];
  const note = (s: string) => {
    notes.push(s);
    console.error(`note: ${s}`);
  };

  // ---------- helpers ----------

  async function run(
    cmd: string,
    args: string[],
    cwd?: string,
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" })
      .output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  }

  async function which(cmd: string): Promise<string | null> {
    try {
      const r = await run("sh", ["-c", `command -v ${cmd}`]);
      return r.code === 0 ? r.stdout.trim() : null;
    } catch {
      return null;
    }
  }

  function freePort(): number {
    const l = Deno.listen({ hostname: HOST, port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    return port;
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** Reads a /proc file. Deno wants --allow-all to read /proc itself, so `cat` does it. */
  async function readProc(path: string): Promise<string> {
    try {
      const r = await run("cat", [path]);
      return r.code === 0 ? r.stdout : "";
    } catch {
      return "";
    }
  }

  // ---------- tools ----------

  const gcc = await which("gcc") ?? await which("cc");
  if (!gcc) {
    console.error(
      "bench:echo needs a C compiler (gcc or cc) for the load client bench/echo_load.c; none found.",
    );
    Deno.exit(1);
  }
  const taskset = await which("taskset");
  const nproc = navigator.hardwareConcurrency;
  const pin = taskset !== null && nproc >= 2;
  if (!pin) {
    note(
      taskset === null
        ? "taskset not found (util-linux): server and client are not pinned"
        : `only ${nproc} CPU: server and client are not pinned`,
    );
  }
  const pinned = (core: number, cmd: string[]): string[] =>
    pin ? [taskset!, "-c", String(core), ...cmd] : cmd;

  const clkTck = Number((await run("getconf", ["CLK_TCK"])).stdout.trim()) || 100;

  const tmp = await Deno.makeTempDir({ prefix: "echo-bench-" });
  const loadBin = `${tmp}/echo_load`;
  const cServerBin = `${tmp}/c_echo_server`;
  {
    const r = await run(gcc, ["-O2", "-o", loadBin, `${BENCH}echo_load.c`]);
    if (r.code !== 0) {
      console.error(`compiling bench/echo_load.c failed:\n${r.stderr}`);
      Deno.exit(1);
    }
  }
  let haveC = false;
  if (servers.includes("c")) {
    const r = await run(gcc, ["-O2", "-o", cServerBin, `${BENCH}c_echo_server.c`]);
    if (r.code === 0) haveC = true;
    else note(`compiling bench/c_echo_server.c failed, C server skipped:\n${r.stderr}`);
  }
  const node = await which("node");
  if (servers.includes("node") && !node) note("node is not on PATH: node server skipped");

  function serverCommand(name: ServerName, port: number): string[] | null {
    const deno = Deno.execPath();
    switch (name) {
      case "module":
        // `deno run` directly (not `deno task`), so the pid is the deno process itself.
        return [
          deno,
          "run",
          "--allow-ffi",
          "--allow-net",
          "--allow-env",
          "--allow-read",
          `${ROOT}examples/echo_server.ts`,
          "--port",
          String(port),
          "--hostname",
          HOST,
        ];
      case "deno-listen":
        return [
          deno,
          "run",
          "--allow-net",
          `${BENCH}deno_listen_echo.ts`,
          "--port",
          String(port),
          "--hostname",
          HOST,
        ];
      case "node":
        return node
          ? [node, `${BENCH}node_echo.mjs`, "--port", String(port), "--hostname", HOST]
          : null;
      case "c":
        return haveC ? [cServerBin, String(port), HOST] : null;
    }
  }

  const EXPECTED_COMM: Record<ServerName, string> = {
    module: "deno",
    "deno-listen": "deno",
    node: "node",
    c: "c_echo_server",
  };

  // ---------- server lifecycle ----------

  async function startServer(
    name: ServerName,
    port: number,
  ): Promise<{ child: Deno.ChildProcess; info: ServerInfo } | null> {
    const cmd = serverCommand(name, port);
    if (!cmd) return null;
    const full = pinned(SERVER_CORE, cmd);
    const t0 = performance.now();
    const child = new Deno.Command(full[0], {
      args: full.slice(1),
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "inherit",
    }).spawn();
    let exited = false;
    child.status.then(() => (exited = true));
    // Wait until the server accepts: retry connect.
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (exited) throw new Error(`${name} server exited before accepting`);
      try {
        const c = await Deno.connect({ hostname: HOST, port });
        c.close();
        break;
      } catch {
        if (Date.now() > deadline) {
          child.kill("SIGKILL");
          throw new Error(`${name} server did not accept on ${HOST}:${port} within 30 s`);
        }
        await sleep(50);
      }
    }
    const startup_ms = performance.now() - t0;
    const comm = (await readProc(`/proc/${child.pid}/comm`)).trim();
    const cpus_allowed =
      /Cpus_allowed_list:\s*(\S+)/.exec(await readProc(`/proc/${child.pid}/status`))?.[1] ??
        "?";
    if (comm !== EXPECTED_COMM[name]) {
      note(`${name}: pid ${child.pid} is "${comm}", expected "${EXPECTED_COMM[name]}"`);
    }
    return {
      child,
      info: { name, pid: child.pid, comm, cpus_allowed, command: full, startup_ms },
    };
  }

  async function stopServer(child: Deno.ChildProcess): Promise<void> {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    const t = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, 3000);
    await child.status;
    clearTimeout(t);
  }

  // ---------- load ----------

  async function runCase(name: CaseName, port: number, pid: number): Promise<LoadResult> {
    const args = ["--host", HOST, "--port", String(port), "--server-pid", String(pid)];
    let timeoutS: number;
    if (name === "bulk") {
      args.push(
        "--mode",
        "bulk",
        "--connections",
        String(bulkConnections),
        "--bulk-bytes",
        String(Math.round(bulkMiB * 1024 * 1024)),
        "--warmup-bytes",
        String(Math.round(Math.min(bulkMiB / 4, 16) * 1024 * 1024)),
        "--duration",
        String(duration),
      );
      timeoutS = duration + 120;
    } else {
      args.push(
        "--mode",
        "pingpong",
        "--connections",
        String(connections),
        "--size",
        name === "pp-64" ? "64" : "16384",
        "--duration",
        String(duration),
        "--warmup",
        String(warmup),
      );
      timeoutS = duration + warmup + 30;
    }
    const full = pinned(CLIENT_CORE, [loadBin, ...args]);
    const child = new Deno.Command(full[0], {
      args: full.slice(1),
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, timeoutS * 1000);
    const out = await child.output();
    clearTimeout(timer);
    const dec = new TextDecoder();
    if (out.code !== 0) {
      throw new Error(
        `load client failed (code ${out.code}, signal ${out.signal}): ${dec.decode(out.stderr)}`,
      );
    }
    return JSON.parse(dec.decode(out.stdout)) as LoadResult;
  }

  /**
   * Cores' worth of CPU used during the window by anything but the server and
   * the client: other load on the box. (Tick-sampled softirq time counts toward
   * the task it interrupted, so it is inside server and client CPU already.)
   */
  function otherCores(load: LoadResult, serverCpuS: number): number {
    let busy = 0, total = 0;
    for (const w of load.cpus) {
      busy += w.busy;
      total += w.total;
    }
    if (total === 0) return NaN;
    const busyS = busy / total * load.cpus.length * load.wall_s;
    return Math.max(0, busyS - serverCpuS - load.client_cpu_s) / load.wall_s;
  }

  /** Busy and total jiffies summed over all CPUs, from /proc/stat. */
  async function systemJiffies(): Promise<{ busy: number; total: number }> {
    const line = (await readProc("/proc/stat")).split("\n")[0] ?? "";
    const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    return { busy: total - (v[3] ?? 0) - (v[4] ?? 0), total };
  }

  /**
   * Waits (up to maxWaitS) until the box is quiet: under 5 % of all CPUs busy
   * over a 500 ms sample. Other people's test runs would otherwise land in the
   * measurement. Returns the busy share of the last sample.
   */
  async function waitQuiet(maxWaitS: number): Promise<number> {
    const deadline = Date.now() + maxWaitS * 1000;
    let waited = false;
    for (;;) {
      const a = await systemJiffies();
      await sleep(500);
      const b = await systemJiffies();
      const share = b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : 0;
      if (share < 0.05 || Date.now() > deadline) {
        if (waited) console.error(`  (box busy ${(share * 100).toFixed(0)}% after waiting)`);
        return share;
      }
      if (!waited) {
        console.error(`  waiting for the box to go quiet (${(share * 100).toFixed(0)}% busy)`);
      }
      waited = true;
    }
  }

  // ---------- main ----------

  const machine = {
    cpu_model: /Model name:\s*(.*)/.exec((await run("lscpu", []).catch(() => null))?.stdout ?? "")
      ?.[1] ?? /model name\s*:\s*(.*)/.exec(await readProc("/proc/cpuinfo"))?.[1] ?? "?",
    nproc,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    node: node ? (await run(node, ["--version"])).stdout.trim() : null,
    gcc: (await run(gcc, ["-dumpfullversion"])).stdout.trim(),
    clk_tck: clkTck,
    pinned: pin,
  };

  console.error(
    `echo bench: ${duration} s per case after ${warmup} s warm-up, ${connections} connections; ` +
      `bulk ${bulkConnections} x ${bulkMiB} MiB; servers on core ${SERVER_CORE}, client on core ${CLIENT_CORE}`,
  );

  const results: CaseResult[] = [];
  const serverInfos: ServerInfo[] = [];
  // Ctrl-C must not leave a pinned server behind.
  let current: Deno.ChildProcess | null = null;
  Deno.addSignalListener("SIGINT", () => {
    try {
      current?.kill("SIGKILL");
    } catch {
      // already gone
    }
    Deno.exit(130);
  });
  try {
    for (const name of servers) {
      const port = freePort();
      let started;
      try {
        started = await startServer(name, port);
      } catch (e) {
        note(`${name}: ${(e as Error).message}`);
        continue;
      }
      if (!started) continue;
      current = started.child;
      serverInfos.push(started.info);
      console.error(
        `${name}: pid ${started.info.pid} (${started.info.comm}, cpus ${started.info.cpus_allowed}) ` +
          `accepting on ${HOST}:${port} after ${started.info.startup_ms.toFixed(0)} ms`,
      );
      try {
        for (const c of cases) {
          // Retry a case that other processes disturbed; keep the least disturbed attempt.
          let load: LoadResult | null = null;
          let other = Infinity;
          for (let attempt = 0; attempt <= retries; attempt++) {
            await waitQuiet(quietWaitS);
            let l: LoadResult;
            try {
              l = await runCase(c, port, started.info.pid);
            } catch (e) {
              note(`${name} ${c}: ${(e as Error).message.trim()}`);
              break;
            }
            const o = otherCores(l, l.server_ticks / clkTck);
            if (load === null || o < other) (load = l, other = o);
            if (o <= OTHER_LIMIT) break;
            console.error(`  ${c}: other processes used ${o.toFixed(2)} cores, retrying`);
          }
          if (load === null) continue;
          const bulk = load.mode === "bulk";
          const serverCpu = load.server_ticks / clkTck;
          const ops = bulk ? load.bytes! / (1024 * 1024) : load.round_trips!;
          const core = (i: number) => {
            const w = load.cpus[pin ? i : 0];
            return w && w.total > 0 ? w.busy / w.total : NaN;
          };
          const r: CaseResult = {
            server: name,
            case: c,
            load,
            throughput: bulk ? load.mb_per_s! : load.round_trips_per_s!,
            unit: bulk ? "MB/s" : "rt/s",
            server_cpu_s: serverCpu,
            server_cpu_util: serverCpu / load.wall_s,
            server_cpu_per_op_us: ops > 0 ? serverCpu / ops * 1e6 : NaN,
            core_busy: { server: core(SERVER_CORE), client: core(CLIENT_CORE) },
            other_cpu_cores: other,
            vs_deno_listen: null,
          };
          if (r.other_cpu_cores > OTHER_LIMIT) {
            note(
              `${name} ${c}: other processes used ~${
                r.other_cpu_cores.toFixed(2)
              } cores during the window; this row is disturbed`,
            );
          }
          results.push(r);
          console.error(
            `  ${c}: ${r.throughput.toFixed(bulk ? 1 : 0)} ${r.unit}` +
              (bulk ? "" : `, p50 ${load.latency_us!.p50} µs, p99 ${load.latency_us!.p99} µs`) +
              `, server cpu ${(r.server_cpu_util * 100).toFixed(0)}%, client cpu ${
                (load.client_cpu_util * 100).toFixed(0)
              }%`,
          );
          await sleep(200);
        }
      } finally {
        await stopServer(started.child);
        current = null;
      }
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }

  for (const r of results) {
    const base = results.find((b) => b.server === "deno-listen" && b.case === r.case);
    r.vs_deno_listen = base ? r.throughput / base.throughput : null;
  }

  // ---------- output ----------

  const CASE_LABEL: Record<CaseName, string> = {
    "pp-64": `64 B ping-pong x${connections}`,
    "pp-16k": `16 KiB ping-pong x${connections}`,
    bulk: `bulk ${bulkConnections} x ${bulkMiB} MiB streams`,
  };
  const pct = (x: number) => Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : "–";
  const fix = (x: number | undefined, d: number) =>
    x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(d);
  const group = (x: number) => Math.round(x).toLocaleString("en-US");

  const lines = [
    "| case | server | throughput | p50 µs | p99 µs | server CPU / op | server CPU | client CPU | core 0 / 1 busy | vs Deno.listen |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const c of cases) {
    for (const s of servers) {
      const r = results.find((x) => x.server === s && x.case === c);
      if (!r) continue;
      const bulk = r.unit === "MB/s";
      lines.push(
        `| ${CASE_LABEL[c]} | ${SERVER_LABEL[s]} | ${
          bulk ? `${fix(r.throughput, 0)} MB/s` : `${group(r.throughput)} rt/s`
        }${r.other_cpu_cores > OTHER_LIMIT ? " (disturbed)" : ""} | ${
          fix(r.load.latency_us?.p50, 0)
        } | ${fix(r.load.latency_us?.p99, 0)} | ${fix(r.server_cpu_per_op_us, bulk ? 0 : 2)} ${
          bulk ? "µs/MiB" : "µs/rt"
        } | ${pct(r.server_cpu_util)} | ${pct(r.load.client_cpu_util)} | ${
          pct(r.core_busy.server)
        } / ${pct(r.core_busy.client)} | ${
          r.vs_deno_listen === null ? "–" : `${r.vs_deno_listen.toFixed(2)}x`
        } |`,
      );
    }
  }
  console.log(lines.join("\n"));
  console.log(
    `\n${duration} s per ping-pong case after ${warmup} s warm-up; bulk = ${bulkConnections} connections ` +
      `each streaming ${bulkMiB} MiB through the echo and reading it back, repeated for >= ${duration} s ` +
      `(MB/s = 10^6 B echoed per second). Server CPU = utime+stime of the server ` +
      `process over the measured window (/proc/<pid>/stat, CLK_TCK ${clkTck}); client CPU = the load ` +
      `client's getrusage over the same window, as a share of one core; core busy includes softirq. ` +
      `${machine.cpu_model}, nproc ${nproc}, Deno ${machine.deno}` +
      (machine.node ? `, Node ${machine.node}` : "") + `.`,
  );
  for (const n of notes) console.log(`\n> note: ${n}`);

  const outPath = opts.out;
  await Deno.mkdir(outPath.replace(/\/[^/]*$/, "") || ".", { recursive: true });
  await Deno.writeTextFile(
    outPath,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine,
        options: {
          duration_s: duration,
          warmup_s: warmup,
          connections,
          bulk_mib: bulkMiB,
          bulk_connections: bulkConnections,
          server_core: pin ? SERVER_CORE : null,
          client_core: pin ? CLIENT_CORE : null,
          servers,
          cases,
        },
        servers: serverInfos,
        results,
        notes,
      },
      null,
      2,
    ) + "\n",
  );
  console.error(`raw results: ${outPath}`);
}
