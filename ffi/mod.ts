/**
 * The C-faithful layer: the BSD socket calls of libc with their C names,
 * arguments and constants, called through `Deno.dlopen`.
 *
 * Every argument is checked before it reaches libc; a call that fails throws
 * {@linkcode SocketError} with `errno`, `code` and `syscall`. Struct layouts
 * (`sockaddr_in` and friends) encode and decode the bytes the calls take.
 *
 * Needs `--allow-ffi` for the calls; the pure helpers (`htons`, `inet_aton`,
 * struct layouts, constants) work without it.
 *
 * @example The tutorial's server and client, call by call, on a free port
 * ```ts
 * import * as c from "@bsd-sockets/ffi/ffi";
 *
 * const server = c.socket(c.AF_INET, c.SOCK_STREAM, 0);
 * c.bind(server, c.sockaddr_in.encode({ sin_family: c.AF_INET, sin_port: 0, sin_addr: c.INADDR_LOOPBACK }));
 * c.listen(server, 128);
 * const addr = new Uint8Array(c.sockaddr_in.size);
 * c.getsockname(server, addr, new Uint32Array([addr.length])); // the port the kernel chose
 *
 * const client = c.socket(c.AF_INET, c.SOCK_STREAM, 0);
 * c.connect(client, addr); // a loopback connect completes at once, into the backlog
 * const conn = c.accept(server);
 * c.write(client, new TextEncoder().encode("hello"));
 * const buf = new Uint8Array(1024);
 * const n = c.read(conn, buf);
 * c.write(conn, buf, n);
 * c.read(client, buf); // 5: "hello" came back
 * for (const fd of [conn, client, server]) c.close(fd);
 * ```
 *
 * @module
 */

export * from "./syscalls.ts";
export * from "./resolve.ts";
export * from "./constants.ts";
export * from "./structs.ts";
export * from "./convert.ts";
export * from "./bytes.ts";
export { brandSocketError, errnoName, lastError, SocketError, strerror } from "./errors.ts";
export type { SocketErrorFields } from "./errors.ts";
export {
  errno,
  type Libc,
  libc,
  libraryPath,
  LINUX_ONLY_SYMBOLS,
  LINUX_SYMBOLS,
  POSIX_SYMBOLS,
  setLibraryPath,
} from "./libc.ts";
export { MAX_IO_COUNT } from "./checks.ts";
// Lookups beside getaddrinfo: getnameinfo, interface names and indexes;
// option numbers the generated tables lack.
export * from "./nameinfo.ts";
export { if_indextoname, if_nameindex, type NetworkInterface } from "./interfaces.ts";
export { IPV6_FREEBIND, TCP_FASTOPEN_CONNECT } from "./constants_options.ts";
// Messages: sendmsg/recvmsg over declared msghdr/iovec/cmsghdr layouts, typed control messages.
export * from "./msg.ts";
export * from "./msg_structs.ts";
export * from "./cmsg.ts";
