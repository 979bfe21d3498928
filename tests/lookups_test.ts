/**
 * getnameinfo against Python's socket.getnameinfo (the same glibc, another
 * caller) over a corpus of addresses, ports and NI_* flags; if_nameindex and
 * if_indextoname against `ip -json link`; bad input refused before libc.
 *
 * The getnameinfo corpus runs in a private mount and network namespace
 * (`unshare -m -n`): only `lo`, an /etc/hosts of our own and a resolv.conf
 * naming 127.0.0.1 where nobody answers, so no reverse lookup can leave the
 * host and NI_NAMEREQD on a nameless address fails at once. Without root and
 * unshare that part is skipped, saying so.
 *
 * Run: deno task test tests/lookups_test.ts
 */

import assert from "@assert";
import { canIsolate } from "./helpers.ts";
import {
  AF_INET,
  AI_NUMERICHOST,
  EAI_FAMILY,
  getaddrinfoSync,
  getnameinfo,
  getnameinfoSync,
  if_indextoname,
  if_nameindex,
  if_nametoindex,
  NameInfoError,
  NI_DGRAM,
  NI_NAMEREQD,
  NI_NUMERICHOST,
  NI_NUMERICSERV,
  sockaddr_in,
} from "../ffi/mod.ts";
import { AddrInfoError } from "../ffi/resolve.ts";

const here = new URL(".", import.meta.url).pathname;
const decoder = new TextDecoder();

const isolated = canIsolate();

const HOSTS = ["127.0.0.1", "::1", "127.0.0.2", "fe80::1%1"];
const PORTS = [0, 22, 80, 65535];
const FLAGS = [
  0,
  NI_NUMERICHOST,
  NI_NUMERICSERV,
  NI_NUMERICHOST | NI_NUMERICSERV,
  NI_NAMEREQD,
  NI_NAMEREQD | NI_NUMERICSERV,
  NI_DGRAM,
  NI_NUMERICHOST | NI_DGRAM,
];
const CORPUS: [string, number, number][] = HOSTS.flatMap((h) =>
  PORTS.flatMap((p) => FLAGS.map((f) => [h, p, f] as [string, number, number]))
);

/** Runs both children in one fresh namespace; returns [python rows, deno rows]. */
async function runIsolated(): Promise<[unknown[][], unknown[][]]> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/hosts`, "127.0.0.1 localhost\n::1 ip6-localhost\n");
    await Deno.writeTextFile(
      `${dir}/resolv.conf`,
      "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
    );
    const corpus = JSON.stringify(CORPUS);
    await Deno.writeTextFile(`${dir}/corpus.json`, corpus);
    const script = `set -e
mount --bind ${dir}/hosts /etc/hosts
mount --bind ${dir}/resolv.conf /etc/resolv.conf
ip link set lo up
python3 ${here}fixtures/nameinfo_peer.py "$(cat ${dir}/corpus.json)" > ${dir}/python.json
${Deno.execPath()} run --allow-ffi --allow-read ${here}fixtures/nameinfo_child.ts "$(cat ${dir}/corpus.json)" > ${dir}/deno.json
`;
    const out = await new Deno.Command("unshare", {
      args: ["-m", "-n", "sh", "-c", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, `the isolated run failed: ${decoder.decode(out.stderr)}`);
    return [
      JSON.parse(await Deno.readTextFile(`${dir}/python.json`)),
      JSON.parse(await Deno.readTextFile(`${dir}/deno.json`)),
    ];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: `lookups: getnameinfo equals Python's over ${CORPUS.length} cases (isolated namespace)`,
  ignore: !isolated,
  async fn() {
    const started = performance.now();
    const [python, deno] = await runIsolated();
    const elapsed = performance.now() - started;
    assert.equal(python.length, CORPUS.length);
    assert.equal(deno.length, CORPUS.length);
    let names = 0, errors = 0;
    for (let i = 0; i < CORPUS.length; i++) {
      const [host, port, flags, expected] = python[i] as [string, number, number, unknown[]];
      const [, , , sync, off] = deno[i] as [string, number, number, unknown, unknown];
      const what = `${host} port ${port} flags ${flags}`;
      assert.deepEqual(sync, expected, `${what}: getnameinfoSync`);
      assert.deepEqual(off, expected, `${what}: getnameinfo`);
      if (expected[0] === "err") errors++;
      else if (expected[1] !== host && !/^[0-9a-f.:%]+$/i.test(String(expected[1]))) names++;
    }
    // The corpus exercises names from /etc/hosts and NI_NAMEREQD errors.
    assert.ok(names > 0, "some addresses were named from /etc/hosts");
    assert.ok(errors > 0, "NI_NAMEREQD on a nameless address failed");
    console.log(
      `${CORPUS.length} cases, ${names} named, ${errors} errors, ${elapsed.toFixed(0)} ms`,
    );
  },
});

if (!isolated) {
  Deno.test("lookups: the isolated getnameinfo corpus", () => {
    console.log("SKIP: needs root and unshare -m -n, so no reverse lookup can reach DNS");
  });
}

Deno.test("lookups: numeric getnameinfo needs no resolver, sync and off-thread agree", async () => {
  const [info] = getaddrinfoSync("127.0.0.1", "8080", { flags: AI_NUMERICHOST, family: AF_INET });
  const flags = NI_NUMERICHOST | NI_NUMERICSERV;
  assert.deepEqual(getnameinfoSync(info.address, flags), { host: "127.0.0.1", service: "8080" });
  assert.deepEqual(await getnameinfo(info.address, flags), { host: "127.0.0.1", service: "8080" });
  // A subarray with a byte offset is read at its offset.
  const padded = new Uint8Array(info.address.byteLength + 3);
  padded.set(info.address, 3);
  assert.deepEqual(getnameinfoSync(padded.subarray(3), flags).host, "127.0.0.1");
});

Deno.test("lookups: getnameinfo's bad input is refused before libc; libc's errors are EAI_*", async () => {
  assert.throws(() => getnameinfoSync(new Uint8Array(1)), RangeError);
  assert.throws(() => getnameinfoSync(new Uint8Array(129)), RangeError);
  assert.throws(() => getnameinfoSync("127.0.0.1" as never), TypeError);
  assert.throws(() => getnameinfoSync(new Uint8Array(16), 1.5), RangeError);
  await assert.rejects(() => getnameinfo(new Uint8Array(0)), RangeError);
  await assert.rejects(() => getnameinfo(new Uint8Array(16), 0, {} as never), TypeError);
  const aborted = AbortSignal.abort(new Error("stop"));
  await assert.rejects(() => getnameinfo(new Uint8Array(16), 0, aborted), /stop/);
  // An unknown family: glibc says EAI_FAMILY, and the error is also an AddrInfoError.
  const unknown = sockaddr_in.encode({ sin_family: AF_INET, sin_port: 1, sin_addr: 0 });
  unknown[0] = 99;
  for (const call of [() => getnameinfoSync(unknown), () => getnameinfo(unknown)]) {
    await assert.rejects(
      async () => await call(),
      (e: unknown) =>
        e instanceof NameInfoError && e instanceof AddrInfoError && e.code === EAI_FAMILY &&
        e.message.startsWith("getnameinfo(family 99, 16 bytes)"),
    );
  }
  // A truncated sockaddr_in: glibc refuses its length (EAI_FAMILY), nothing read past it.
  assert.throws(() =>
    getnameinfoSync(
      sockaddr_in.encode({
        sin_family: AF_INET,
        sin_port: 1,
        sin_addr: 0,
      }).subarray(0, 8),
    ), NameInfoError);
});

Deno.test("lookups: if_nameindex equals `ip -json link`, and if_indextoname each entry", () => {
  const out = new Deno.Command("ip", { args: ["-json", "link"] }).outputSync();
  assert.ok(out.success);
  const links: { ifindex: number; ifname: string }[] = JSON.parse(decoder.decode(out.stdout));
  const expected = links.map((l) => ({ index: l.ifindex, name: l.ifname }))
    .sort((a, b) => a.index - b.index);
  const listed = if_nameindex().sort((a, b) => a.index - b.index);
  assert.deepEqual(listed, expected);
  for (const { index, name } of listed) {
    assert.equal(if_indextoname(index), name);
    assert.equal(if_nametoindex(name), index);
  }
  console.log(listed.map((i) => `${i.index} ${i.name}`).join(", "));
});

Deno.test("lookups: interface names and indexes: bad input refused before the kernel", () => {
  assert.throws(() => if_nametoindex("x".repeat(16)), RangeError, "IF_NAMESIZE");
  assert.throws(() => if_nametoindex("lo\0"), TypeError);
  assert.equal(if_nametoindex("x".repeat(15)), 0); // a legal name nobody has
  assert.equal(if_indextoname(0), null);
  const unused = Math.max(...if_nameindex().map((i) => i.index)) + 1000;
  assert.equal(if_indextoname(unused), null);
  assert.throws(() => if_indextoname(-1), RangeError);
  assert.throws(() => if_indextoname(2 ** 32), RangeError);
  assert.throws(() => if_indextoname(1.5), RangeError);
  assert.throws(() => if_indextoname("1" as never), TypeError);
});
