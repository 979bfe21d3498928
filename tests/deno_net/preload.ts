/**
 * Preloaded into the `deno test` process that runs a copied Deno test file.
 *
 * DENO_NET_API=ours swaps in our listen/connect/listenDatagram and grants
 * each test `ffi` (substitute.ts says why); DENO_NET_API=deno leaves Deno's
 * API alone, the reference run. DENO_NET_SKIP (a JSON list of names) leaves
 * tests unregistered: the runner uses it to step past a test that hung, so one
 * hang does not hide the outcome of every test after it. DENO_NET_WARM=1 opens
 * libc before the first test (diagnosis only, never in the compared runs).
 *
 * @module
 */
import { install } from "./substitute.ts";

const api = Deno.env.get("DENO_NET_API") ?? "deno";
const skip = new Set<string>(JSON.parse(Deno.env.get("DENO_NET_SKIP") ?? "[]"));
if (api === "ours") await install();
// Diagnosis only (the runner's "alone" reruns): libc opened before the first
// test, so a test run alone is not failed by the sanitizer for the dlopen.
if (api === "ours" && Deno.env.get("DENO_NET_WARM") === "1") {
  (await import("../../ffi/libc.ts")).libc();
}

type Fn = (t: Deno.TestContext) => void | Promise<void>;
type Def = Deno.TestDefinition;

const original = Deno.test;

// Deno.test's overloads, reduced to one definition so name and permissions can
// be read and amended.
function normalize(args: unknown[]): Def {
  const [a, b, c] = args;
  if (typeof a === "function") return { name: a.name, fn: a as Fn };
  if (typeof a === "string") {
    if (typeof b === "function") return { name: a, fn: b as Fn };
    return { ...(b as Omit<Def, "name" | "fn">), name: a, fn: c as Fn };
  }
  if (typeof b === "function") {
    const opts = a as Omit<Def, "fn">;
    return { ...opts, name: opts.name ?? (b as Fn).name, fn: b as Fn };
  }
  return a as Def;
}

function wrapped(...args: unknown[]): void {
  const def = normalize(args);
  if (skip.has(def.name)) return;
  if (api === "ours" && typeof def.permissions === "object") {
    def.permissions = { ...def.permissions, ffi: true };
  }
  original(def);
}
Object.assign(wrapped, original);
(Deno as unknown as { test: unknown }).test = wrapped;
