/**
 * Typed TCP_INFO and SO_PEERCRED against real oracles: the layout against
 * gcc's offsetof over the system's <linux/tcp.h>, state and rtt of a live
 * connection against `ss -tin`, every truncation of a real buffer decoded
 * without reading past its end, and SO_PEERCRED against a Python peer's own
 * pid/uid/gid.
 *
 * Run: deno task test tests/tcp_info_test.ts
 */

import assert from "@assert";
import { connect, decodeTcpInfo, getTcpInfo, listen, TCP_INFO_FIELDS, TCP_STATES } from "../mod.ts";
import { peerCredentials } from "../mod.ts";

const decoder = new TextDecoder();

function have(cmd: string, args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

const haveGcc = have("gcc", ["--version"]) && have("test", ["-e", "/usr/include/linux/tcp.h"]);

Deno.test({
  name: "tcp_info: the layout equals gcc's offsetof over <linux/tcp.h>",
  ignore: !haveGcc,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      // An older header lacks the newest fields: drop those gcc names, say which, check the rest.
      let names = Object.keys(TCP_INFO_FIELDS);
      const missing: string[] = [];
      for (let attempt = 0;; attempt++) {
        const src = "#include <stdio.h>\n#include <stddef.h>\n#include <linux/tcp.h>\n" +
          "int main(void){\n" +
          names.map((n) =>
            `printf("%s %zu %zu\\n", "${n}", offsetof(struct tcp_info, tcpi_${n}), ` +
            `sizeof(((struct tcp_info*)0)->tcpi_${n}));`
          ).join("\n") + '\nprintf("size %zu 0\\n", sizeof(struct tcp_info));\nreturn 0;}\n';
        await Deno.writeTextFile(`${dir}/l.c`, src);
        const cc = await new Deno.Command("gcc", {
          args: ["-o", `${dir}/l`, `${dir}/l.c`],
          stderr: "piped",
        }).output();
        if (cc.success) break;
        const err = decoder.decode(cc.stderr);
        const gone = [...err.matchAll(/no member named .tcpi_(\w+)./g)].map((m) => m[1]);
        assert.ok(gone.length > 0 && attempt < 10, `gcc failed: ${err.slice(0, 400)}`);
        missing.push(...gone);
        names = names.filter((n) => !gone.includes(n));
      }
      if (missing.length) {
        console.log(`the system header lacks: ${[...new Set(missing)].join(", ")}`);
      }
      const out = decoder.decode((await new Deno.Command(`${dir}/l`).output()).stdout);
      const sizes: Record<string, number> = { u8: 1, u16: 2, u32: 4, u64: 8 };
      let headerSize = 0;
      for (const line of out.trim().split("\n")) {
        const [name, offset, size] = line.split(" ");
        if (name === "size") {
          headerSize = Number(offset);
          continue;
        }
        const [ours, type] = TCP_INFO_FIELDS[name as keyof typeof TCP_INFO_FIELDS];
        assert.equal(ours, Number(offset), `${name}'s offset`);
        assert.equal(sizes[type], Number(size), `${name}'s size`);
      }
      assert.ok(names.length >= 40, "most of the struct checked");
      console.log(
        `${names.length} fields checked; the header's struct tcp_info is ${headerSize} bytes`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("tcp_info: a connected pair is ESTABLISHED with a sane rtt, as `ss -tin` shows", async () => {
  using listener = listen({ hostname: "127.0.0.1", port: 0 });
  using client = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
  using server = await listener.accept();
  // Some traffic, so the rtt is measured on data.
  for (let i = 0; i < 5; i++) {
    await client.write(new Uint8Array(100));
    await server.read(new Uint8Array(100));
    await server.write(new Uint8Array(10));
    await client.read(new Uint8Array(10));
  }
  const info = getTcpInfo(client.fd);
  assert.equal(info.state, 1);
  assert.equal(TCP_STATES[info.state!], "ESTABLISHED");
  assert.ok(info.length >= 104, `the kernel returned ${info.length} bytes`);
  assert.ok(info.rtt! > 0 && info.rtt! < 1_000_000, `rtt ${info.rtt} µs`);
  assert.ok(info.rttvar !== undefined && info.snd_cwnd! > 0 && info.rto! > 0);
  if (info.bytes_acked !== undefined) assert.ok(info.bytes_acked >= 500n);
  if (info.bytes_received !== undefined) assert.ok(info.bytes_received >= 50n);
  assert.equal(getTcpInfo(listener.fd).state, 10); // LISTEN

  if (!have("ss", ["-V"])) {
    console.log("SKIP the ss comparison: no ss here");
    return;
  }
  const { port } = client.localAddr as Deno.NetAddr;
  const out = await new Deno.Command("ss", {
    args: ["-tinH", "state", "established", `sport = :${port}`],
  }).output();
  const text = decoder.decode(out.stdout);
  const rtt = /\brtt:([\d.]+)\/([\d.]+)/.exec(text);
  if (!rtt) {
    // gVisor's netstack has no sock_diag: ss sees no TCP socket there.
    console.log(
      `SKIP the ss comparison: ss shows no rtt for port ${port}: ${JSON.stringify(text)}`,
    );
    return;
  }
  const after = getTcpInfo(client.fd);
  const ssRtt = Number(rtt[1]) * 1000;
  // ss prints tcpi_rtt/1000 with 3 decimals; both reads are of an idle connection.
  const lo = Math.min(info.rtt!, after.rtt!), hi = Math.max(info.rtt!, after.rtt!);
  assert.ok(ssRtt >= lo - 1 && ssRtt <= hi + 1, `ss rtt ${ssRtt} µs, ours ${lo}..${hi}`);
  console.log(`rtt ${info.rtt} µs, ss ${rtt[0]}`);
});

Deno.test("tcp_info: every truncation of a real buffer decodes only the fields inside it", async () => {
  using listener = listen({ hostname: "127.0.0.1", port: 0 });
  using client = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const full = getTcpInfo(client.fd);
  // A buffer with the same bytes: re-read raw through a fresh decode of a copy.
  const bytes = new Uint8Array(full.length + 16).fill(0xee);
  const { getSocketOptionRaw } = await import("../mod.ts");
  const { IPPROTO_TCP, TCP_INFO } = await import("../ffi/mod.ts");
  const raw = getSocketOptionRaw(client.fd, IPPROTO_TCP, TCP_INFO, full.length);
  bytes.set(raw);
  const sizes: Record<string, number> = { u8: 1, u16: 2, u32: 4, u64: 8 };
  const whole = decodeTcpInfo(raw);
  for (let n = 0; n <= raw.length; n++) {
    // The view ends at n: what lies after it in the buffer (0xee) must never show.
    const info = decodeTcpInfo(bytes.subarray(0, n)) as unknown as Record<string, unknown>;
    assert.equal(info.length, n);
    for (const [name, [offset, type]] of Object.entries(TCP_INFO_FIELDS)) {
      if (offset + sizes[type] <= n) {
        assert.deepEqual(info[name], (whole as unknown as Record<string, unknown>)[name], name);
      } else assert.equal(info[name], undefined, `${name} beyond ${n} bytes`);
    }
  }
  // A view at an offset into a larger buffer is decoded from its own start.
  const shifted = new Uint8Array(raw.length + 5);
  shifted.set(raw, 5);
  assert.deepEqual(decodeTcpInfo(shifted.subarray(5)), whole);
  assert.throws(() => decodeTcpInfo([1, 2, 3] as never), TypeError);
  assert.throws(() => decodeTcpInfo(new DataView(raw.buffer) as never), TypeError);
});

Deno.test("tcp_info: SO_PEERCRED equals a Python peer's pid, uid and gid", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/peer.sock`;
    using listener = listen({ transport: "unix", path });
    const peer = new Deno.Command("python3", {
      args: [
        "-c",
        "import os,socket,sys\n" +
        "s=socket.socket(socket.AF_UNIX,socket.SOCK_STREAM);s.connect(sys.argv[1])\n" +
        "s.sendall(f'{os.getpid()} {os.getuid()} {os.getgid()}\\n'.encode());s.recv(1)",
        path,
      ],
      stdout: "null",
    }).spawn();
    using conn = await listener.accept();
    const buf = new Uint8Array(64);
    let text = "";
    while (!text.includes("\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += decoder.decode(buf.subarray(0, n));
    }
    const [pid, uid, gid] = text.trim().split(" ").map(Number);
    assert.deepEqual(peerCredentials(conn), { pid, uid, gid });
    assert.equal(pid, peer.pid);
    await conn.write(new Uint8Array(1));
    await peer.status;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tcp_info: bad input: a bad descriptor is refused", () => {
  assert.throws(() => getTcpInfo(-1), RangeError);
});
