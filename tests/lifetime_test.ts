/**
 * Sockets owned by an isolate are released when it goes away, as Deno's own
 * are: a `deno run --watch` restart (which dispatches "unload" to the old
 * isolate) re-listens on the same fixed port without `AddrInUse`.
 *
 * A Worker ended with `terminate()` gets no "unload", and nothing of this
 * module can run in it afterwards: its sockets stay open until the process
 * ends (README, compatibility table).
 *
 * Run: deno task test tests/lifetime_test.ts
 */

import assert from "@assert";
import { freePort } from "./helpers.ts";

const MOD = new URL("../mod.ts", import.meta.url).href;

Deno.test("lifetime: a --watch restart re-listens on the same fixed port, as with Deno.listen", async () => {
  for (const api of ["ours", "deno"] as const) {
    const port = await freePort();
    const dir = Deno.makeTempDirSync({ prefix: "bsd-watch-" });
    const file = `${dir}/server.ts`;
    const source = (generation: number) =>
      `import { listen } from ${JSON.stringify(MOD)};
// generation ${generation}
try {
  const l = ${api === "ours" ? "listen" : "Deno.listen"}({ hostname: "127.0.0.1", port: ${port} });
  console.log("listening ${generation}");
  (async () => { for await (const c of l) c.close(); })();
} catch (e) {
  console.log("ERROR " + e.constructor.name);
}
`;
    Deno.writeTextFileSync(file, source(1));
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--watch", "--no-config", "-A", file],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const lines: string[] = [];
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = "";
    const nextLine = async (ms: number): Promise<string> => {
      const deadline = Date.now() + ms;
      for (;;) {
        const nl = buffered.indexOf("\n");
        if (nl !== -1) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          lines.push(line);
          return line;
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`${api}: no line in ${ms} ms; saw ${JSON.stringify(lines)}`);
        let timer: ReturnType<typeof setTimeout> | undefined;
        const chunk = await Promise.race([
          reader.read(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`${api}: timed out`)), left);
          }),
        ]).finally(() => clearTimeout(timer));
        if (chunk.done) throw new Error(`${api}: the watcher ended; saw ${JSON.stringify(lines)}`);
        buffered += chunk.value;
      }
    };
    try {
      assert.equal(await nextLine(20000), "listening 1", api);
      // Let the watcher settle before the change, or it may miss it.
      await new Promise((r) => setTimeout(r, 500));
      Deno.writeTextFileSync(file, source(2));
      assert.equal(await nextLine(20000), "listening 2", `${api}: the restart got the port back`);
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await reader.cancel().catch(() => {});
      Deno.removeSync(dir, { recursive: true });
    }
  }
});
