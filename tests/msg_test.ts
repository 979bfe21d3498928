/**
 * sendmsg/recvmsg, control messages and descriptor passing, against a real
 * peer (Python's socket.send_fds/recv_fds, sendmsg/recvmsg:
 * tests/fixtures/msg_peer.py) and against hostile input. Needs -A (python3,
 * a plain --allow-ffi, files); skipped where python3 is missing.
 */
import assert from "@assert";
import * as c from "../ffi/mod.ts";
import { adoptReceived, listen, Listener, peerCredentials, receiveFds, sendFds } from "../mod.ts";
import type { UnixConn } from "../mod.ts";
import { decoder, encoder, fdOpen, openFdCount, ROOT, tempDir } from "./helpers.ts";

const PEER = `${ROOT}tests/fixtures/msg_peer.py`;
const hasPython = (() => {
  try {
    return new Deno.Command("python3", { args: ["-c", "1"] }).outputSync().success;
  } catch {
    return false;
  }
})();

function peer(...args: string[]): Deno.ChildProcess {
  return new Deno.Command("python3", { args: [PEER, ...args], stderr: "piped" }).spawn();
}

async function finished(child: Deno.ChildProcess): Promise<void> {
  const { success, stderr } = await child.output();
  assert.ok(success, decoder.decode(stderr));
}

async function readAll(conn: UnixConn): Promise<string> {
  const buf = new Uint8Array(1024);
  let out = "";
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) return out;
    out += decoder.decode(buf.subarray(0, n));
  }
}

function pair(type = c.SOCK_STREAM): [number, number] {
  const sv = new Int32Array(2);
  c.socketpair(c.AF_UNIX, type | c.SOCK_CLOEXEC, 0, sv);
  return [sv[0], sv[1]];
}

Deno.test({
  name: "Python sends a pipe and a file with send_fds: both arrive, CLOEXEC, and work",
  ignore: !hasPython,
  async fn() {
    using tmp = tempDir("bsd-msg-");
    const file = tmp.path("content.txt");
    Deno.writeTextFileSync(file, "file content");
    using listener = listen({ transport: "unix", path: tmp.path("s.sock") });
    const child = peer("send", listener.addr.path, file);
    using conn = await listener.accept();
    const got = await receiveFds(conn, { maxFds: 4 });
    assert.equal(decoder.decode(got.data), "fds");
    assert.equal(got.fds.length, 2);
    assert.equal(got.controlTruncated, false);
    const [pipeWrite, fileFd] = got.fds;
    for (const fd of got.fds) assert.ok((c.fcntl(fd, c.F_GETFD) & c.FD_CLOEXEC) !== 0);
    c.write(pipeWrite, encoder.encode("hello through the pipe"));
    c.close(pipeWrite);
    const buf = new Uint8Array(64);
    const n = c.read(fileFd, buf);
    c.close(fileFd);
    assert.equal(decoder.decode(buf.subarray(0, n)), "file content");
    assert.equal(await readAll(conn), "pipe said: hello through the pipe");
    await finished(child);
  },
});

Deno.test({
  name: "sendFds to Python's recv_fds: a pipe end and a file (by number and object) work there",
  ignore: !hasPython,
  async fn() {
    using tmp = tempDir("bsd-msg-");
    const file = tmp.path("content.txt");
    Deno.writeTextFileSync(file, "from deno's file");
    using listener = listen({ transport: "unix", path: tmp.path("s.sock") });
    const child = peer("recv", listener.addr.path);
    using conn = await listener.accept();
    const pipe = new Int32Array(2);
    c.pipe2(pipe, c.O_CLOEXEC);
    // Deno.FsFile hides its number: find the descriptor its open made.
    const before = openFds();
    using f = Deno.openSync(file);
    const [fileFd] = openFds().filter((fd) => !before.includes(fd));
    assert.ok(fileFd !== undefined);
    const sent = await sendFds(conn, [pipe[1], { fd: fileFd }], encoder.encode("deno"));
    assert.equal(sent, 4);
    c.close(pipe[1]);
    f.close();
    const buf = new Uint8Array(64);
    const n = c.read(pipe[0], buf);
    c.close(pipe[0]);
    assert.equal(decoder.decode(buf.subarray(0, n)), "from python");
    assert.equal(await readAll(conn), "deno|from deno's file");
    await finished(child);
  },
});

/** The open descriptors below 1024. */
function openFds(): number[] {
  const fds = [];
  for (let fd = 0; fd < 1024; fd++) if (fdOpen(fd)) fds.push(fd);
  return fds;
}

Deno.test({
  name: "credentials: SO_PEERCRED and SCM_CREDENTIALS equal the Python peer's pid/uid/gid",
  ignore: !hasPython,
  async fn() {
    using tmp = tempDir("bsd-msg-");
    using listener = listen({ transport: "unix", path: tmp.path("s.sock") });
    const child = peer("cred", listener.addr.path);
    using conn = await listener.accept();
    const creds = peerCredentials(conn);
    assert.equal(creds.pid, child.pid);
    assert.equal(creds.uid, Deno.uid());
    assert.equal(creds.gid, Deno.gid());
    conn.setOptionRaw(c.SOL_SOCKET, c.SO_PASSCRED, new Uint8Array(new Int32Array([1]).buffer));
    await conn.write(new Uint8Array([1]));
    const text = new Uint8Array(64);
    const control = new Uint8Array(c.controlSpace(c.ucred.size));
    let r: c.RecvMsgResult;
    for (;;) {
      try {
        r = c.recvmsg(conn.fd, { iov: [text], control }, c.MSG_DONTWAIT);
        break;
      } catch (e) {
        if (!(e instanceof c.SocketError) || e.errno !== c.EAGAIN) throw e;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    assert.equal(
      decoder.decode(text.subarray(0, r.bytes)),
      `${child.pid} ${Deno.uid()} ${Deno.gid()}`,
    );
    const { messages, malformed } = c.decodeControlMessages(control, r.controllen);
    assert.equal(malformed, false);
    assert.deepEqual(messages, [{
      kind: "credentials",
      pid: child.pid,
      uid: Deno.uid()!,
      gid: Deno.gid()!,
    }]);
    await conn.write(new Uint8Array([1]));
    await finished(child);
  },
});

Deno.test({
  name: "IP_PKTINFO: a socket bound to 0.0.0.0 learns the datagram was sent to 127.0.0.2",
  ignore: !hasPython,
  async fn() {
    const fd = c.socket(c.AF_INET, c.SOCK_DGRAM | c.SOCK_CLOEXEC, 0);
    try {
      c.setsockopt(fd, c.IPPROTO_IP, c.IP_PKTINFO, new Uint8Array(new Int32Array([1]).buffer));
      c.bind(fd, c.sockaddr_in.encode({ sin_family: c.AF_INET, sin_port: 0, sin_addr: 0 }));
      const self = new Uint8Array(16);
      c.getsockname(fd, self, new Uint32Array([16]));
      const port = c.sockaddr_in.decode(self).sin_port;
      await finished(peer("pktinfo", String(port)));
      const buf = new Uint8Array(64), name = new Uint8Array(c.sockaddr_in.size);
      const control = new Uint8Array(c.controlSpace(c.in_pktinfo.size));
      const r = c.recvmsg(fd, { iov: [buf], name, control }, c.MSG_DONTWAIT);
      assert.equal(decoder.decode(buf.subarray(0, r.bytes)), "to .2");
      assert.equal(r.namelen, 16);
      assert.equal(c.sockaddr_in.decode(name).sin_addr, 0x7f000001);
      const { messages } = c.decodeControlMessages(control, r.controllen);
      assert.equal(messages.length, 1);
      const info = messages[0];
      assert.equal(info.kind, "pktinfo");
      if (info.kind === "pktinfo") assert.equal(info.addr, 0x7f000002);
    } finally {
      c.close(fd);
    }
  },
});

Deno.test("a control buffer too short: MSG_CTRUNC reported, no descriptor leaked", async () => {
  const [a, b] = pair(c.SOCK_SEQPACKET);
  try {
    const before = openFdCount();
    await sendFds(a, [0, 1, 2, 0, 1], encoder.encode("x"));
    const got = await receiveFds(b, { maxFds: 2 });
    assert.equal(got.controlTruncated, true);
    assert.equal(got.fds.length, 0);
    assert.equal(got.discarded, 2); // what fit arrived, and was closed
    assert.equal(openFdCount(), before);

    // The C-faithful call with a control buffer smaller than one header.
    await sendFds(a, [0], encoder.encode("y"));
    const r = c.recvmsg(
      b,
      { iov: [new Uint8Array(4)], control: new Uint8Array(8) },
      c.MSG_CMSG_CLOEXEC,
    );
    assert.ok((r.flags & c.MSG_CTRUNC) !== 0);
    assert.equal(r.controllen, 0);
    assert.equal(openFdCount(), before); // the kernel dropped it
  } finally {
    c.close(a);
    c.close(b);
  }
});

Deno.test("too many descriptors are refused before the call", async () => {
  const [a, b] = pair();
  try {
    const many = Array.from({ length: 10_000 }, () => 0);
    await assert.rejects(() => sendFds(a, many), RangeError);
    assert.throws(() => c.encodeControlMessages([{ kind: "rights", fds: many }]), RangeError);
    await assert.rejects(() => sendFds(a, []), RangeError);
    // 253 is the kernel's limit, and passes.
    await sendFds(a, Array.from({ length: 253 }, () => 0));
    const got = await receiveFds(b);
    assert.equal(got.fds.length, 253);
    for (const fd of got.fds) c.close(fd);
  } finally {
    c.close(a);
    c.close(b);
  }
});

Deno.test("buffers that lie about their length are refused", () => {
  const [a, b] = pair(c.SOCK_DGRAM);
  try {
    const liar = new Uint8Array(4);
    Object.defineProperty(liar, "byteLength", { value: 1 << 20 });
    Object.defineProperty(liar, "length", { value: 1 << 20 });
    // The true length is used: only 4 bytes go.
    assert.equal(c.sendmsg(a, { iov: [liar] }), 4);
    const into = new Uint8Array(16);
    assert.equal(c.recvmsg(b, { iov: [into] }).bytes, 4);
    // A controllen or namelen above the buffer: RangeError, nothing sent.
    assert.throws(
      () => c.sendmsg(a, { iov: [into], control: new Uint8Array(8), controllen: 64 }),
      RangeError,
    );
    assert.throws(
      () => c.recvmsg(b, { iov: [into], name: new Uint8Array(4), namelen: 128 }),
      RangeError,
    );
    assert.throws(() => c.sendmsg(a, { iov: [{} as Uint8Array] }), TypeError);
    assert.throws(
      () => c.sendmsg(a, { iov: Array.from({ length: 2000 }, () => into) }),
      RangeError,
    );
    // What the kernel (or a liar) writes back is clamped.
    const lying = c.msghdr.encode({ msg_namelen: 4096, msg_controllen: 1n << 40n });
    const r = c.checkWrittenBack(lying, 0, 16, 64);
    assert.equal(r.namelen, 16);
    assert.equal(r.controllen, 64);
    assert.ok((r.flags & c.MSG_CTRUNC) !== 0);
  } finally {
    c.close(a);
    c.close(b);
  }
});

Deno.test("hostile control bytes decode without reading out of bounds", () => {
  const control = new Uint8Array(64);
  const view = new DataView(control.buffer);
  // cmsg_len past the end, SCM_RIGHTS: malformed; the fds inside are listed.
  view.setBigUint64(0, 10_000n, true);
  view.setInt32(8, c.SOL_SOCKET, true);
  view.setInt32(12, c.SCM_RIGHTS, true);
  view.setInt32(16, 7, true);
  view.setInt32(20, -1, true);
  let d = c.decodeControlMessages(control, 24);
  assert.equal(d.malformed, true);
  assert.deepEqual(d.messages, [{ kind: "rights", fds: [7] }]);
  // cmsg_len shorter than a header.
  view.setBigUint64(0, 3n, true);
  d = c.decodeControlMessages(control, 64);
  assert.equal(d.malformed, true);
  // controllen above the buffer.
  assert.throws(() => c.decodeControlMessages(control, 65), RangeError);
  // Too short for a header: nothing, not malformed.
  assert.deepEqual(c.decodeControlMessages(control, 8), { messages: [], malformed: false });
  // Round trip of every kind, unknown included.
  const messages: c.ControlMessage[] = [
    { kind: "rights", fds: [3, 4, 5] },
    { kind: "credentials", pid: 1, uid: 2, gid: 3 },
    { kind: "pktinfo", ifindex: 1, specDst: 0x7f000001, addr: 0x7f000002 },
    { kind: "pktinfo6", addr: new Uint8Array(16).fill(1), ifindex: 2 },
    { kind: "unknown", level: 99, type: 7, data: new Uint8Array([1, 2, 3]) },
  ];
  const bytes = c.encodeControlMessages(messages);
  assert.deepEqual(c.decodeControlMessages(bytes, bytes.length), { messages, malformed: false });
});

Deno.test("received sockets are adopted; a pipe among them is refused and nothing leaks", async () => {
  const [a, b] = pair();
  try {
    using listener = listen({ hostname: "127.0.0.1", port: 0 });
    await sendFds(a, [listener]);
    const [twin] = adoptReceived((await receiveFds(b)).fds);
    if (!(twin instanceof Listener)) throw new Error("not a Listener");
    assert.equal((twin.addr as Deno.NetAddr).port, listener.addr.port);
    twin.close();

    const pipe = new Int32Array(2);
    c.pipe2(pipe, c.O_CLOEXEC);
    await sendFds(a, [listener, pipe[0]]);
    const got = await receiveFds(b);
    assert.throws(() => adoptReceived(got.fds), c.SocketError);
    for (const fd of got.fds) assert.equal(fdOpen(fd), false);
    c.close(pipe[0]);
    c.close(pipe[1]);
  } finally {
    c.close(a);
    c.close(b);
  }
});

Deno.test("receiveFds waits for the message; peerCredentials of a socketpair is ours", async () => {
  const [a, b] = pair();
  try {
    const pending = receiveFds(b);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await sendFds(a, [1], encoder.encode("late"));
    const got = await pending;
    assert.equal(decoder.decode(got.data), "late");
    assert.equal(got.fds.length, 1);
    c.close(got.fds[0]);
    assert.deepEqual(peerCredentials(a), { pid: Deno.pid, uid: Deno.uid(), gid: Deno.gid() });
  } finally {
    c.close(a);
    c.close(b);
  }
});
