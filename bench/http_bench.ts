/**
 * HTTP/1.1 keep-alive throughput with `wrk`, the same handler on four
 * servers, in one run with interleaved rounds:
 *
 * - `module listener → node:http (fd)`: a listener made by this module,
 *   its descriptor handed to `node:http` (`serveHttp`, `via: "handover"`);
 * - `node:http alone`: `http.createServer().listen(port)`;
 * - `Deno.serve`: Deno's native HTTP server, for reference;
 * - `module Conn → node:http (stream adapter)`: `serveHttp` with
 *   `via: "stream"`, every connection through `toNodeSocket`.
 *
 *   deno task bench:http [--duration 5] [--rounds 3] [--connections 50] [--threads 1]
 *
 * Each server runs in its own process pinned to core 0, wrk pinned to core
 * 1 (when `taskset` exists). wrk comes from Debian's package, installed
 * here when missing. The goal: the module listener handed to node:http
 * within 10 % of node:http on its own listener.
 *
 * @module
 */

import { parseArgs } from "node:util";
import http from "node:http";
import { listen, serveHttp } from "../mod.ts";

const BODY = "hello world";

function handler(_req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(200, { "content-type": "text/plain" });
  res.end(BODY);
}

const MODES = {
  "module listener → node:http (fd)": "handover",
  "node:http alone": "node",
  "Deno.serve": "deno",
  "module Conn → node:http (stream adapter)": "stream",
} as const;
type Mode = (typeof MODES)[keyof typeof MODES];

/** The server side: one mode, in this (child) process, until killed. */
async function serve(mode: Mode, port: number): Promise<void> {
  const ready = () => console.log(`ready ${mode} ${port}`);
  if (mode === "deno") {
    Deno.serve(
      { hostname: "127.0.0.1", port, onListen: ready },
      () => new Response(BODY, { headers: { "content-type": "text/plain" } }),
    );
    return;
  }
  if (mode === "node") {
    http.createServer(handler).listen(port, "127.0.0.1", ready);
    return;
  }
  const served = serveHttp(listen({ hostname: "127.0.0.1", port }), handler, {
    via: mode === "handover" ? "handover" : "stream",
  });
  await served.listening;
  ready();
}

const decoder = new TextDecoder();

async function sh(cmd: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    return { ok: out.success, out: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
  } catch {
    return { ok: false, out: "" }; // not installed
  }
}

async function ensureWrk(): Promise<void> {
  if ((await sh("wrk", ["--version"])).out.includes("wrk")) return;
  console.error("wrk not found: installing Debian's wrk package");
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update", "-qq"], ["install", "-y", "-qq", "wrk"]]) {
    const out = await new Deno.Command("apt-get", { args, env, stdout: "null", stderr: "piped" })
      .output();
    if (!out.success) throw new Error(`apt-get ${args.join(" ")}: ${decoder.decode(out.stderr)}`);
  }
}

function pinned(core: number, cmd: string, args: string[], haveTaskset: boolean): string[] {
  return haveTaskset ? ["taskset", "-c", String(core), cmd, ...args] : [cmd, ...args];
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function startServer(mode: Mode, haveTaskset: boolean): Promise<[Deno.ChildProcess, number]> {
  const port = freePort();
  const [cmd, ...args] = pinned(0, Deno.execPath(), [
    "run",
    "-A",
    new URL(import.meta.url).pathname,
    "--serve",
    mode,
    "--port",
    String(port),
  ], haveTaskset);
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "inherit" }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  const until = Date.now() + 20_000;
  while (!text.includes("ready")) {
    if (Date.now() > until) throw new Error(`${mode} did not start: ${text}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`${mode} exited: ${text}`);
    text += decoder.decode(value);
  }
  reader.releaseLock();
  child.stdout.pipeTo(new WritableStream()).catch(() => {});
  return [child, port];
}

interface Sample {
  rps: number;
  p50: number; // µs
  p99: number; // µs
}

function micros(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === "us" ? 1 : m[2] === "ms" ? 1000 : 1e6);
}

async function wrk(
  port: number,
  seconds: number,
  connections: number,
  threads: number,
  haveTaskset: boolean,
): Promise<Sample> {
  const [cmd, ...args] = pinned(1, "wrk", [
    `-t${threads}`,
    `-c${connections}`,
    `-d${seconds}s`,
    "--latency",
    `http://127.0.0.1:${port}/`,
  ], haveTaskset);
  const { ok, out } = await sh(cmd, args);
  if (!ok) throw new Error(`wrk failed: ${out}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  if (/Non-2xx|Socket errors/.test(out)) console.error(`wrk reported errors:\n${out}`);
  return {
    rps,
    p50: micros(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? ""),
    p99: micros(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? ""),
  };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      serve: { type: "string" },
      port: { type: "string" },
      duration: { type: "string", default: "5" },
      rounds: { type: "string", default: "3" },
      connections: { type: "string", default: "50" },
      threads: { type: "string", default: "1" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(
      "usage: deno task bench:http [--duration 5] [--rounds 3] [--connections 50] [--threads 1]",
    );
    return;
  }
  if (values.serve) return await serve(values.serve as Mode, Number(values.port));

  await ensureWrk();
  const haveTaskset = (await sh("taskset", ["-c", "0", "true"])).ok;
  const seconds = Number(values.duration);
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);
  const threads = Number(values.threads);
  console.error(
    `wrk -t${threads} -c${connections} -d${seconds}s, ${rounds} interleaved rounds` +
      (haveTaskset ? ", server on core 0, wrk on core 1" : ", unpinned"),
  );
  const samples = new Map<string, Sample[]>(Object.keys(MODES).map((name) => [name, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const [name, mode] of Object.entries(MODES)) {
      const [child, port] = await startServer(mode, haveTaskset);
      try {
        await wrk(port, 1, connections, threads, haveTaskset); // warm-up: JIT, pools
        const sample = await wrk(port, seconds, connections, threads, haveTaskset);
        samples.get(name)!.push(sample);
        console.error(`round ${round}: ${name}: ${Math.round(sample.rps)} req/s`);
      } finally {
        child.kill("SIGKILL");
        await child.status;
      }
    }
  }
  const base = median(samples.get("node:http alone")!.map((s) => s.rps));
  const rows = [...samples].map(([name, list]) => {
    const rps = list.map((s) => s.rps);
    return [
      name,
      Math.round(median(rps)).toLocaleString("en-US"),
      `${Math.round(Math.min(...rps)).toLocaleString("en-US")}–${
        Math.round(Math.max(...rps)).toLocaleString("en-US")
      }`,
      String(Math.round(median(list.map((s) => s.p50)))),
      String(Math.round(median(list.map((s) => s.p99)))),
      `${(median(rps) / base).toFixed(2)}×`,
    ];
  });
  const header = ["server", "req/s (median)", "range", "p50 µs", "p99 µs", "vs node:http alone"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join(" | ")} |`;
  console.log(line(header));
  console.log(
    `| ${widths.map((w, i) => i === 0 ? "-".repeat(w) : "-".repeat(w - 1) + ":").join(" | ")} |`,
  );
  for (const row of rows) console.log(line(row));
}

if (import.meta.main) await main();
