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
 * Throws unless read and write access to a Unix socket path are granted
 * (Deno checks both for `Deno.listen`/`Deno.connect` on Unix sockets).
 * Abstract names (leading NUL) have no file and need no file permission.
 *
 * @param path the socket path.
 * @throws {Deno.errors.NotCapable} when not granted.
 */
export function checkUnixPath(path: string): void {
  if (path.startsWith("\0")) return;
  for (const name of ["read", "write"] as const) {
    if (Deno.permissions.querySync({ name, path }).state !== "granted") {
      throw denied(`${name} access to "${path}"`, `--allow-${name}`);
    }
  }
}
