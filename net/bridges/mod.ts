/**
 * Bridges from this module's sockets to the stacks users already run:
 * `node:http`/`node:https` servers on a module listener ({@linkcode serveHttp},
 * {@linkcode serveHttps}), TLS on a module Conn ({@linkcode connectTls},
 * {@linkcode acceptTls}), the stream adapter underneath ({@linkcode toNodeSocket}),
 * and a clear error when a Conn reaches Deno's native-only APIs.
 *
 * @module
 */

import "./native.ts";

export { ConnSocket, type NodeSocketOptions, toNodeSocket } from "./socket.ts";
export {
  type ServedNode,
  serveHttp,
  serveHttps,
  type ServeHttpsOptions,
  type ServeNodeOptions,
  type ServeRoute,
} from "./serve.ts";
export {
  acceptTls,
  type AcceptTlsOptions,
  connectTls,
  type ConnectTlsOptions,
  TlsStream,
} from "./tls.ts";
export { nativeMisuseGuarded } from "./native.ts";
