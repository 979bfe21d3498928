/**
 * The one `Deno.dlopen` symbol table of the module: every libc function any
 * part of the module calls is declared here, and nowhere else.
 *
 * The library is opened lazily, on the first call of {@linkcode libc}, so that
 * importing the module (for its pure helpers and constants) needs no
 * `--allow-ffi`. A Darwin port adds its own table beside {@linkcode LINUX_SYMBOLS}
 * and one branch in {@linkcode libraryPath}.
 *
 * @module
 */

/**
 * The libc symbols used by the module, with their C signatures.
 *
 * Conventions: `size_t` is `usize`, except in the I/O calls (read, write,
 * send, recv, sendto, recvfrom) where it is `u32`: Deno's fast path takes a
 * `usize` only as a bigint (a number costs ~100 ns per call here, a `u32`
 * ~15 ns), lengths there are clamped to `MAX_RW_COUNT` first, and Deno's
 * trampolines zero-extend 32-bit arguments (tests/constants_test.ts proves it with
 * `strnlen`). `socklen_t` is `u32`. `ssize_t` results
 * are declared `i32`: Linux moves at most `MAX_RW_COUNT` (0x7ffff000) bytes
 * per call, so the low 32 bits are the whole value, and an `i32` result is a
 * plain number where `isize` would allocate a bigint on every call.
 * pointers the module fills or reads are `buffer` (a typed array: fast calls,
 * no pointer objects). Calls that may block for long (`epoll_wait`, `poll`,
 * `getaddrinfo`) also have a `nonblocking` twin that runs on a helper thread;
 * errno cannot be read after those (it belongs to the helper thread), so only
 * calls whose failure the caller can interpret without errno get a twin.
 *
 * @example
 * ```ts ignore
 * import { LINUX_SYMBOLS, libraryPath } from "./libc.ts";
 * const lib = Deno.dlopen(libraryPath(), { getpid: LINUX_SYMBOLS.getpid }); // needs --allow-ffi
 * console.log(lib.symbols.getpid());
 * lib.close();
 * ```
 */
export const LINUX_SYMBOLS = {
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },

  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  socketpair: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  accept4: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  send: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  recv: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  sendto: {
    parameters: ["i32", "buffer", "u32", "i32", "buffer", "u32"],
    result: "i32",
  },
  recvfrom: {
    parameters: ["i32", "buffer", "u32", "i32", "buffer", "buffer"],
    result: "i32",
  },
  close: { parameters: ["i32"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  setsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "u32"],
    result: "i32",
  },
  getsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "buffer"],
    result: "i32",
  },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // fcntl is variadic; on x86_64 and aarch64 an int third argument is passed
  // exactly as a fixed one, which is all F_GETFL/F_SETFL/F_GETFD/F_SETFD need.
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },

  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  epoll_wait_blocking: {
    name: "epoll_wait",
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  poll: { parameters: ["buffer", "u32", "i32"], result: "i32" },
  poll_blocking: {
    name: "poll",
    parameters: ["buffer", "u32", "i32"],
    result: "i32",
    nonblocking: true,
  },

  getaddrinfo: {
    parameters: ["buffer", "buffer", "buffer", "buffer"],
    result: "i32",
    nonblocking: true,
  },
  // For Deno.listen's synchronous shape: a listen address is numeric or a
  // local name (/etc/hosts) nearly always, so blocking briefly is acceptable.
  getaddrinfo_sync: {
    name: "getaddrinfo",
    parameters: ["buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  freeaddrinfo: { parameters: ["pointer"], result: "void" },
  gai_strerror: { parameters: ["i32"], result: "pointer" },
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  if_indextoname: { parameters: ["u32", "buffer"], result: "pointer" },

  htons: { parameters: ["u16"], result: "u16" },
  htonl: { parameters: ["u32"], result: "u32" },
  ntohs: { parameters: ["u16"], result: "u16" },
  ntohl: { parameters: ["u32"], result: "u32" },
  inet_addr: { parameters: ["buffer"], result: "u32" },
  inet_aton: { parameters: ["buffer", "buffer"], result: "i32" },
  inet_ntoa: { parameters: ["u32"], result: "pointer" },
  inet_pton: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  inet_ntop: {
    parameters: ["i32", "buffer", "buffer", "u32"],
    result: "pointer",
  },

  bzero: { parameters: ["buffer", "usize"], result: "void" },
  bcopy: { parameters: ["buffer", "buffer", "usize"], result: "void" },
  bcmp: { parameters: ["buffer", "buffer", "usize"], result: "i32" },
  memset: { parameters: ["buffer", "i32", "usize"], result: "pointer" },
  memcpy: { parameters: ["buffer", "buffer", "usize"], result: "pointer" },
  memmove: { parameters: ["buffer", "buffer", "usize"], result: "pointer" },
  memcmp: { parameters: ["buffer", "buffer", "usize"], result: "i32" },

  getpid: { parameters: [], result: "i32" },
  strnlen: { parameters: ["buffer", "u32"], result: "u32" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * The type of the opened libc binding.
 *
 * @example
 * ```ts ignore
 * import { errno, type Libc, libc } from "./libc.ts";
 * const c: Libc = libc(); // needs --allow-ffi
 * if (c.close(-1) === -1) console.log(errno()); // 9 (EBADF)
 * ```
 */
export type Libc = Deno.DynamicLibrary<typeof LINUX_SYMBOLS>["symbols"];

let library: Deno.DynamicLibrary<typeof LINUX_SYMBOLS> | undefined;
let errnoCell: Int32Array | undefined;

/**
 * Thrown when libc cannot be opened, most often because the program was run
 * without `--allow-ffi`.
 */
function openFailure(cause: unknown): Error {
  if (cause instanceof Deno.errors.NotCapable) {
    return new Deno.errors.NotCapable(
      "This module calls libc through Deno.dlopen: run Deno with --allow-ffi " +
        "(for example `deno run --allow-ffi --allow-net script.ts`).",
      { cause },
    );
  }
  return new Error(
    `Could not open the C library (${libraryPath()}): ${
      cause instanceof Error ? cause.message : String(cause)
    }`,
    { cause },
  );
}

/**
 * The path of the C library for the OS we run on.
 *
 * @returns `libc.so.6` on Linux (glibc).
 * @throws {Error} on an OS the module has no symbol table for yet.
 * @example
 * ```ts
 * import { libraryPath } from "./libc.ts";
 * console.log(libraryPath()); // "libc.so.6" on Linux
 * ```
 */
export function libraryPath(): string {
  if (Deno.build.os === "linux") return "libc.so.6";
  throw new Error(
    `No libc symbol table for ${Deno.build.os} yet (Linux only for now).`,
  );
}

/**
 * The libc symbols, opening the library on first use.
 *
 * @returns the bound symbols of {@linkcode LINUX_SYMBOLS}.
 * @throws {Deno.errors.NotCapable} when `--allow-ffi` was not granted.
 * @example
 * ```ts
 * import { libc } from "./libc.ts";
 * const pid = libc().getpid(); // needs --allow-ffi
 * ```
 */
export function libc(): Libc {
  if (library === undefined) {
    // Ask first: a bare dlopen without the permission would prompt on a terminal.
    if (
      Deno.permissions.querySync({ name: "ffi" }).state !== "granted" &&
      Deno.permissions.querySync({ name: "ffi", path: libraryPath() }).state !== "granted"
    ) {
      throw openFailure(new Deno.errors.NotCapable("Requires ffi access"));
    }
    try {
      library = Deno.dlopen(libraryPath(), LINUX_SYMBOLS);
    } catch (cause) {
      throw openFailure(cause);
    }
  }
  return library.symbols;
}

/**
 * The calling thread's `errno`, read through `__errno_location()`.
 *
 * Read it right after the failing call: any later libc call may change it.
 * Only meaningful after a synchronous call (a `nonblocking` call sets the
 * errno of its helper thread, not ours).
 *
 * @returns the current value of errno.
 * @example
 * ```ts
 * import { errno, libc } from "./libc.ts";
 * if (libc().close(-1) === -1) console.log(errno()); // 9 (EBADF)
 * ```
 */
export function errno(): number {
  if (errnoCell === undefined) {
    // The location is per thread and fixed for its lifetime; each Worker
    // evaluates this module afresh, so caching it here is per thread too.
    const where = libc().__errno_location();
    if (where === null) throw new Error("__errno_location returned NULL");
    errnoCell = new Int32Array(Deno.UnsafePointerView.getArrayBuffer(where, 4));
  }
  return errnoCell[0];
}

/**
 * Sets the calling thread's `errno` (tests use it to prove a value is fresh).
 *
 * @param value the new errno.
 * @example
 * ```ts
 * import { errno, setErrno } from "./libc.ts";
 * setErrno(0);
 * console.log(errno()); // 0
 * ```
 */
export function setErrno(value: number): void {
  errno();
  errnoCell![0] = value;
}

/**
 * Reads a NUL-terminated C string that libc returned (static storage).
 *
 * @param pointer the `char *` returned by libc.
 * @returns the string, or `null` for a NULL pointer.
 * @example
 * ```ts
 * import { cString, libc } from "./libc.ts";
 * console.log(cString(libc().strerror(111))); // "Connection refused"
 * ```
 */
export function cString(pointer: Deno.PointerValue): string | null {
  return pointer === null ? null : Deno.UnsafePointerView.getCString(pointer);
}
