/**
 * Deno's permission model, applied before the ergonomic layer binds,
 * connects or sends: the same descriptor (`host:port`, or a path) that
 * `Deno.listen`/`Deno.connect` would check, the same error class.
 *
 * This mirrors Deno's model for honest code; it is not a sandbox. Any code
 * holding `--allow-ffi` can call libc itself and bypass it.
 *
 * @module
 */

function denied(descriptor: string, flag: string): Error {
  return new Deno.errors.NotCapable(
    `Requires ${descriptor}, run again with the ${flag} flag`,
  );
}

/**
 * Throws unless `--allow-net` covers `hostname:port` (as Deno does, the
 * hostname is checked as the user wrote it, before resolution).
 *
 * @param hostname the host as given.
 * @param port the port.
 * @throws {Deno.errors.NotCapable} when not granted.
 */
export function checkNet(hostname: string, port: number): void {
  // Deno keeps every PermissionStatus it has answered with, per descriptor,
  // for the life of the process: a `host:port` query for each new peer (a
  // UDP reply to each client port, a connect to each port) would grow memory
  // by ~400 bytes per endpoint, without bound. A plain `--allow-net` (no
  // list, no `--deny-net`: not partial) answers for every descriptor at once.
  const all = Deno.permissions.querySync({ name: "net" });
  if (all.state === "granted" && !all.partial) return;
  const host = hostname.includes(":") && !hostname.startsWith("[") ? `[${hostname}]` : hostname;
  const descriptor = `${host}:${port}`;
  const state = Deno.permissions.querySync({ name: "net", host: descriptor }).state;
  if (state !== "granted") throw denied(`net access to "${descriptor}"`, "--allow-net");
}

/**
 * Throws unless Deno would let `Deno.listen`/`Deno.connect` use this Unix
 * socket path: read and write access to the path as given, then (Deno ≥ 2.9)
 * net access to `unix:<absolute, normalized path>`. An abstract name
 * (leading NUL) has no file: it needs only the net access, which a
 * `--allow-net=<list>` cannot name, so only a plain `--allow-net` grants it.
 *
 * @param path the socket path.
 * @throws {Deno.errors.NotCapable} when not granted.
 */
export function checkUnixPath(path: string): void {
  const abstract = path.startsWith("\0");
  if (!abstract) {
    for (const name of ["read", "write"] as const) {
      // As in checkNet: a plain grant answers once, without a status kept per path.
      if (grantedForAll(name)) continue;
      if (Deno.permissions.querySync({ name, path }).state !== "granted") {
        throw denied(`${name} access to "${path}"`, `--allow-${name}`);
      }
    }
  }
  if (!unixNetDescriptors() || grantedForAll("net")) return;
  const descriptor = `unix:${abstract ? path : absolute(path)}`;
  // Deno's parser refuses an abstract name as a descriptor: only net access to everything covers it.
  const state = abstract
    ? Deno.permissions.querySync({ name: "net" }).state
    : Deno.permissions.querySync({ name: "net", host: descriptor }).state;
  if (state !== "granted") throw denied(`net access to "${descriptor}"`, "--allow-net");
}

/** A plain `--allow-<name>`: granted, with no list and no deny (not partial). */
function grantedForAll(name: "read" | "write" | "net"): boolean {
  const all = Deno.permissions.querySync({ name });
  return all.state === "granted" && !all.partial;
}

let unixNet: boolean | undefined;

/** Whether this Deno knows `unix:<path>` net descriptors (2.9 does; older ones throw on them). */
function unixNetDescriptors(): boolean {
  if (unixNet === undefined) {
    try {
      Deno.permissions.querySync({ name: "net", host: "unix:/" });
      unixNet = true;
    } catch {
      unixNet = false;
    }
  }
  return unixNet;
}

/** `path` made absolute against the working directory and normalized, as Deno does. */
function absolute(path: string): string {
  const parts: string[] = [];
  for (const part of (path.startsWith("/") ? path : `${Deno.cwd()}/${path}`).split("/")) {
    if (part === "..") parts.pop();
    else if (part !== "" && part !== ".") parts.push(part);
  }
  return `/${parts.join("/")}`;
}
