/**
 * The one `Deno.dlopen` symbol table of the module: every libc function any
 * part of the module calls is declared here, and nowhere else.
 *
 * The table has a POSIX part ({@linkcode POSIX_SYMBOLS}, the same on every
 * Unix) and a part per OS ({@linkcode LINUX_ONLY_SYMBOLS}); the library is
 * opened with their union, {@linkcode LINUX_SYMBOLS}. A Darwin port adds its
 * own OS part with the same keys (`__errno_location` is `__error` there, and
 * has no `accept4`, `pipe2`, epoll or eventfd to bind) and one branch in
 * {@linkcode libraryPath}.
 *
 * The library is opened lazily, on the first call of {@linkcode libc}, so that
 * importing the module (for its pure helpers and constants) needs no
 * `--allow-ffi`; `--allow-ffi=<libc's path>` is enough, see {@linkcode libc}.
 *
 * Conventions of the signatures: `size_t` is `usize`, except in the I/O
 * calls (read, write, send, recv, sendto, recvfrom) where it is `u32`: Deno's
 * fast path takes a `usize` only as a bigint (a number costs ~100 ns per call
 * here, a `u32` ~15 ns), lengths there are clamped to `MAX_RW_COUNT` first,
 * and Deno's trampolines zero-extend 32-bit arguments (tests/constants_test.ts
 * proves it with `strnlen`). `socklen_t` is `u32`. `ssize_t` results are
 * declared `i32`: Linux moves at most `MAX_RW_COUNT` (0x7ffff000) bytes per
 * call, so the low 32 bits are the whole value, and an `i32` result is a
 * plain number where `isize` would allocate a bigint on every call. Pointers
 * the module fills or reads are `buffer` (a typed array: fast calls, no
 * pointer objects). Calls that may block for long (`epoll_wait`, `poll`,
 * `getaddrinfo`) also have a `nonblocking` twin that runs on a helper thread;
 * errno cannot be read after those (it belongs to the helper thread), so only
 * calls whose failure the caller can interpret without errno get a twin.
 *
 * @module
 */

/**
 * The libc symbols of the POSIX (and BSD-heritage) API the module calls,
 * with their C signatures: present under these names in every Unix libc.
 *
 * @example
 * ```ts
 * import { libraryPath, POSIX_SYMBOLS } from "./libc.ts";
 * const lib = Deno.dlopen(libraryPath(), { getpid: POSIX_SYMBOLS.getpid }); // needs --allow-ffi
 * console.log(lib.symbols.getpid() === Deno.pid); // true
 * lib.close();
 * ```
 */
export const POSIX_SYMBOLS = {
  strerror: { parameters: ["i32"], result: "pointer" },

  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  socketpair: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
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
  // The msghdr is a buffer the module builds (ffi/msg.ts); the addresses
  // inside it come from Deno.UnsafePointer.of (a plain --allow-ffi).
  sendmsg: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  recvmsg: { parameters: ["i32", "buffer", "i32"], result: "i32" },
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
  // fcntl is variadic; on Linux x86_64 and aarch64 an int third argument is
  // passed exactly as a fixed one, which is all F_GETFL/F_SETFL/F_GETFD/F_SETFD
  // need. (Darwin's arm64 ABI puts variadic arguments on the stack: a port
  // there must check this one.)
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  // Adoption with `duplicate` (net/adopt.ts): the caller keeps its number.
  dup: { parameters: ["i32"], result: "i32" },

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
  // getnameinfo(sa, salen, host, hostlen, serv, servlen, flags): the reverse
  // lookup may go to DNS, so it has a helper-thread twin like getaddrinfo's.
  getnameinfo: {
    parameters: ["buffer", "u32", "buffer", "u32", "buffer", "u32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  getnameinfo_sync: {
    name: "getnameinfo",
    parameters: ["buffer", "u32", "buffer", "u32", "buffer", "u32", "i32"],
    result: "i32",
  },
  // The list is returned and freed by address (as freeaddrinfo_address), so
  // that --allow-ffi=<libc path> is enough to walk it.
  if_nameindex_address: { name: "if_nameindex", parameters: [], result: "usize" },
  if_freenameindex_address: { name: "if_freenameindex", parameters: ["usize"], result: "void" },

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

  // Deno lets only a plain --allow-ffi use Deno.UnsafePointerView; under
  // --allow-ffi=<libc> alone, errno and C strings are copied out by libc.
  // Lengths are u32, zero-extended like the I/O calls' (errno is 4 bytes, a
  // C string libc returns is short).
  strlen_pointer: { name: "strlen", parameters: ["pointer"], result: "u32" },
  memcpy_from_pointer: {
    name: "memcpy",
    parameters: ["buffer", "pointer", "u32"],
    result: "void",
  },
  memcpy_to_pointer: { name: "memcpy", parameters: ["pointer", "buffer", "u32"], result: "void" },
  // The same for memory libc hands back as an address inside a struct (a
  // getaddrinfo list): a plain --allow-ffi is needed to turn an address into
  // a pointer object, so these take the address as an integer.
  memcpy_from_address: { name: "memcpy", parameters: ["buffer", "usize", "u32"], result: "void" },
  strlen_address: { name: "strlen", parameters: ["usize"], result: "u32" },
  freeaddrinfo_address: { name: "freeaddrinfo", parameters: ["usize"], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * The symbols only Linux (glibc) has, or has under these names: errno's
 * location, `accept4`, `pipe2`, epoll and eventfd.
 *
 * @example
 * ```ts
 * import { libraryPath, LINUX_ONLY_SYMBOLS } from "./libc.ts";
 * import { EPOLL_CLOEXEC } from "./constants.ts";
 * const lib = Deno.dlopen(libraryPath(), { // needs --allow-ffi
 *   epoll_create1: LINUX_ONLY_SYMBOLS.epoll_create1,
 *   close: { parameters: ["i32"], result: "i32" },
 * });
 * const epfd = lib.symbols.epoll_create1(EPOLL_CLOEXEC);
 * lib.symbols.close(epfd);
 * lib.close();
 * ```
 */
export const LINUX_ONLY_SYMBOLS = {
  __errno_location: { parameters: [], result: "pointer" },
  accept4: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
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
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * The whole table the module opens on Linux: {@linkcode POSIX_SYMBOLS} and
 * {@linkcode LINUX_ONLY_SYMBOLS} together.
 *
 * @example
 * ```ts
 * import { libraryPath, LINUX_SYMBOLS } from "./libc.ts";
 * const lib = Deno.dlopen(libraryPath(), { getpid: LINUX_SYMBOLS.getpid }); // needs --allow-ffi
 * console.log(lib.symbols.getpid() === Deno.pid); // true
 * lib.close();
 * ```
 */
export const LINUX_SYMBOLS: typeof POSIX_SYMBOLS & typeof LINUX_ONLY_SYMBOLS = Object.freeze({
  ...POSIX_SYMBOLS,
  ...LINUX_ONLY_SYMBOLS,
});

/**
 * The type of the opened libc binding.
 *
 * @example
 * ```ts
 * import { errno, type Libc, libc } from "./libc.ts";
 * const c: Libc = libc(); // needs --allow-ffi
 * if (c.close(-1) === -1) console.log(errno()); // 9 (EBADF)
 * ```
 */
export type Libc = Deno.DynamicLibrary<typeof LINUX_SYMBOLS>["symbols"];

let library: Deno.DynamicLibrary<typeof LINUX_SYMBOLS> | undefined;
let openedPath: string | undefined;
/** Whether Deno.UnsafePointerView may be used (a plain --allow-ffi, not a path-scoped one). */
let pointerViews = false;
let errnoLocation: Deno.PointerObject | undefined;
/** errno itself, when pointer views are allowed; else a scratch copy of it. */
let errnoCell: Int32Array | undefined;
let errnoBytes: Uint8Array | undefined;
let overridePath: string | undefined;

/** The environment variable that names libc's path on an unusual system. */
const PATH_VARIABLE = "BSD_SOCKETS_LIBC";

/**
 * Where glibc's libc.so.6 lives, most likely first: Debian and Ubuntu
 * (merged /usr, and the /lib spelling), Fedora, RHEL and SUSE, Arch, then
 * Debian's cross libc (what qemu-user runs a foreign Deno with). A
 * path-scoped `--allow-ffi=` grant matches only the exact spelling, never a
 * symlink's target, so each spelling is its own entry.
 */
function knownPaths(): string[] {
  const multiarch = `${Deno.build.arch}-linux-gnu`;
  return [
    `/usr/lib/${multiarch}/libc.so.6`,
    `/lib/${multiarch}/libc.so.6`,
    "/usr/lib64/libc.so.6",
    "/lib64/libc.so.6",
    "/usr/lib/libc.so.6",
    "/lib/libc.so.6",
    `/usr/${multiarch}/lib/libc.so.6`,
  ];
}

/** The override: {@linkcode setLibraryPath}, else `BSD_SOCKETS_LIBC` if readable without a prompt. */
function configuredPath(): string | undefined {
  if (overridePath !== undefined) return overridePath;
  if (Deno.permissions.querySync({ name: "env", variable: PATH_VARIABLE }).state !== "granted") {
    return undefined;
  }
  const value = Deno.env.get(PATH_VARIABLE);
  return value === undefined || value === "" ? undefined : value;
}

/**
 * The first known path where a libc exists, to name in a message: exact when
 * read permission lets us look (Deno keeps /proc/self/maps for --allow-all),
 * else the most likely one.
 */
function likelyPath(): string {
  const paths = knownPaths();
  for (const path of paths) {
    if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") continue;
    try {
      Deno.statSync(path);
      return path;
    } catch {
      // not here: try the next layout
    }
  }
  return paths[0];
}

function granted(path?: string): boolean {
  const descriptor: Deno.PermissionDescriptor = path === undefined
    ? { name: "ffi" }
    : { name: "ffi", path };
  return Deno.permissions.querySync(descriptor).state === "granted";
}

/**
 * Thrown when libc cannot be opened: without any ffi permission for it,
 * the message names the two flags that would do (all of ffi, or libc's path alone).
 */
function openFailure(cause: unknown, path: string): Error {
  if (cause instanceof Deno.errors.NotCapable) {
    const configured = configuredPath();
    const alone = configured ?? likelyPath();
    return new Deno.errors.NotCapable(
      "This module calls libc through Deno.dlopen: run Deno with --allow-ffi " +
        "(for example `deno run --allow-ffi --allow-net script.ts`), or with " +
        `--allow-ffi=${alone} to allow libc alone` +
        (configured === undefined ? ` (${PATH_VARIABLE}=<path> names another libc).` : "."),
      { cause },
    );
  }
  return new Error(
    `Could not open the C library (${path}): ${
      cause instanceof Error ? cause.message : String(cause)
    }`,
    { cause },
  );
}

/**
 * Names the C library to open, for systems where it is not found by itself
 * (the `BSD_SOCKETS_LIBC` environment variable does the same without code).
 * Call it before the first socket is made.
 *
 * @param path libc's path, e.g. `/opt/glibc/lib/libc.so.6`; `undefined` forgets the override.
 * @throws {TypeError} when `path` is not a non-empty string.
 * @throws {Deno.errors.AlreadyExists} when libc is already open from another path.
 * @example
 * ```ts
 * import { libraryPath, setLibraryPath } from "./libc.ts";
 * const before = libraryPath();
 * setLibraryPath(before); // the path already in use is accepted
 * ```
 */
export function setLibraryPath(path: string | undefined): void {
  if (path !== undefined && (typeof path !== "string" || path === "")) {
    throw new TypeError("libc path must be a non-empty string or undefined");
  }
  if (library !== undefined) {
    if (path === openedPath || path === undefined) return;
    throw new Deno.errors.AlreadyExists(`libc is already open from ${openedPath}`);
  }
  overridePath = path;
}

/**
 * The path of the C library {@linkcode libc} opens (or opened): the override
 * ({@linkcode setLibraryPath}, `BSD_SOCKETS_LIBC`) if any; else `libc.so.6`,
 * found by the dynamic loader, under a plain `--allow-ffi`; else the first
 * known path of libc that a path-scoped `--allow-ffi=<path>` grants.
 *
 * @returns the path, e.g. `"libc.so.6"` or `"/usr/lib/x86_64-linux-gnu/libc.so.6"`.
 * @throws {Error} on an OS the module has no symbol table for yet.
 * @example
 * ```ts
 * import { libraryPath } from "./libc.ts";
 * console.log(libraryPath()); // "libc.so.6" under a plain --allow-ffi
 * ```
 */
export function libraryPath(): string {
  if (Deno.build.os !== "linux") {
    throw new Error(`No libc symbol table for ${Deno.build.os} yet (Linux only for now).`);
  }
  if (openedPath !== undefined) return openedPath;
  return candidates()[0] ?? "libc.so.6";
}

/** The paths we may open, in order; only those the ffi permission allows. */
function candidates(): string[] {
  const configured = configuredPath();
  if (configured !== undefined) return granted() || granted(configured) ? [configured] : [];
  // A bare name lets the dynamic loader find libc exactly as it found Deno's own.
  if (granted()) return ["libc.so.6"];
  return knownPaths().filter((path) => granted(path));
}

/**
 * The libc symbols, opening the library on first use. A plain `--allow-ffi`
 * is enough, and so is `--allow-ffi=<libc's path>` alone, e.g.
 * `--allow-ffi=/usr/lib/x86_64-linux-gnu/libc.so.6` on Debian and Ubuntu.
 *
 * @returns the bound symbols of {@linkcode LINUX_SYMBOLS}.
 * @throws {Deno.errors.NotCapable} when no ffi permission covers libc (the
 *   message names the flag to add, with libc's path).
 * @example
 * ```ts
 * import { libc } from "./libc.ts";
 * const pid = libc().getpid(); // needs --allow-ffi
 * ```
 */
export function libc(): Libc {
  if (library === undefined) {
    // Ask first: a bare dlopen without the permission would prompt on a terminal.
    const paths = candidates();
    if (paths.length === 0) {
      throw openFailure(new Deno.errors.NotCapable("Requires ffi access"), libraryPath());
    }
    // A granted path may not exist here (another distribution's layout): try the next.
    let failure: unknown;
    for (const path of paths) {
      try {
        library = Deno.dlopen(path, LINUX_SYMBOLS);
        openedPath = path;
        pointerViews = granted();
        break;
      } catch (cause) {
        failure ??= openFailure(cause, path);
      }
    }
    if (library === undefined) throw failure;
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
  if (errnoCell === undefined) locateErrno();
  if (pointerViews) return errnoCell![0];
  library!.symbols.memcpy_from_pointer(errnoBytes!, errnoLocation!, 4);
  return errnoCell![0];
}

function locateErrno(): void {
  // The location is per thread and fixed for its lifetime; each Worker
  // evaluates this module afresh, so caching it here is per thread too.
  const where = libc().__errno_location();
  if (where === null) throw new Error("__errno_location returned NULL");
  errnoLocation = where;
  errnoCell = pointerViews
    ? new Int32Array(Deno.UnsafePointerView.getArrayBuffer(where, 4))
    : new Int32Array(1);
  errnoBytes = new Uint8Array(errnoCell.buffer, errnoCell.byteOffset, 4);
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
  if (errnoCell === undefined) locateErrno();
  errnoCell![0] = value;
  if (!pointerViews) library!.symbols.memcpy_to_pointer(errnoLocation!, errnoBytes!, 4);
}

const utf8 = new TextDecoder();

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
  if (pointer === null) return null;
  if (pointerViews) return Deno.UnsafePointerView.getCString(pointer);
  const c = libc();
  const bytes = new Uint8Array(c.strlen_pointer(pointer));
  c.memcpy_from_pointer(bytes, pointer, bytes.length);
  return utf8.decode(bytes);
}
