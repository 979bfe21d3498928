/**
 * A clear error when a module Conn reaches one of Deno's native-only APIs.
 *
 * `Deno.startTls` and `Deno.serveHttp` read the connection's resource id
 * through a private symbol (`Symbol("Deno.internal.rid")`) and pass it to
 * Rust; our Conn has no resource id, so V8 used to fail with "expected type
 * `v8::data::Number`". The symbol is not registered, but every
 * `Deno.HttpClient` carries it as an own property, and making one needs no
 * permission; with it, `Conn.prototype` answers that read with a TypeError
 * naming the bridge to use. No Deno global is patched.
 *
 * @module
 */

import { Conn } from "../conn.ts";

/** What each native API should be replaced with, by the frame that read the id. */
const BRIDGES: [RegExp, string][] = [
  [
    /startTls/,
    "Deno.startTls cannot take a Conn of bsd-sockets (it is not a Deno resource): " +
    "use connectTls(conn, { servername, ca }) from bsd-sockets (or acceptTls for the server side)",
  ],
  [
    /serveHttp|op_http_start/,
    "Deno.serveHttp cannot take a Conn of bsd-sockets (it is not a Deno resource): " +
    "use serveHttp(listener, handler) from bsd-sockets (node:http on the listener), " +
    "or toNodeSocket(conn) with http.Server's emit('connection')",
  ],
];
const GENERIC = "a Conn of bsd-sockets is not a Deno resource, so Deno's native TLS, HTTP " +
  "and WebSocket APIs cannot take it: use the bridges of bsd-sockets (serveHttp, serveHttps, " +
  "connectTls, acceptTls, toNodeSocket)";

function misuse(): never {
  const stack = new Error().stack ?? "";
  const hit = BRIDGES.find(([pattern]) => pattern.test(stack));
  throw new TypeError(hit ? hit[1] : GENERIC);
}

/** Deno's private resource-id symbol, or undefined when this Deno hides it elsewhere. */
function internalRidSymbol(): symbol | undefined {
  try {
    using client = Deno.createHttpClient({});
    return Object.getOwnPropertySymbols(client)
      .find((s) => s.description === "Deno.internal.rid");
  } catch {
    return undefined;
  }
}

const rid = internalRidSymbol();
if (rid !== undefined && !Object.hasOwn(Conn.prototype, rid)) {
  Object.defineProperty(Conn.prototype, rid, { get: misuse, configurable: true });
}

/**
 * Whether a module Conn passed to `Deno.startTls` or `Deno.serveHttp` gets
 * the TypeError that names the bridge (true on Deno 2.x, where the private
 * resource-id symbol can be found).
 *
 * @category Bridges
 * @returns true when the guard is in place.
 * @example
 * ```ts
 * import { connect, listen, nativeMisuseGuarded } from "../../mod.ts";
 * using listener = listen({ hostname: "127.0.0.1", port: 0 });
 * using conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * if (nativeMisuseGuarded()) {
 *   await Deno.startTls(conn, { hostname: "localhost" }).catch((e) => e.message); // "...use connectTls(...)..."
 * }
 * ```
 */
export function nativeMisuseGuarded(): boolean {
  return rid !== undefined && Object.hasOwn(Conn.prototype, rid);
}
