/**
 * SUBSTITUTION: how Deno's net tests run on this module with their bodies
 * unchanged.
 *
 * `Deno.listen`, `Deno.connect` and `Deno.listenDatagram` are writable,
 * configurable properties of the `Deno` namespace, so a `--preload` module
 * replaces them before the test file is evaluated: the bodies call them as
 * `Deno.listen(...)` and get our `Listener`, `Conn` and `DatagramConn`. No
 * source transform is needed. The bodies touch `Deno.Listener` and
 * `Deno.Conn` only as types, and `Deno.errors.*` classes are the ones our
 * module throws, so nothing else is swapped.
 *
 * Two things differ from Deno's API by necessity and are added here, not in
 * the bodies:
 * - `--allow-ffi`: Deno's API needs no FFI, ours is FFI. A test's
 *   `permissions: { net: true }` revokes every permission it does not name, so
 *   on our side each test's permission object also gets `ffi: true`. Nothing
 *   else is widened, so the tests of `net`, `read` and `write` denials still
 *   test our permission checks.
 * - Child processes: several tests run their socket code in `deno run` or
 *   `deno eval` children through test_util's `execCode3`. On our side those
 *   children get `--preload=child_ours.ts --allow-ffi`, so the code in the
 *   child runs on our API too.
 *
 * @module
 */

/** Set by preload.ts on our side; test_util's execCode3 reads it. */
export const OURS_MARK: unique symbol = Symbol.for("bsd-sockets.deno_net.ours") as never;

export function onOurs(): boolean {
  return (globalThis as Record<symbol, unknown>)[OURS_MARK] === true;
}

/** Replaces Deno's three entry points with ours. */
export async function install(): Promise<void> {
  const ours = await import("../../mod.ts");
  const ns = Deno as unknown as Record<string, unknown>;
  ns.listen = ours.listen;
  ns.connect = ours.connect;
  ns.listenDatagram = ours.listenDatagram;
  (globalThis as Record<symbol, unknown>)[OURS_MARK] = true;
}

const childPreload = new URL("./child_ours.ts", import.meta.url).pathname;

/** The arguments of a child Deno process, on our API when the parent is. */
export function childArgs(cmd: string, args: string[]): string[] {
  if (!onOurs() || cmd !== Deno.execPath()) return args;
  const [sub, ...rest] = args;
  if (sub !== "run" && sub !== "eval") return args;
  return [sub, `--preload=${childPreload}`, "--allow-ffi", ...rest];
}
