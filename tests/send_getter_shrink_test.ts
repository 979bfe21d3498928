/**
 * The ergonomic send paths measure the payload after reading every other
 * argument: an address object whose getter shrinks the payload's resizable
 * buffer (from 4,096 to 8 bytes) gets an 8-byte datagram or packet sent,
 * never 4,096 bytes read past the buffer's end. The C layer's paths have
 * their own tests (tests/ffi_getter_shrink_test.ts).
 *
 * Run: deno task test tests/send_getter_shrink_test.ts
 */

import assert from "@assert";
import { connectSeqpacket, listenDatagram, listenSeqpacket, openRawSocket } from "../mod.ts";
import { IPPROTO_UDP } from "../ffi/mod.ts";

/** A 4,096-byte payload in a resizable buffer, and a function that shrinks it to 8. */
function shrinkable(): { p: Uint8Array; shrink: () => void } {
  const buffer = new ArrayBuffer(4096, { maxByteLength: 4096 });
  const p = new Uint8Array(buffer); // length-tracking: follows the resize
  p.fill(0x5a);
  return { p, shrink: () => buffer.resize(8) };
}

Deno.test("getter shrink: DatagramConn.send to a UDP address whose getter shrinks the payload", async () => {
  const receiver = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const sender = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  try {
    for (const field of ["hostname", "port"] as const) {
      const { p, shrink } = shrinkable();
      const addr = { transport: "udp", hostname: "127.0.0.1", port: receiver.addr.port };
      const real = addr[field];
      Object.defineProperty(addr, field, {
        get() {
          shrink();
          return real;
        },
      });
      const sent = await sender.send(p, addr as Deno.NetAddr);
      const [data] = await receiver.receive();
      assert.equal(sent, 8, `${field}: the kernel was given what the buffer holds`);
      assert.equal(data.byteLength, 8, field);
    }
  } finally {
    receiver.close();
    sender.close();
  }
});

Deno.test("getter shrink: DatagramConn.send to a Unix path whose getter shrinks the payload", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "bsd-shrink-" });
  const receiver = listenDatagram({ transport: "unixgram", path: `${dir}/r.sock` });
  const sender = listenDatagram({ transport: "unixgram" });
  try {
    const { p, shrink } = shrinkable();
    const addr = {
      transport: "unixpacket",
      get path() {
        shrink();
        return `${dir}/r.sock`;
      },
    };
    assert.equal(await sender.send(p, addr as Deno.UnixAddr), 8);
    const [data] = await receiver.receive();
    assert.equal(data.byteLength, 8);
  } finally {
    receiver.close();
    sender.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("getter shrink: a send that has to wait measures the payload again", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "bsd-shrink-" });
  const listener = listenSeqpacket({ path: `${dir}/s.sock` });
  const client = await connectSeqpacket({ path: `${dir}/s.sock` });
  const server = await listener.accept();
  try {
    // Fill the socket so the next send waits, then shrink the payload while it waits.
    const filler = new Uint8Array(65536);
    for (let i = 0; i < 1000; i++) {
      const pending = client.send(filler);
      const state = await Promise.race([
        pending.then(() => "sent"),
        new Promise((r) => setTimeout(() => r("waiting"), 30)),
      ]);
      if (state === "waiting") {
        const { p, shrink } = shrinkable();
        let settled: string | Error | undefined;
        const queued = client.send(p).then(() => "sent", (e) => e);
        queued.then((v) => settled = v);
        shrink();
        // Drain what waits; the shrunk send then goes out with 8 bytes or is refused.
        const sizes: number[] = [];
        const deadline = Date.now() + 5000;
        while (Date.now() < deadline) {
          const got = await Promise.race([
            server.receive(),
            new Promise<null>((r) => setTimeout(() => r(null), 100)),
          ]);
          if (got !== null) sizes.push(got!.byteLength);
          if (settled !== undefined && (settled !== "sent" || sizes.at(-1) === 8)) break;
        }
        assert.ok(settled !== undefined, "the shrunk send settled");
        if (settled instanceof Error) assert.ok(settled instanceof RangeError, String(settled));
        else assert.equal(sizes.at(-1), 8, `the last message was ${sizes.at(-1)} bytes`);
        assert.ok(!sizes.includes(4096), "4,096 bytes were never sent");
        return;
      }
      await pending;
    }
    throw new Error("the socket never filled");
  } finally {
    client.close();
    server.close();
    listener.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test({
  name: "getter shrink: RawSocket.send to { hostname } whose getter shrinks the packet",
  ignore: Deno.uid() !== 0,
  async fn() {
    const receiver = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const raw = openRawSocket({ protocol: IPPROTO_UDP, mode: "raw" });
    try {
      const { p, shrink } = shrinkable();
      // A UDP header to the receiver's port (checksum 0: none), then payload.
      const port = receiver.addr.port;
      p.set([0x30, 0x39, port >> 8, port & 0xff, 0, 8, 0, 0]);
      const to = {
        get hostname() {
          shrink();
          return "127.0.0.1";
        },
      };
      assert.equal(await raw.send(p, to), 8, "the header alone: what the buffer holds");
      const [data] = await receiver.receive();
      assert.equal(data.byteLength, 0, "a UDP datagram with no payload");
    } finally {
      raw.close();
      receiver.close();
    }
  },
});
