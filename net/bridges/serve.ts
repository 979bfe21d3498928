/**
 * HTTP and HTTPS on a module {@linkcode Listener}, served by `node:http` /
 * `node:https` (and so by anything built on them: `ws`, Express, Hono's
 * node adapter...).
 *
 * Two routes:
 * - `"handover"` (the default): the listener's descriptor is detached and
 *   given to Node (`server.listen({ fd })`). Node then accepts and serves at
 *   its native speed, with no copy; the module object is done with it.
 * - `"stream"`: the module keeps accepting, and hands Node each connection
 *   through the stream adapter ({@linkcode toNodeSocket}). Slower (a copy
 *   and a JavaScript hop per chunk), for sockets that must stay the
 *   module's: connections you also read yourself, or options Node would
 *   not keep.
 *
 * @module
 */

import http from "node:http";
import https from "node:https";
import type net from "node:net";
import process from "node:process";
import type { Listener } from "../stream.ts";
import type { TcpConn, UnixConn } from "../conn.ts";
import { toNodeSocket } from "./socket.ts";

/**
 * How a listener reaches Node: `"handover"` gives Node the descriptor,
 * `"stream"` keeps it and adapts each connection.
 *
 * @category Bridges
 * @example
 * ```ts
 * import { listen, serveHttp, type ServeRoute } from "../../mod.ts";
 * const via: ServeRoute = "stream";
 * await using served = serveHttp(listen({ hostname: "127.0.0.1", port: 0 }), (_q, r) => r.end(), { via });
 * served.via; // "stream"
 * ```
 */
export type ServeRoute = "handover" | "stream";

/**
 * Options of {@linkcode serveHttp} and {@linkcode serveHttps}.
 *
 * @category Bridges
 * @example
 * ```ts
 * import { listen, serveHttp, type ServeNodeOptions } from "../../mod.ts";
 * const options: ServeNodeOptions = { via: "handover" };
 * await using served = serveHttp(listen({ hostname: "127.0.0.1", port: 0 }), (_q, r) => r.end(), options);
 * ```
 */
export interface ServeNodeOptions {
  /** The route (default `"handover"`); see {@linkcode ServeRoute}. */
  via?: ServeRoute;
}

/**
 * A Node server running on a module listener: what {@linkcode serveHttp}
 * and {@linkcode serveHttps} return. `await using` (or `close()`) stops it.
 *
 * @category Bridges
 * @example
 * ```ts
 * import { listen, serveHttp, type ServedNode } from "../../mod.ts";
 * const served: ServedNode = serveHttp(listen({ hostname: "127.0.0.1", port: 0 }), (_q, r) => r.end("ok"));
 * await served.listening;
 * const res = await fetch(`http://127.0.0.1:${(served.addr as Deno.NetAddr).port}/`);
 * await res.text(); // "ok"
 * await served.close();
 * ```
 */
export interface ServedNode<S extends net.Server = http.Server> extends AsyncDisposable {
  /** The Node server (attach `ws`, read `server.address()`, set timeouts...). */
  readonly server: S;
  /** The listener's address, read before any hand-over. */
  readonly addr: Deno.NetAddr | Deno.UnixAddr;
  /** The route taken. */
  readonly via: ServeRoute;
  /** Settles once Node serves (it has emitted `"listening"`). */
  readonly listening: Promise<void>;
  /**
   * Stops accepting, closes idle keep-alive connections, and resolves once
   * every connection has ended (Node's `server.close()`).
   */
  close(): Promise<void>;
}

type AnyListener = Listener<TcpConn, Deno.NetAddr> | Listener<UnixConn, Deno.UnixAddr>;
type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

function checkListener(listener: AnyListener, what: string): void {
  if (
    listener === null || typeof listener !== "object" || typeof listener.detach !== "function" ||
    typeof listener.accept !== "function"
  ) {
    throw new TypeError(`${what} takes a Listener made by this module's listen()`);
  }
}

/**
 * The accept side of the stream route: a stand-in for the listening handle
 * Node would own. Node's HTTP server decides keep-alive by
 * `server.listening`, which is `!!server._handle`: a server fed only
 * through `emit("connection")` has no handle and so closes every
 * connection after its first response. Deno's own "override" listener
 * installs the same kind of stand-in.
 */
function streamHandle(server: net.Server, listener: AnyListener): void {
  const addr = listener.addr;
  const handle = {
    close(): void {
      listener.close();
    },
    ref(): void {
      if (!listener.closed) listener.ref();
    },
    unref(): void {
      if (!listener.closed) listener.unref();
    },
    getsockname(out: Record<string, unknown>): number {
      if (addr.transport !== "tcp") return 0;
      out.address = addr.hostname;
      out.port = addr.port;
      out.family = addr.hostname.includes(":") ? "IPv6" : "IPv4";
      return 0;
    },
  };
  (server as unknown as { _handle: unknown })._handle = handle;
  const tcp = addr.transport === "tcp";
  const noDelay = (server as unknown as { noDelay?: boolean }).noDelay !== false;
  (async () => {
    for (;;) {
      let conn: TcpConn | UnixConn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (listener.closed) return;
        server.emit("error", error);
        return;
      }
      // As net.Server does for the sockets it accepts.
      if (tcp && noDelay) (conn as TcpConn).setNoDelay(true);
      server.emit("connection", toNodeSocket(conn));
    }
  })();
  // After the handle is in place, so setupConnectionsTracking (request and
  // header timeouts, closeIdleConnections) runs as for a listening server.
  process.nextTick(() => server.emit("listening"));
}

function serveOn<S extends net.Server>(
  server: S,
  listener: AnyListener,
  options: ServeNodeOptions | undefined,
): ServedNode<S> {
  const via = options?.via ?? "handover";
  if (via !== "handover" && via !== "stream") {
    throw new TypeError(`via must be "handover" or "stream", got ${JSON.stringify(via)}`);
  }
  if (server.listening) throw new TypeError("the server is already listening");
  const addr = listener.addr;
  const listening = new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once("error", onError);
    server.once("listening", () => {
      server.off("error", onError);
      resolve();
    });
  });
  listening.catch(() => {});
  if (via === "handover") {
    // From here the descriptor is Node's: the listener object never
    // touches it again, and Node closes it on server.close().
    server.listen({ fd: listener.detach() });
  } else {
    streamHandle(server, listener);
  }
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    closing ??= new Promise<void>((resolve, reject) => {
      if (!server.listening) return resolve();
      server.close((error?: Error) => error ? reject(error) : resolve());
      (server as unknown as http.Server).closeIdleConnections?.();
    });
  return {
    server,
    addr,
    via,
    listening,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Serves HTTP/1.1 with `node:http` on a module listener (TCP or Unix), with
 * keep-alive. Give a request handler, or your own `http.Server` (to attach
 * `ws`, Express, or set timeouts first).
 *
 * With the default `via: "handover"` the listener's descriptor goes to
 * Node (the listener object is detached and cannot be used again); with
 * `via: "stream"` the module keeps the listener and adapts each connection
 * ({@linkcode toNodeSocket}).
 *
 * @category Bridges
 * @param listener a listener from {@linkcode listen} (configured as you need: reusePort...).
 * @param handler a request handler, or an `http.Server` not yet listening.
 * @param options the route.
 * @returns the running server; `await using` or `close()` stops it.
 * @throws {TypeError} when `listener` is not this module's, or the server already listens.
 * @example Serve on a listener with SO_REUSEPORT
 * ```ts
 * import { listen, serveHttp } from "../../mod.ts";
 *
 * const listener = listen({ hostname: "127.0.0.1", port: 0, reusePort: true });
 * await using served = serveHttp(listener, (_req, res) => res.end("hello"));
 * await served.listening;
 * const res = await fetch(`http://127.0.0.1:${(served.addr as Deno.NetAddr).port}/`);
 * await res.text(); // "hello"
 * ```
 */
export function serveHttp(
  listener: Listener<TcpConn, Deno.NetAddr> | Listener<UnixConn, Deno.UnixAddr>,
  handler: ((req: http.IncomingMessage, res: http.ServerResponse) => void) | http.Server,
  options?: ServeNodeOptions,
): ServedNode<http.Server> {
  checkListener(listener, "serveHttp");
  const server = handler instanceof http.Server ? handler : http.createServer(handler);
  return serveOn(server, listener, options);
}

/**
 * Options of {@linkcode serveHttps}: Node's `https.ServerOptions`
 * (`cert`, `key`, `ca`, `ALPNProtocols`, `minVersion`...) and the route.
 *
 * @category Bridges
 * @example
 * ```ts
 * import type { ServeHttpsOptions } from "../../mod.ts";
 * const options: ServeHttpsOptions = { cert: "-----BEGIN CERTIFICATE-----...", key: "...", minVersion: "TLSv1.3" };
 * options.minVersion; // "TLSv1.3"
 * ```
 */
export type ServeHttpsOptions = https.ServerOptions & ServeNodeOptions;

/**
 * Serves HTTPS with `node:https` on a module listener, with keep-alive:
 * like {@linkcode serveHttp}, with the certificate and key (and any other
 * `https.ServerOptions`) in `options`.
 *
 * @category Bridges
 * @param listener a listener from {@linkcode listen}.
 * @param options `cert`, `key` and the rest of `https.ServerOptions`; `via`.
 * @param handler a request handler, or an `https.Server` not yet listening
 *   (then `options` gives only `via`).
 * @returns the running server.
 * @example
 * ```ts
 * import { listen, serveHttps } from "../../mod.ts";
 *
 * const cert = Deno.readTextFileSync(new URL("../../tests/fixtures/tls_localhost_cert.pem", import.meta.url));
 * const key = Deno.readTextFileSync(new URL("../../tests/fixtures/tls_localhost_key.pem", import.meta.url));
 * const listener = listen({ hostname: "127.0.0.1", port: 0 });
 * await using served = serveHttps(listener, { cert, key }, (_req, res) => res.end("secure"));
 * await served.listening;
 * using client = Deno.createHttpClient({ caCerts: [cert] });
 * const res = await fetch(`https://localhost:${(served.addr as Deno.NetAddr).port}/`, { client });
 * await res.text(); // "secure"
 * ```
 */
export function serveHttps(
  listener: Listener<TcpConn, Deno.NetAddr> | Listener<UnixConn, Deno.UnixAddr>,
  options: ServeHttpsOptions,
  handler?: ((req: http.IncomingMessage, res: http.ServerResponse) => void) | https.Server,
): ServedNode<https.Server> {
  checkListener(listener, "serveHttps");
  if (options === null || typeof options !== "object") {
    throw new TypeError("serveHttps options must be an object with cert and key");
  }
  const { via, ...tlsOptions } = options;
  let server: https.Server;
  if (handler instanceof https.Server) {
    server = handler;
  } else {
    if (tlsOptions.cert === undefined || tlsOptions.key === undefined) {
      if (tlsOptions.pfx === undefined) {
        throw new TypeError("serveHttps needs options.cert and options.key (or pfx)");
      }
    }
    server = https.createServer(tlsOptions, handler);
  }
  return serveOn(server, listener, { via });
}
