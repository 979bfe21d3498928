/**
 * Name lookups under least privilege: `--allow-ffi=<libc's path>` alone is
 * enough to resolve a name (the getaddrinfo list is walked with libc's own
 * memcpy, no pointer objects), and without any ffi permission a lookup says
 * which flag is missing (`NotCapable`), not that the name is unknown.
 *
 * Run: deno task test tests/least_privilege_lookup_test.ts
 */

import assert from "@assert";

const MOD = new URL("../mod.ts", import.meta.url).href;

function libcPath(): string {
  for (const path of [`/lib/${Deno.build.arch}-linux-gnu/libc.so.6`, "/lib64/libc.so.6"]) {
    try {
      return Deno.realPathSync(path);
    } catch {
      // another layout
    }
  }
  throw new Error("no libc.so.6 found");
}

async function child(flags: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = Deno.makeTempDirSync({ prefix: "bsd-lookup-" });
  const file = `${dir}/child.ts`;
  Deno.writeTextFileSync(
    file,
    `import { connect, listen } from ${JSON.stringify(MOD)};
try {
  const listener = listen({ hostname: "localhost", port: 0 });
  const conn = await connect({ hostname: "localhost", port: listener.addr.port });
  console.log(JSON.stringify({ ok: conn.remoteAddr.hostname }));
  conn.close();
  listener.close();
} catch (e) {
  console.log(JSON.stringify({ error: e.constructor.name, message: e.message }));
}`,
  );
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--no-config",
        `--allow-read=${new URL("../", import.meta.url).pathname}`,
        ...flags,
        file,
      ],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("least privilege: --allow-ffi=<libc path> --allow-net=localhost resolves and connects by name", async () => {
  const run = await child([`--allow-ffi=${libcPath()}`, "--allow-net=localhost"]);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout.trim()), { ok: "127.0.0.1" });
});

Deno.test("least privilege: a lookup without --allow-ffi is NotCapable naming the flag, never NotFound", async () => {
  const run = await child(["--allow-net=localhost"]);
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout.trim());
  assert.equal(result.error, "NotCapable", run.stdout);
  assert.match(result.message, /--allow-ffi/);
});
