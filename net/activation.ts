/**
 * systemd socket activation (and any service manager that speaks its
 * protocol: `systemd-socket-activate`, s6, launchers of containers): the
 * sockets passed as descriptors 3, 4, ... with `LISTEN_FDS`, `LISTEN_PID`
 * and `LISTEN_FDNAMES`, adopted as socket objects of this module.
 *
 * @module
 */

import { checkFd, describe } from "../ffi/checks.ts";
import { type AdoptedSocket, adoptSocket } from "./adopt.ts";

/**
 * The first descriptor a service manager passes (`SD_LISTEN_FDS_START`):
 * `LISTEN_FDS=N` means descriptors 3 ... 3+N−1.
 *
 * @category Sockets
 * @example
 * ```ts
 * import { LISTEN_FDS_START } from "../mod.ts";
 * LISTEN_FDS_START; // 3: after standard input, output and error
 * ```
 */
export const LISTEN_FDS_START = 3;

const VARIABLES = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] as const;

/**
 * One socket passed by the service manager.
 *
 * @category Sockets
 * @example
 * ```ts
 * import { type ActivatedSocket, activatedSockets } from "../mod.ts";
 * const sockets: ActivatedSocket[] = activatedSockets(); // [] unless started by systemd
 * for (const { name, socket } of sockets) console.log(name, socket.fd);
 * ```
 */
export interface ActivatedSocket {
  /** Its name from `LISTEN_FDNAMES` (`FileDescriptorName=`), or `"unknown"` when none was given. */
  name: string;
  /** The adopted object: a `Listener` for `ListenStream=`, a `DatagramConn` for `ListenDatagram=`, ... */
  socket: AdoptedSocket;
}

/**
 * Options of {@linkcode activatedSockets}.
 *
 * @category Sockets
 * @example
 * ```ts
 * import { activatedSockets, type ActivatedSocketsOptions } from "../mod.ts";
 * const options: ActivatedSocketsOptions = { unsetEnvironment: false };
 * activatedSockets(options).length; // 0 unless started by systemd
 * ```
 */
export interface ActivatedSocketsOptions {
  /**
   * Remove `LISTEN_PID`, `LISTEN_FDS` and `LISTEN_FDNAMES` from the
   * environment, as `sd_listen_fds(1)` does, so that child processes do not
   * see them (default true). They are removed whether or not they were
   * meant for this process, and also when reading them fails.
   */
  unsetEnvironment?: boolean;
  /**
   * Also take the sockets when `LISTEN_PID` is the parent's id
   * (`Deno.ppid`), for launchers that spawn the program instead of
   * replacing themselves with it, as `deno task` does (default false:
   * systemd's rule, this process only). Safe only when the parent is such
   * a launcher, which never uses the sockets itself.
   */
  acceptParent?: boolean;
}

/**
 * The sockets a service manager passed to this process, adopted: what
 * `sd_listen_fds_with_names(unset_environment=1)` returns, as objects of
 * this module. Nothing was passed (an empty array) unless `LISTEN_PID` is
 * this process's id and `LISTEN_FDS` is set. Descriptors 3 ... 3+N−1 are
 * adopted with {@linkcode adoptSocket} (`O_NONBLOCK` and `FD_CLOEXEC` set),
 * so a unit's `ListenStream=` gives a `Listener`, `ListenDatagram=` a
 * `DatagramConn`, `ListenSequentialPacket=` a `SeqpacketListener`, and
 * `Accept=yes` a connected `Conn`. Names come from `LISTEN_FDNAMES`
 * (`FileDescriptorName=`), `"unknown"` when it is absent.
 *
 * Needs `--allow-env` (at least
 * `--allow-env=LISTEN_PID,LISTEN_FDS,LISTEN_FDNAMES`) and `--allow-ffi`; no
 * `--allow-net`, since the manager chose the addresses.
 *
 * @category Sockets
 * @param options `unsetEnvironment` (default true), `acceptParent` (default false).
 * @returns the sockets, in descriptor order; empty when none were passed.
 * @throws {Deno.errors.NotCapable} without env access to the three variables.
 * @throws {TypeError} when the variables are malformed (`LISTEN_FDS` not a
 *   positive count, names not matching it) or a passed descriptor is not a
 *   socket this module wraps. Then no descriptor is kept: those already
 *   adopted are detached again and left open, as they came.
 * @example A server that runs under systemd and on its own
 * ```ts
 * import { activatedSockets, listen, Listener } from "../mod.ts";
 *
 * // Under systemd (ListenStream=8080), the socket comes from the manager;
 * // started by hand, the program listens itself.
 * const passed = activatedSockets().map(({ socket }) => socket);
 * const listeners = passed.length > 0
 *   ? passed.filter((s) => s instanceof Listener)
 *   : [listen({ hostname: "127.0.0.1", port: 0 })];
 * for (const listener of listeners) listener.close();
 * ```
 */
export function activatedSockets(options: ActivatedSocketsOptions = {}): ActivatedSocket[] {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`options must be an object, got ${describe(options)}`);
  }
  const { unsetEnvironment = true, acceptParent = false } = options;
  if (typeof unsetEnvironment !== "boolean") {
    throw new TypeError(`unsetEnvironment must be a boolean, got ${describe(unsetEnvironment)}`);
  }
  if (typeof acceptParent !== "boolean") {
    throw new TypeError(`acceptParent must be a boolean, got ${describe(acceptParent)}`);
  }
  for (const variable of VARIABLES) {
    // A query never prompts: a program started by systemd has no terminal to ask on.
    if (Deno.permissions.querySync({ name: "env", variable }).state !== "granted") {
      throw new Deno.errors.NotCapable(
        `Requires env access to "${variable}" for socket activation, run again with ` +
          `--allow-env=${VARIABLES.join(",")} (or --allow-env)`,
      );
    }
  }
  const pid = Deno.env.get("LISTEN_PID");
  const count = Deno.env.get("LISTEN_FDS");
  const names = Deno.env.get("LISTEN_FDNAMES");
  if (unsetEnvironment) { for (const variable of VARIABLES) Deno.env.delete(variable); }
  if (pid === undefined || count === undefined) return [];
  if (!/^[0-9]+$/.test(pid)) {
    throw new TypeError(`LISTEN_PID must be a process id, got ${JSON.stringify(pid)}`);
  }
  // Meant for another process (the one that execed us, a parent): not ours.
  if (Number(pid) !== Deno.pid && !(acceptParent && Number(pid) === Deno.ppid)) return [];
  if (!/^[0-9]+$/.test(count) || Number(count) === 0) {
    throw new TypeError(`LISTEN_FDS must be a positive count, got ${JSON.stringify(count)}`);
  }
  const n = Number(count);
  checkFd(LISTEN_FDS_START + n - 1, "LISTEN_FDS_START + LISTEN_FDS - 1");
  // Empty names are kept (systemd does not coalesce "::").
  const fdNames = names === undefined ? Array(n).fill("unknown") : names.split(":");
  if (fdNames.length !== n) {
    throw new TypeError(
      `LISTEN_FDNAMES names ${fdNames.length} sockets but LISTEN_FDS is ${n}: ${
        JSON.stringify(names)
      }`,
    );
  }
  const sockets: ActivatedSocket[] = [];
  try {
    for (let i = 0; i < n; i++) {
      sockets.push({ name: fdNames[i], socket: adoptSocket(LISTEN_FDS_START + i) });
    }
  } catch (error) {
    for (const { socket } of sockets) socket.detach();
    const fd = LISTEN_FDS_START + sockets.length;
    throw new TypeError(`socket activation: fd ${fd} cannot be adopted: ${error}`, {
      cause: error,
    });
  }
  return sockets;
}
