// systemd socket activation end to end: a Python parent stands in for
// systemd (binds the sockets, sets LISTEN_PID after fork and before exec,
// passes them as descriptors 3, 4, ...), runs the echo server, and a client
// checks the echo on the activated socket. Plus the rules of
// sd_listen_fds_with_names that need no child: pid, names, malformed values
// and the unsetting of the variables.

import assert from "@assert";
import { activatedSockets } from "../mod.ts";
import { decoder, delay, encoder, freePort, readExactly, ROOT } from "./helpers.ts";

const PYTHON = "python3";
const FIXTURE = `${ROOT}tests/fixtures/adopt_activate.py`;
const SERVER = `${ROOT}examples/echo_server.ts`;
const RUN = [
  Deno.execPath(),
  "run",
  "--allow-ffi",
  "--allow-net",
  "--allow-env",
  "--allow-read",
  SERVER,
];

interface Activated {
  child: Deno.ChildProcess;
  ports: Record<string, number[]>;
  output: () => string;
  waitFor: (pattern: RegExp) => Promise<string>;
  stop: () => Promise<void>;
}

/** Runs `command` under the Python stand-in for systemd. */
async function activate(
  sockets: string,
  pidMode: "self" | "wrong" | "shell",
  names: string,
  command: string[],
): Promise<Activated> {
  const child = new Deno.Command(PYTHON, {
    args: [FIXTURE, sockets, pidMode, names, "--", ...command],
    cwd: ROOT,
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const waitFor = async (pattern: RegExp): Promise<string> => {
    const deadline = Date.now() + 20_000;
    while (!pattern.test(text)) {
      if (Date.now() > deadline) throw new Error(`no ${pattern} in: ${text}`);
      const { value, done } = await reader.read();
      if (done) throw new Error(`ended before ${pattern}: ${text}`);
      text += value;
    }
    return text;
  };
  await waitFor(/^\{.*\}\n/);
  const ports = JSON.parse(text.slice(0, text.indexOf("\n")));
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
    reader.cancel().catch(() => {});
  };
  return { child, ports, output: () => text, waitFor, stop };
}

async function echoTcp(port: number, message: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encoder.encode(message));
    return decoder.decode(await readExactly(conn, encoder.encode(message).length));
  } finally {
    conn.close();
  }
}

async function echoUdp(port: number, message: string): Promise<string> {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  try {
    await socket.send(encoder.encode(message), { transport: "udp", hostname: "127.0.0.1", port });
    const [data] = await socket.receive();
    return decoder.decode(data);
  } finally {
    socket.close();
  }
}

Deno.test("activation: deno run echo_server.ts serves the socket systemd passed as fd 3", async () => {
  const run = await activate("tcp", "self", "echo", RUN);
  try {
    const banner = await run.waitFor(/listening/);
    const port = run.ports.tcp[0];
    assert.match(banner, new RegExp(`activated socket "echo" \\(tcp 127\\.0\\.0\\.1:${port}\\)`));
    assert.equal(await echoTcp(port, "activated"), "activated");
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => echoTcp(port, `c${i}`)));
    assert.deepEqual(many, Array.from({ length: 20 }, (_, i) => `c${i}`));
  } finally {
    await run.stop();
  }
});

Deno.test("activation: deno task echo-server (the task runner holds LISTEN_PID) serves it too", async () => {
  const task = `LISTEN_PID=$$ exec "${Deno.execPath()}" task -q echo-server`;
  const run = await activate("tcp", "shell", "-", ["sh", "-c", task]);
  try {
    const banner = await run.waitFor(/listening/);
    assert.match(banner, /activated socket "unknown"/); // no LISTEN_FDNAMES: systemd's default name
    assert.equal(await echoTcp(run.ports.tcp[0], "through deno task"), "through deno task");
  } finally {
    await run.stop();
  }
});

Deno.test("activation: LISTEN_FDNAMES names a TCP and a UDP socket, both echo", async () => {
  const run = await activate("tcp,udp", "self", "web:dns", RUN);
  try {
    await run.waitFor(/"dns"/);
    assert.match(run.output(), /activated socket "web" \(tcp /);
    assert.match(run.output(), /activated socket "dns" \(udp 127\.0\.0\.1:\d+\)/);
    assert.equal(await echoTcp(run.ports.tcp[0], "stream"), "stream");
    assert.equal(await echoUdp(run.ports.udp[0], "datagram"), "datagram");
  } finally {
    await run.stop();
  }
});

Deno.test("activation: --workers 2 accept on duplicates of the activated listener", async () => {
  const run = await activate("tcp", "self", "echo", [...RUN, "--workers", "2"]);
  try {
    await run.waitFor(/2 workers accept on the activated listeners/);
    for (let i = 0; i < 20; i++) {
      for (let attempt = 0;; attempt++) {
        // The Workers start after the banner; the kernel queues connects meanwhile.
        try {
          assert.equal(await echoTcp(run.ports.tcp[0], `w${i}`), `w${i}`);
          break;
        } catch (error) {
          if (attempt > 50) throw error;
          await delay(100);
        }
      }
    }
  } finally {
    await run.stop();
  }
});

Deno.test("activation: a LISTEN_PID for another process is ignored; the server listens itself", async () => {
  const port = freePort();
  const run = await activate("tcp", "wrong", "echo", [
    ...RUN,
    "--hostname",
    "127.0.0.1",
    "--port",
    String(port),
  ]);
  try {
    const banner = await run.waitFor(/listening/);
    assert.match(banner, new RegExp(`listening on 127\\.0\\.0\\.1:${port}`));
    assert.doesNotMatch(banner, /activated/);
    assert.equal(await echoTcp(port, "own listener"), "own listener");
    // The passed socket is nobody's job: a connect is queued, never echoed.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: run.ports.tcp[0] });
    try {
      await conn.write(encoder.encode("x"));
      const read = conn.read(new Uint8Array(1));
      assert.equal(await Promise.race([read, delay(300).then(() => "silent")]), "silent");
    } finally {
      conn.close();
    }
  } finally {
    await run.stop();
  }
});

// ----------------------------------------------- the rules, in this process

const VARIABLES = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"];

function withEnv(values: Record<string, string>, fn: () => void): void {
  for (const [key, value] of Object.entries(values)) Deno.env.set(key, value);
  try {
    fn();
  } finally {
    for (const key of VARIABLES) Deno.env.delete(key);
  }
}

Deno.test("activatedSockets: nothing passed, nothing returned", () => {
  for (const key of VARIABLES) Deno.env.delete(key);
  assert.deepEqual(activatedSockets(), []);
  withEnv({ LISTEN_FDS: "1" }, () => assert.deepEqual(activatedSockets(), []));
});

Deno.test("activatedSockets: another pid is ignored, and the variables are unset as sd_listen_fds(1) does", () => {
  withEnv({ LISTEN_PID: String(Deno.pid + 1), LISTEN_FDS: "2", LISTEN_FDNAMES: "a:b" }, () => {
    assert.deepEqual(activatedSockets(), []);
    // Children must not see them, whoever they were meant for.
    for (const key of VARIABLES) assert.equal(Deno.env.get(key), undefined, key);
  });
  withEnv({ LISTEN_PID: String(Deno.pid + 1), LISTEN_FDS: "1" }, () => {
    assert.deepEqual(activatedSockets({ unsetEnvironment: false }), []);
    assert.equal(Deno.env.get("LISTEN_FDS"), "1");
  });
});

Deno.test("activatedSockets: malformed variables are TypeErrors, and still unset", () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ LISTEN_PID: "12x", LISTEN_FDS: "1" }, /LISTEN_PID must be a process id/],
    [{ LISTEN_PID: String(Deno.pid), LISTEN_FDS: "0" }, /LISTEN_FDS must be a positive count/],
    [{ LISTEN_PID: String(Deno.pid), LISTEN_FDS: "-1" }, /LISTEN_FDS must be a positive count/],
    [{ LISTEN_PID: String(Deno.pid), LISTEN_FDS: "two" }, /LISTEN_FDS must be a positive count/],
    [
      { LISTEN_PID: String(Deno.pid), LISTEN_FDS: "2", LISTEN_FDNAMES: "only-one" },
      /LISTEN_FDNAMES names 1 sockets but LISTEN_FDS is 2/,
    ],
  ];
  for (const [values, message] of cases) {
    withEnv(values, () => {
      assert.throws(() => activatedSockets(), (error: unknown) => {
        assert.ok(error instanceof TypeError, String(error));
        assert.match((error as Error).message, message);
        return true;
      });
      assert.equal(Deno.env.get("LISTEN_FDS"), undefined);
    });
  }
  // @ts-expect-error: a boolean option
  assert.throws(() => activatedSockets({ unsetEnvironment: "no" }), TypeError);
});

Deno.test("activatedSockets: a passed descriptor that is no socket fails whole and keeps nothing", () => {
  // Descriptor 3 in this test process is whatever Deno opened there (not a
  // listening socket of ours); LISTEN_FDS=1 claims it is.
  let before: string;
  try {
    before = JSON.stringify(Deno.statSync("/proc/self/fd/3"));
  } catch {
    before = "unreadable";
  }
  withEnv({ LISTEN_PID: String(Deno.pid), LISTEN_FDS: "1" }, () => {
    let outcome: unknown;
    try {
      const sockets = activatedSockets();
      // If fd 3 happens to be a socket, it was adopted: give it back untouched.
      for (const { socket } of sockets) socket.detach();
      outcome = "adopted";
    } catch (error) {
      outcome = error;
    }
    if (outcome !== "adopted") {
      assert.ok(outcome instanceof TypeError, String(outcome));
      assert.match((outcome as Error).message, /fd 3 cannot be adopted/);
    }
  });
  let after: string;
  try {
    after = JSON.stringify(Deno.statSync("/proc/self/fd/3"));
  } catch {
    after = "unreadable";
  }
  assert.equal(after, before, "fd 3 must stay as it was");
});

Deno.test("activatedSockets: without env access, NotCapable names the flag", async () => {
  const code = `import { activatedSockets } from "${ROOT}mod.ts";
try { activatedSockets(); } catch (e) { console.log(e.constructor.name, e.message); }`;
  // deno eval grants everything: run a file with no flags instead.
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(file, code);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--no-config", file],
    stdout: "piped",
    stderr: "piped",
  }).output().finally(() => Deno.remove(file));
  const text = decoder.decode(out.stdout);
  assert.match(text, /NotCapable/, text + decoder.decode(out.stderr));
  assert.match(text, /--allow-env=LISTEN_PID,LISTEN_FDS,LISTEN_FDNAMES/);
});
