/**
 * An echo server over this module: every byte a client sends comes back.
 *
 *   deno task echo-server -- [--port 8080] [--hostname 0.0.0.0] [--workers N]
 *
 * The port also comes from `PORT`. With `--workers N`, N Workers each open
 * their own listener on the same port with `SO_REUSEPORT`, and the kernel
 * spreads connections across them (one reactor per Worker, one per core).
 *
 * Started by systemd (or anything that speaks socket activation:
 * `LISTEN_FDS`, `LISTEN_PID`, `LISTEN_FDNAMES`), it serves on the sockets it
 * was given instead of listening itself: stream listeners echo per
 * connection, datagram sockets echo each datagram, an `Accept=yes`
 * connection is echoed. With `--workers N` each Worker accepts on its own
 * duplicate of every activated listener.
 *
 * @module
 */

// node:util, not the import map's name: a file run by URL has no deno.json.
import { parseArgs } from "node:util";
import {
  activatedSockets,
  type AdoptedKinds,
  type AdoptedSocket,
  adoptSocket,
  type Conn,
  DatagramConn,
  listen,
  Listener,
} from "../mod.ts";

const script = import.meta.filename ?? import.meta.url;
const ENV = ["PORT", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"];
const USAGE = `usage: deno task echo-server -- [options]
       deno run --allow-ffi --allow-net --allow-env=${
  ENV.join(",")
} --allow-read ${script} [options]

A TCP echo server: every byte a client sends comes back. Under systemd
socket activation (LISTEN_FDS and LISTEN_PID set for this process) it serves
on the sockets it was given (TCP, Unix, UDP) and ignores --port/--hostname.

options:
  -H, --hostname HOST  address to listen on (default 0.0.0.0)
  -p, --port PORT      port (default: PORT from the environment, else 8080)
  -w, --workers N      N Workers share the port with SO_REUSEPORT (default 1)
  -h, --help           print this and exit

permissions: --allow-ffi (or --allow-ffi=<path of libc.so.6>)
  --allow-net (or --allow-net=HOST:PORT); none for activated sockets
  --allow-env=${ENV.join(",")} to read PORT and the activation variables
    (without it, neither is read)
  --allow-read (the Workers of --workers load this file)

example systemd units: echo.socket with [Socket] ListenStream=8080, and
  echo.service with ExecStart=deno run --allow-ffi --allow-env ${script}`;

// One buffer for every connection of this thread: a connection holds no
// buffer while it waits (waitReadable), so 10,000 idle clients cost sockets,
// not 10,000 buffers. JavaScript runs one connection at a time, and bytes
// the kernel does not take at once are copied out before anything awaits.
const shared = new Uint8Array(64 * 1024);

/** Echoes one connection until the peer closes it. */
async function echo(conn: Conn): Promise<void> {
  try {
    for (;;) {
      // Resolves at once unless a read already found the socket empty. The
      // await also lets the other connections resumed with this one run
      // first, so the rest of a large message has usually arrived by the
      // time this connection reads again.
      await conn.waitReadable();
      const n = conn.tryRead(shared);
      if (n === null) break;
      if (n === 0) continue;
      const sent = conn.tryWrite(shared.subarray(0, n));
      if (sent < n) await conn.writeAll(shared.slice(sent, n));
    }
  } catch {
    // A peer that resets mid-stream ends only its own connection.
  } finally {
    conn.close();
  }
}

/** Accepts on one listener until it is closed. */
async function acceptAll(listener: AdoptedKinds["listener"]): Promise<void> {
  for await (const conn of listener) {
    if (conn.localAddr.transport === "tcp") conn.setNoDelay(true);
    echo(conn as Conn);
  }
}

/** Serves on one listener until it is closed. */
export async function serve(
  hostname: string,
  port: number,
  reusePort: boolean,
  quiet = false,
): Promise<void> {
  const listener = listen({ hostname, port, reusePort });
  if (!quiet) {
    console.log(`echo server listening on ${listener.addr.hostname}:${listener.addr.port}`);
  }
  await acceptAll(listener);
}

/** Echoes each datagram back to its sender. */
async function echoDatagrams(socket: DatagramConn): Promise<void> {
  for await (const [data, from] of socket) await socket.send(data, from).catch(() => {});
}

function describeSocket(socket: AdoptedSocket): string {
  const addr = "addr" in socket ? socket.addr : socket.localAddr;
  if ("path" in addr) return `${addr.transport}:${addr.path || "(unnamed)"}`;
  return `${addr.transport} ${addr.hostname}:${addr.port}`;
}

/** Serves on every socket the service manager passed; true when there were any. */
function serveActivated(workers: number): boolean {
  const granted = ENV.slice(1).every((variable) =>
    Deno.permissions.querySync({ name: "env", variable }).state === "granted"
  );
  if (!granted) return false;
  // `deno task echo-server` runs this file as a child of the task runner,
  // whose pid the service manager put in LISTEN_PID.
  const sockets = activatedSockets({ acceptParent: true });
  if (sockets.length === 0) return false;
  const listeners: number[] = [];
  for (const { name, socket } of sockets) {
    console.log(`echo server listening on activated socket "${name}" (${describeSocket(socket)})`);
    if (socket instanceof Listener) {
      if (workers === 1) acceptAll(socket);
      else listeners.push(socket.fd);
    } else if (socket instanceof DatagramConn) {
      echoDatagrams(socket);
    } else if ("closeWrite" in socket) {
      echo(socket as Conn); // Accept=yes: one connection per process
    } else {
      console.error(`echo-server: ignoring activated socket "${name}" of a kind it cannot echo`);
      socket.close();
    }
  }
  if (listeners.length > 0) {
    // Each Worker accepts on its own duplicate of every listener: one queue,
    // one reactor per Worker.
    for (let i = 0; i < workers; i++) {
      new Worker(import.meta.url, { type: "module", name: `echo-worker-fds:${listeners}` });
    }
    console.log(`echo server: ${workers} workers accept on the activated listeners`);
  }
  return true;
}

function fail(message: string): never {
  console.error(`echo-server: ${message}\nrun with --help for usage`);
  Deno.exit(2);
}

if (import.meta.main) {
  const workerData = (globalThis as { name?: string }).name;
  if (workerData?.startsWith("echo-worker:")) {
    const [, hostname, port] = workerData.split(":");
    await serve(hostname, Number(port), true, true);
  } else if (workerData?.startsWith("echo-worker-fds:")) {
    const fds = workerData.slice("echo-worker-fds:".length).split(",").map(Number);
    await Promise.all(
      fds.map((fd) => acceptAll(adoptSocket(fd, { expect: "listener", duplicate: true }))),
    );
  } else {
    let parsed;
    try {
      parsed = parseArgs({
        // `deno task echo-server -- --port 8080` hands the "--" on in Deno 2.9.
        args: Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args,
        options: {
          port: { type: "string", short: "p" },
          hostname: { type: "string", short: "H", default: "0.0.0.0" },
          workers: { type: "string", short: "w", default: "1" },
          help: { type: "boolean", short: "h", default: false },
        },
      });
    } catch (error) {
      fail((error as Error).message);
    }
    const { values } = parsed;
    if (values.help) {
      console.log(USAGE);
      Deno.exit(0);
    }
    const envPort = Deno.permissions.querySync({ name: "env", variable: "PORT" }).state ===
        "granted"
      ? Deno.env.get("PORT")
      : undefined;
    const port = Number(values.port ?? envPort ?? 8080);
    const workers = Number(values.workers);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      fail(`bad port ${values.port ?? envPort}`);
    }
    if (!Number.isInteger(workers) || workers < 1) fail(`bad --workers ${values.workers}`);
    if (serveActivated(workers)) {
      // Serving on the activated sockets.
    } else if (workers === 1) {
      await serve(values.hostname!, port, false);
    } else {
      for (let i = 0; i < workers; i++) {
        new Worker(import.meta.url, {
          type: "module",
          name: `echo-worker:${values.hostname}:${port}`,
        });
      }
      console.log(
        `echo server listening on ${values.hostname}:${port} with ${workers} workers (SO_REUSEPORT)`,
      );
    }
  }
}
