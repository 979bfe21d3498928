/**
 * The examples' command lines as a newcomer types them: `--help` from a
 * directory outside the repository with no deno.json and no permission
 * (what running an example by URL amounts to), the README's
 * `deno task echo-client -- --port P hello` (Deno 2.9 hands the "--" on),
 * and each example under the least flags its usage names.
 *
 * Run: deno task test tests/examples_cli_test.ts
 */

import assert from "@assert";
import { freeUdpPort, ROOT, run, type RunResult } from "./helpers.ts";

const deno = Deno.execPath();
const EXAMPLES = [
  "echo_client",
  "echo_server",
  "multicast_chat",
  "ping",
  "resolve_host",
  "traceroute",
  "udp_echo",
];
const TASKS: Record<string, string> = {
  echo_client: "echo-client",
  echo_server: "echo-server",
  multicast_chat: "multicast-chat",
  ping: "ping",
  resolve_host: "resolve-host",
  traceroute: "traceroute",
  udp_echo: "udp-echo",
};

const show = (r: RunResult) => `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;

/** A libc path that a path-scoped --allow-ffi grant names exactly (no symlink spelling). */
function libcPath(): string {
  const multiarch = `${Deno.build.arch}-linux-gnu`;
  for (const path of [`/usr/lib/${multiarch}/libc.so.6`, "/usr/lib64/libc.so.6"]) {
    try {
      if (Deno.realPathSync(path) === path) return path;
    } catch {
      // not this layout
    }
  }
  throw new Error("cannot find libc.so.6");
}

/**
 * `deno run --no-prompt --no-config <flags> <example> <args>` from a fresh
 * directory outside the repository: no deno.json, so no import map.
 */
async function runOutside(
  flags: string[],
  example: string,
  args: string[],
  stdin?: string,
): Promise<RunResult> {
  const cwd = await Deno.makeTempDir({ prefix: "bsd-examples-cli-" });
  try {
    return await run(
      deno,
      ["run", "--no-prompt", "--no-config", ...flags, `${ROOT}examples/${example}.ts`, ...args],
      { cwd, stdin },
    );
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}

for (const example of EXAMPLES) {
  Deno.test(`examples/${example}.ts --help: usage, exit 0, outside the repo, no permission`, async () => {
    for (const flag of ["--help", "-h"]) {
      const r = await runOutside([], example, [flag]);
      assert.equal(r.code, 0, show(r));
      assert.equal(r.stderr, "", show(r));
      assert.match(r.stdout, new RegExp(`^usage: deno task ${TASKS[example]} -- `), show(r));
      // The exact line to run it by path, with its permission flags.
      const path = `${ROOT}examples/${example}.ts`.replaceAll(".", "\\.");
      assert.match(r.stdout, new RegExp(`^ +deno run (\\[?--allow-\\S+ )+${path} `, "m"), show(r));
      assert.match(r.stdout, /^permissions: /m, show(r));
    }
  });

  Deno.test(`deno task ${TASKS[example]} -- --help: the "--" Deno passes on is not an argument`, async () => {
    const r = await run(deno, ["task", "-q", TASKS[example], "--", "--help"]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^usage: /, show(r));
  });
}

Deno.test("an unknown option: a one-line reason and exit 2, no stack trace", async () => {
  for (const example of EXAMPLES) {
    const r = await runOutside([], example, ["--no-such-option"]);
    assert.equal(r.code, 2, `${example}: ${show(r)}`);
    assert.match(r.stderr, /no-such-option/, `${example}: ${show(r)}`);
    assert.doesNotMatch(r.stderr, /^\s+at /m, `${example}: ${show(r)}`);
  }
});

/** A Deno.listen echo server on loopback; its port and how to stop it. */
function echoServer(): { port: number; close: () => Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const conn of listener) conn.readable.pipeTo(conn.writable).catch(() => {});
  })();
  return {
    port: listener.addr.port,
    close: async () => {
      listener.close();
      await serving.catch(() => {});
    },
  };
}

Deno.test("deno task echo-client -- --port P hello: the README's form sends hello to P", async () => {
  const server = echoServer();
  try {
    const port = String(server.port);
    const r = await run(deno, ["task", "-q", "echo-client", "--", "--port", port, "hello"]);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, "hello\n");
    // A second "--" still ends the options: the text after it is sent as is.
    const literal = await run(deno, [
      "task",
      "-q",
      "echo-client",
      "--",
      "--port",
      port,
      "--",
      "--port",
    ]);
    assert.equal(literal.code, 0, show(literal));
    assert.equal(literal.stdout, "--port\n");
  } finally {
    await server.close();
  }
});

Deno.test("echo_client.ts by path with --allow-ffi=<libc> --allow-net=127.0.0.1:P alone", async () => {
  const server = echoServer();
  try {
    const port = String(server.port);
    const flags = [`--allow-ffi=${libcPath()}`, `--allow-net=127.0.0.1:${port}`];
    const r = await runOutside(flags, "echo_client", ["--port", port, "hello", "there"]);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, "hello there\n");
    const piped = await runOutside(flags, "echo_client", ["--port", port], "line\n".repeat(100));
    assert.equal(piped.code, 0, show(piped));
    assert.equal(piped.stdout, "line\n".repeat(100));
  } finally {
    await server.close();
  }
});

Deno.test("udp_echo.ts by path: server with --allow-net=127.0.0.1, client with 127.0.0.1:P", async () => {
  const port = String(freeUdpPort());
  const cwd = await Deno.makeTempDir({ prefix: "bsd-examples-cli-" });
  const ffi = `--allow-ffi=${libcPath()}`;
  const server = new Deno.Command(deno, {
    args: [
      "run",
      "--no-prompt",
      "--no-config",
      ffi,
      "--allow-net=127.0.0.1",
      `${ROOT}examples/udp_echo.ts`,
      "--port",
      port,
    ],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const first = await reader.read();
    assert.match(first.value ?? "", new RegExp(`listening on 127\\.0\\.0\\.1:${port}`));
    reader.releaseLock();
    const client = ["--client", "--port", port];
    const flags = [ffi, `--allow-net=127.0.0.1:${port}`];
    const one = await runOutside(flags, "udp_echo", [...client, "hello", "udp"]);
    assert.equal(one.code, 0, show(one));
    assert.equal(one.stdout, "hello udp\n");
    const lines = await runOutside(flags, "udp_echo", client, "a\nbb\n");
    assert.equal(lines.code, 0, show(lines));
    assert.equal(lines.stdout, "a\nbb\n");
  } finally {
    server.kill("SIGINT");
    await server.status;
    await server.stderr.cancel();
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("multicast_chat.ts by path with --allow-net=0.0.0.0:P,GROUP:P and no --allow-env", async () => {
  const port = String(20000 + ((Deno.pid + 7) % 20000));
  const group = "239.255.77.2";
  const r = await runOutside(
    [`--allow-ffi=${libcPath()}`, `--allow-net=0.0.0.0:${port},${group}:${port}`],
    "multicast_chat",
    ["--group", group, "--port", port],
    "hello group\n",
  );
  assert.equal(r.code, 0, show(r));
  // Without --allow-env the name falls back to the pid, and nothing prompts.
  assert.match(
    r.stdout,
    new RegExp(`^joined ${group.replaceAll(".", "\\.")} on 127\\.0\\.0\\.1`, "m"),
  );
  assert.match(r.stdout, new RegExp(`^\\[127\\.0\\.0\\.1:${port}\\] pid\\d+: hello group$`, "m"));
  assert.match(r.stdout, /^left the group$/m);
});

const isRoot = Deno.uid() === 0;

Deno.test({
  name:
    "ping.ts and traceroute.ts by path with --allow-net=0.0.0.0:0,127.0.0.1 (root: raw sockets)",
  ignore: !isRoot,
  fn: async () => {
    const flags = [`--allow-ffi=${libcPath()}`, "--allow-net=0.0.0.0:0,127.0.0.1"];
    const ping = await runOutside(flags, "ping", ["-c", "1", "127.0.0.1"]);
    assert.equal(ping.code, 0, show(ping));
    assert.match(ping.stdout, /^64 bytes from 127\.0\.0\.1: icmp_seq=1 /m);
    const trace = await runOutside(flags, "traceroute", ["-q", "1", "127.0.0.1"]);
    assert.equal(trace.code, 0, show(trace));
    assert.match(trace.stdout, /^ 1 {2}127\.0\.0\.1 {2}[\d.]+ ms$/m);
    const flags6 = [`--allow-ffi=${libcPath()}`, "--allow-net=[::]:0,[::1]"];
    const ping6 = await runOutside(flags6, "ping", ["-c", "1", "::1"]);
    assert.equal(ping6.code, 0, show(ping6));
    assert.match(ping6.stdout, /^64 bytes from ::1: icmp_seq=1 /m);
  },
});

Deno.test("resolve_host.ts: numeric addresses with no permission, a name with --allow-ffi", async () => {
  const numeric = await runOutside([], "resolve_host", ["127.0.0.1", "::1"]);
  assert.equal(numeric.code, 0, show(numeric));
  assert.equal(numeric.stdout, "127.0.0.1 IPv4 127.0.0.1\n::1 IPv6 ::1\n");
  const name = await runOutside(["--allow-ffi"], "resolve_host", ["-4", "localhost"]);
  assert.equal(name.code, 0, show(name));
  assert.match(name.stdout, /^localhost IPv4 127\.\d+\.\d+\.\d+\n$/);
});
