/**
 * Runs Deno's own net unit tests (net.unit.ts, and the tests of
 * streams.unit.ts that call Deno.listen/Deno.connect) twice each: on Deno's
 * API, the reference, and on ours (substitute.ts says how). Each run is one
 * `deno test` process with the flags Deno's own runner passes to
 * tests/unit/*_test.ts (tests/unit/mod.rs at the same commit:
 * `--unstable-net --unstable-vsock --no-prompt -A`, and both sanitizers from
 * tests/config/deno.json, which in 2.9 are off unless asked for).
 *
 * `deno run -A tests/deno_net/run.ts [--json PATH]` prints the comparison and
 * writes every test's outcome on both sides as JSON.
 *
 * @module
 */

export type Outcome = "ok" | "FAILED" | "ignored" | "hung" | "missing";

export interface TestResult {
  outcome: Outcome;
  /** The error as the reporter printed it, first lines only. */
  error?: string;
}

export interface FileReport {
  file: string;
  deno: Record<string, TestResult>;
  ours: Record<string, TestResult>;
  /**
   * Each test that passed on Deno's API and failed on ours, run again alone
   * on ours with libc already loaded: tells a test's own failure from one
   * inherited from an earlier test (a port left bound) or from being first
   * (the dlopen the resource sanitizer sees).
   */
  oursAlone: Record<string, TestResult>;
}

const here = new URL(".", import.meta.url);
const root = new URL("../../", import.meta.url).pathname;
const preload = new URL("preload.ts", here).pathname;

/** Deno's `--filter` wants a regex; test names are plain identifiers mostly. */
function exact(names: string[]): string {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  return `/^(${names.map(esc).join("|")})$/`;
}

/**
 * The tests of a copied file whose body calls Deno.listen or Deno.connect,
 * found in the source so the list follows the file when it is refreshed.
 */
export function netTestNames(source: string): string[] {
  const names: string[] = [];
  const starts = [...source.matchAll(/^Deno\.test\(/gm)].map((m) => m.index!);
  for (let i = 0; i < starts.length; i++) {
    // Comments dropped: the one before a test may name Deno.connect().
    const chunk = source.slice(starts[i], starts[i + 1] ?? source.length)
      .replace(/^\s*\/\/.*$/gm, "");
    if (!/Deno\.(listen|connect|listenDatagram)\(/.test(chunk)) continue;
    const named = chunk.match(/function\s+([A-Za-z0-9_$]+)\s*\(/) ??
      chunk.match(/^Deno\.test\(\s*["'`]([^"'`]+)["'`]/);
    if (named) names.push(named[1]);
  }
  return names;
}

export function parseReport(text: string): Record<string, TestResult> {
  const results: Record<string, TestResult> = {};
  const lines = text.split("\n");
  for (const line of lines) {
    const m = line.match(/^(.+?) \.\.\. (ok|FAILED|ignored)( \(.*\))?$/);
    if (m) results[m[1]] = { outcome: m[2] as Outcome };
  }
  const start = lines.indexOf(" ERRORS ");
  const end = lines.indexOf(" FAILURES ");
  if (start >= 0) {
    let current: string | undefined;
    let body: string[] = [];
    const flush = () => {
      if (current && results[current]) results[current].error = summarize(body);
    };
    for (const line of lines.slice(start + 1, end < 0 ? undefined : end)) {
      const h = line.match(/^(.+) => \S+:\d+:\d+$/);
      if (h) {
        flush();
        current = h[1];
        body = [];
      } else body.push(line);
    }
    flush();
  }
  return results;
}

// The error line and the lines that continue it (a leak list), without the
// source excerpt and the stack.
function summarize(body: string[]): string {
  const out: string[] = [];
  for (const line of body) {
    if (out.length === 0 && !line.startsWith("error:")) continue;
    // Past the first line only a leak list or an unindented continuation
    // belongs to the message; an indented line is the source excerpt.
    if (out.length > 0 && !(line.startsWith("  - ") || /^\S/.test(line))) break;
    if (line.startsWith("To get more details")) break;
    out.push(line.trim());
  }
  return out.join(" ").replace(/^error: /, "").slice(0, 400);
}

export interface RunOptions {
  api: "deno" | "ours";
  file: string;
  filter?: string[];
  skip?: string[];
  warm?: boolean;
  /** A test that makes no progress for this long is counted as hung. */
  stallMs?: number;
}

/** One `deno test` process; a hung test is killed, recorded, and stepped over. */
export async function runFile(opts: RunOptions): Promise<Record<string, TestResult>> {
  const results: Record<string, TestResult> = {};
  const skip = [...(opts.skip ?? [])];
  for (let attempt = 0; attempt < 20; attempt++) {
    const args = [
      "test",
      "--no-lock",
      "--unstable-net",
      "--unstable-vsock",
      "--no-prompt",
      "--sanitize-ops",
      "--sanitize-resources",
      "-A",
      `--preload=${preload}`,
      ...(opts.filter ? ["--filter", exact(opts.filter)] : []),
      opts.file,
    ];
    const child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: root,
      env: {
        NO_COLOR: "1",
        DENO_NET_API: opts.api,
        DENO_NET_SKIP: JSON.stringify(skip),
        ...(opts.warm ? { DENO_NET_WARM: "1" } : {}),
      },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let text = "";
    let hung = false;
    const decoder = new TextDecoder();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        hung = true;
        child.kill("SIGKILL");
      }, opts.stallMs ?? 30_000);
    };
    arm();
    const pump = async (s: ReadableStream<Uint8Array>) => {
      for await (const chunk of s) {
        text += decoder.decode(chunk, { stream: true });
        arm();
      }
    };
    await Promise.all([pump(child.stdout), pump(child.stderr), child.status]);
    clearTimeout(timer);
    Object.assign(results, parseReport(text));
    if (!hung) {
      if (!text.includes(" passed | ")) {
        throw new Error(`deno test did not report for ${opts.file}:\n${text.slice(-2000)}`);
      }
      return results;
    }
    // The pretty reporter prints "name ..." when a test starts.
    const last = text.trimEnd().split("\n").at(-1) ?? "";
    const m = last.match(/^(.+?) \.\.\.$/);
    if (!m) throw new Error(`a run of ${opts.file} stalled outside a test:\n${text.slice(-2000)}`);
    results[m[1]] = { outcome: "hung", error: `no progress for ${opts.stallMs ?? 30_000} ms` };
    skip.push(m[1], ...Object.keys(results));
  }
  throw new Error(`too many hung tests in ${opts.file}`);
}

export const FILES = ["net.unit.ts", "streams.unit.ts"] as const;

export async function compareFile(name: (typeof FILES)[number]): Promise<FileReport> {
  const path = new URL(name, here).pathname;
  const filter = name === "streams.unit.ts"
    ? netTestNames(await Deno.readTextFile(path))
    : undefined;
  const file = `tests/deno_net/${name}`;
  const deno = await runFile({ api: "deno", file, filter });
  const ours = await runFile({ api: "ours", file, filter });
  const regressed = Object.keys(deno).filter((n) =>
    deno[n].outcome === "ok" && ours[n]?.outcome !== "ok"
  );
  const oursAlone: Record<string, TestResult> = {};
  for (const n of regressed) {
    const r = await runFile({ api: "ours", file, filter: [n], warm: true });
    oursAlone[n] = r[n] ?? { outcome: "missing" };
  }
  for (const n of Object.keys(deno)) ours[n] ??= { outcome: "missing" };
  return { file: name, deno, ours, oursAlone };
}

export function counts(results: Record<string, TestResult>): Record<Outcome, number> {
  const c: Record<Outcome, number> = { ok: 0, FAILED: 0, ignored: 0, hung: 0, missing: 0 };
  for (const r of Object.values(results)) c[r.outcome]++;
  return c;
}

if (import.meta.main) {
  const jsonAt = Deno.args.indexOf("--json");
  const reports: FileReport[] = [];
  for (const f of FILES) {
    const report = await compareFile(f);
    reports.push(report);
    const fmt = (c: Record<Outcome, number>) =>
      Object.entries(c).filter(([, v]) => v).map(([k, v]) => `${v} ${k}`).join(", ");
    console.log(`${f}: Deno's API ${fmt(counts(report.deno))}; ours ${fmt(counts(report.ours))}`);
    for (const [n, r] of Object.entries(report.deno)) {
      if (r.outcome !== "ok" || report.ours[n].outcome === "ok") continue;
      const alone = report.oursAlone[n];
      console.log(`  ${n}: ${report.ours[n].outcome}: ${report.ours[n].error ?? ""}`);
      console.log(`    alone: ${alone.outcome}${alone.error ? `: ${alone.error}` : ""}`);
    }
  }
  if (jsonAt >= 0) {
    await Deno.writeTextFile(Deno.args[jsonAt + 1], JSON.stringify(reports, null, 2) + "\n");
  }
}
