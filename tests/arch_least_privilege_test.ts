/**
 * Least privilege: the module needs `--allow-ffi` for libc only, so
 * `--allow-ffi=<libc's path>` alone must do, with `--allow-net=127.0.0.1`
 * and nothing else. Each case runs tests/arch_least_privilege_child.ts in a
 * subprocess with exactly those flags: a TCP round trip through mod.ts and a
 * refused connect must work; a grant for another library must fail with a
 * message naming the flag to add, path included; `BSD_SOCKETS_LIBC` must
 * name a libc at a path the module would not guess.
 *
 * libc's real path is the one this test process mapped (/proc/self/maps).
 * Under qemu-user (the aarch64 CI run), set BSD_SOCKETS_TEST_EXEC_WRAPPER=qemu-aarch64:
 * a foreign Deno can only start a foreign Deno through qemu.
 *
 * Run: deno test --allow-read --allow-write --allow-run --allow-env tests/arch_least_privilege_test.ts
 */

import assert from "@assert";

const ROOT = new URL("../", import.meta.url).pathname;
const CHILD = "tests/arch_least_privilege_child.ts";

/**
 * The path the kernel mapped this process's libc from (a real path, symlinks
 * resolved). Deno lets only near-full permissions read /proc/self/maps; with
 * fewer, the first libc found among the usual places stands in.
 */
function mappedLibc(): string {
  try {
    const match = Deno.readTextFileSync("/proc/self/maps").match(/\s(\/\S*\/libc\.so\.6)$/m);
    if (match !== null) return match[1];
  } catch (e) {
    if (!(e instanceof Deno.errors.NotCapable)) throw e;
  }
  const multiarch = `${Deno.build.arch}-linux-gnu`;
  const usual = [
    `/usr/lib/${multiarch}/libc.so.6`, // Debian, Ubuntu
    "/usr/lib64/libc.so.6", // Fedora, RHEL, SUSE
    "/usr/lib/libc.so.6", // Arch
    `/usr/${multiarch}/lib/libc.so.6`, // Debian's cross libc, as qemu-user runs it
  ];
  for (const path of usual) {
    try {
      if (Deno.realPathSync(path) === path) return path;
    } catch {
      // not this layout
    }
  }
  throw new Error("cannot find libc.so.6");
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `deno run <flags> <child>`, through the wrapper when one is set (qemu-aarch64). */
async function runChild(flags: string[], env: Record<string, string> = {}): Promise<Run> {
  const wrapper = Deno.env.get("BSD_SOCKETS_TEST_EXEC_WRAPPER");
  const argv = [Deno.execPath(), "run", "--no-prompt", ...flags, CHILD];
  const [cmd, ...args] = wrapper ? [wrapper, ...argv] : argv;
  const out = await new Deno.Command(cmd, {
    args,
    cwd: ROOT,
    // Only what the child is given: no BSD_SOCKETS_LIBC inherited by accident.
    env: { NO_COLOR: "1", BSD_SOCKETS_LIBC: "", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;

function assertRoundTrip(run: Run, libc: string): void {
  assert.equal(run.code, 0, show(run));
  const result = JSON.parse(run.stdout.trim());
  assert.equal(result.atServer, "ping from the client", show(run));
  assert.equal(result.atClient, "pong from the server", show(run));
  assert.equal(result.libc, libc, "the module opened the granted path");
  // errno (ECONNREFUSED) and strerror's text, both read through libc, not
  // Deno.UnsafePointerView.
  assert.equal(result.refused?.name, "ConnectionRefused", show(run));
  assert.equal(result.refused?.code, "ECONNREFUSED", show(run));
  assert.match(result.refused?.message, /^connect: Connection refused \(ECONNREFUSED\)/, show(run));
}

Deno.test("--allow-ffi=<libc's real path> --allow-net=127.0.0.1 alone: round trip and refused connect through mod.ts", async () => {
  const libc = mappedLibc();
  assertRoundTrip(await runChild([`--allow-ffi=${libc}`, "--allow-net=127.0.0.1"]), libc);
});

Deno.test("a grant for another library: NotCapable naming --allow-ffi=<libc's path> (a path that works) and BSD_SOCKETS_LIBC", async () => {
  const flags = ["--allow-ffi=/nonexistent/libother.so", "--allow-net=127.0.0.1"];
  const run = await runChild(flags);
  assert.equal(run.code, 1, show(run));
  assert.match(
    run.stderr,
    /NotCapable: This module calls libc through Deno\.dlopen: run Deno with --allow-ffi .*, or with --allow-ffi=\/\S+\/libc\.so\.6 to allow libc alone \(BSD_SOCKETS_LIBC=<path> names another libc\)\./,
    show(run),
  );
  assert.doesNotMatch(run.stderr, /Deno requests|Allow\?/);
  // When it may look, it names a path that exists, and granting that path alone is enough.
  const looked = await runChild([...flags, "--allow-read"]);
  assert.equal(looked.code, 1, show(looked));
  const named = looked.stderr.match(/or with --allow-ffi=(\S+) to allow libc alone/)?.[1];
  if (named === undefined) throw new Error(`no path named:\n${show(looked)}`);
  assert.ok(Deno.statSync(named).isFile, `${named} names no file`);
  assertRoundTrip(await runChild([`--allow-ffi=${named}`, "--allow-net=127.0.0.1"]), named);
});

Deno.test("BSD_SOCKETS_LIBC names a libc at a path the module would not guess", async () => {
  const dir = await Deno.makeTempDir({ prefix: "arch_least_privilege_" });
  try {
    const link = `${dir}/libc.so.6`;
    await Deno.symlink(mappedLibc(), link);
    const flags = [`--allow-ffi=${link}`, "--allow-net=127.0.0.1"];
    // Without the variable (or without leave to read it) the grant is for a path nobody tries.
    const unnamed = await runChild(flags, { BSD_SOCKETS_LIBC: link });
    assert.equal(unnamed.code, 1, show(unnamed));
    assert.match(unnamed.stderr, /NotCapable/, show(unnamed));
    const named = await runChild([...flags, "--allow-env=BSD_SOCKETS_LIBC"], {
      BSD_SOCKETS_LIBC: link,
    });
    assertRoundTrip(named, link);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
