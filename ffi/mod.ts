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
 * @example The tutorial's server, call by call
 * ```ts ignore
 * import * as c from "./mod.ts";
 * const fd = c.socket(c.AF_INET, c.SOCK_STREAM, 0);
 * c.bind(fd, c.sockaddr_in.encode({ sin_family: c.AF_INET, sin_port: 8080, sin_addr: c.INADDR_ANY }));
 * c.listen(fd, 128);
 * const conn = c.accept(fd); // blocks until a client connects
 * const buf = new Uint8Array(1024);
 * const n = c.read(conn, buf);
 * c.write(conn, buf, n);
 * c.close(conn);
 * c.close(fd);
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
export { errnoName, lastError, SocketError, strerror } from "./errors.ts";
export { errno, type Libc, libc, libraryPath, LINUX_SYMBOLS } from "./libc.ts";
export { MAX_IO_COUNT } from "./checks.ts";
