// Deno's own net unit tests (Deno 2.9.5's tests/unit/net_test.ts, and the
// tests of streams_test.ts that call Deno.listen/Deno.connect), run on Deno's
// API and on ours: every test that passes on Deno's must pass on ours, or be
// excused by a cause in tests/deno_net/known_failures.ts. tests/deno_net/
// README.md has the method.
import assert from "@assert";
import { compareFile, counts, FILES } from "./deno_net/run.ts";
import { excuse, KNOWN } from "./deno_net/known_failures.ts";

const used = new Set<string>();

for (const file of FILES) {
  Deno.test({
    name: `Deno's ${file}: what passes on Deno's API passes on ours`,
    sanitizeOps: false,
    sanitizeResources: false,
  }, async () => {
    const report = await compareFile(file);
    console.log(`Deno's API: ${JSON.stringify(counts(report.deno))}`);
    console.log(`ours:       ${JSON.stringify(counts(report.ours))}`);
    const unexcused: string[] = [];
    for (const [name, r] of Object.entries(report.deno)) {
      const ours = report.ours[name];
      if (r.outcome !== "ok" || ours.outcome === "ok") continue;
      const known = excuse(name, ours.error);
      if (known) used.add(known.cause);
      else unexcused.push(`${name}: ${ours.outcome}: ${ours.error ?? ""}`);
    }
    assert.deepStrictEqual(unexcused, []);
  });
}

Deno.test("every known cause still excuses a failure (delete the fixed ones)", () => {
  const stale = KNOWN.filter((k) => !k.timing && !used.has(k.cause)).map((k) => k.cause);
  assert.deepStrictEqual(stale, []);
});
