/**
 * The examples, run as users run them (subprocesses): `deno task ping
 * 127.0.0.1 -c 2` prints replies; ping over ::1; ping without CAP_NET_RAW
 * (capsh drops it) through a ping socket, and the explained refusal when
 * the sysctl forbids that too; traceroute to 127.0.0.1 ends at hop 1; the
 * UDP echo server and client; the multicast chat hears its own line on lo.
 *
 * Run: deno test --allow-run --allow-read --allow-net --allow-ffi tests/examples_ping_test.ts
 */

import assert from "@assert";
import {
  freeUdpPort,
  PING_RANGE_FILE,
  readPingRange,
  ROOT,
  run,
  writePingRange,
} from "./helpers.ts";

const deno = Deno.execPath();

const isRoot = Deno.uid() === 0;
const capsh = (await run("sh", ["-c", "command -v capsh"])).stdout.trim();
const originalRange = await readPingRange();
const rangeWritable = isRoot && await writePingRange(originalRange) &&
  (await run("sh", ["-c", `test -w ${PING_RANGE_FILE}`])).code === 0;

// The flags of `deno task ping`: the read and sys grants only spare a prompt
// while a refusal is explained, so the capsh case checks that they are enough.
const PING_FLAGS = [
  "run",
  "--allow-ffi",
  "--allow-net",
  "--allow-read=/proc/sys/net/ipv4/ping_group_range",
  "--allow-sys=gid",
];

Deno.test({
  name: "examples: `deno task ping 127.0.0.1 -c 2` prints two replies with times and statistics",
  ignore: !isRoot,
  fn: async () => {
    const r = await run(deno, ["task", "ping", "127.0.0.1", "-c", "2"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /^PING 127\.0\.0\.1 \(127\.0\.0\.1\) 56\(84\) bytes of data \(raw socket\)\./m,
    );
    assert.match(r.stdout, /^64 bytes from 127\.0\.0\.1: icmp_seq=1 ttl=64 time=\d+\.\d{3} ms$/m);
    assert.match(r.stdout, /^64 bytes from 127\.0\.0\.1: icmp_seq=2 ttl=64 time=\d+\.\d{3} ms$/m);
    assert.match(r.stdout, /^2 packets transmitted, 2 received, 0% packet loss, time \d+ms$/m);
    assert.match(r.stdout, /^rtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms$/m);
  },
});

Deno.test({
  name: "examples: ping ::1 (ICMPv6) -c 2 -i 0.2",
  ignore: !isRoot,
  fn: async () => {
    const r = await run(deno, [...PING_FLAGS, "examples/ping.ts", "::1", "-c", "2", "-i", "0.2"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^64 bytes from ::1: icmp_seq=1 time=/m);
    assert.match(r.stdout, /^64 bytes from ::1: icmp_seq=2 time=/m);
    assert.match(r.stdout, /2 packets transmitted, 2 received, 0% packet loss/);
  },
});

Deno.test({
  name: capsh && rangeWritable
    ? "examples: ping without CAP_NET_RAW (capsh --drop) falls back to a ping socket, or explains the sysctl"
    : "examples: ping without CAP_NET_RAW — NOT RUN (needs root, capsh and a writable ping_group_range)",
  ignore: !(capsh && rangeWritable),
  fn: async () => {
    const unprivileged = (args: string[]) =>
      run(capsh, [
        "--drop=cap_net_raw",
        "--",
        "-c",
        '"$0" "$@"',
        deno,
        ...PING_FLAGS,
        "examples/ping.ts",
        ...args,
      ]);
    try {
      await writePingRange("0 2147483647");
      const ok = await unprivileged(["127.0.0.1", "-c", "2", "-i", "0.2"]);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /bytes of data \(ICMP ping socket\)\./);
      assert.match(ok.stdout, /^64 bytes from 127\.0\.0\.1: icmp_seq=2 time=/m);
      const ok6 = await unprivileged(["::1", "-c", "1"]);
      assert.equal(ok6.code, 0, ok6.stdout + ok6.stderr);
      assert.match(ok6.stdout, /^64 bytes from ::1: icmp_seq=1 time=/m);
      const forcedRaw = await unprivileged(["127.0.0.1", "-c", "1", "--mode", "raw"]);
      assert.equal(forcedRaw.code, 2);
      assert.match(forcedRaw.stderr, /EPERM.*CAP_NET_RAW/);

      await writePingRange("1 0");
      const refused = await unprivileged(["127.0.0.1", "-c", "1"]);
      assert.equal(refused.code, 2, refused.stdout + refused.stderr);
      assert.match(refused.stderr, /SOCK_RAW.*refused \(EPERM\).*CAP_NET_RAW/);
      assert.match(refused.stderr, /SOCK_DGRAM.*net\.ipv4\.ping_group_range/);
    } finally {
      await writePingRange(originalRange);
    }
  },
});

Deno.test({
  name: "examples: `deno task traceroute 127.0.0.1` finishes at hop 1",
  ignore: !isRoot,
  fn: async () => {
    const r = await run(deno, ["task", "traceroute", "127.0.0.1", "-q", "2"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.match(lines[0], /^traceroute to 127\.0\.0\.1 \(127\.0\.0\.1\), 30 hops max/);
    assert.match(lines[1], /^ 1 {2}127\.0\.0\.1 {2}[\d.]+ ms {2}[\d.]+ ms$/);
    assert.equal(lines.length, 2, "no hop 2");
    const r6 = await run(deno, ["task", "traceroute", "::1", "-q", "1"]);
    assert.equal(r6.code, 0, r6.stdout + r6.stderr);
    assert.match(r6.stdout, /^ 1 {2}::1 {2}[\d.]+ ms$/m);
  },
});

Deno.test("examples: udp-echo server and client", async () => {
  const port = String(freeUdpPort());
  const server = new Deno.Command(deno, {
    args: ["task", "udp-echo", "--port", port],
    cwd: ROOT,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const first = await reader.read();
    assert.match(first.value ?? "", new RegExp(`listening on 127\\.0\\.0\\.1:${port}`));
    reader.releaseLock();
    const one = await run(deno, ["task", "udp-echo", "--client", "--port", port, "hello", "udp"]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(one.stdout, "hello udp\n");
    const lines = await run(deno, ["task", "udp-echo", "--client", "--port", port], {
      stdin: "a\nbb\n",
    });
    assert.equal(lines.stdout, "a\nbb\n");
  } finally {
    server.kill("SIGINT");
    await server.status;
  }
});

Deno.test("examples: multicast-chat hears its own line on lo and leaves the group", async () => {
  const port = String(20000 + (Deno.pid % 20000));
  const r = await run(deno, [
    "task",
    "multicast-chat",
    "--group",
    "239.255.77.1",
    "--port",
    port,
    "--name",
    "tester",
  ], { stdin: "hello group\n" });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^joined 239\.255\.77\.1 on 127\.0\.0\.1/m);
  assert.match(r.stdout, new RegExp(`^\\[127\\.0\\.0\\.1:${port}\\] tester: hello group$`, "m"));
  assert.match(r.stdout, /^left the group$/m);
});
