/**
 * Typed introspection: Linux's `struct tcp_info` (`TCP_INFO`) decoded as the
 * running kernel returns it, and `SO_PEERCRED` as `{ pid, uid, gid }`.
 *
 * The kernel copies at most the size the caller offers and reports how many
 * bytes it wrote; an older kernel writes fewer. Each field is decoded only
 * when the returned length covers it, so a field the kernel does not have is
 * `undefined`, never a zero read past the end.
 *
 * @module
 */

import { checkFd, plainView } from "../ffi/checks.ts";
import * as K from "../ffi/constants.ts";
import { getsockopt } from "../ffi/syscalls.ts";

/**
 * Linux's `struct tcp_info` (include/uapi/linux/tcp.h), with the `tcpi_`
 * prefix dropped. Times are in microseconds unless the kernel says
 * otherwise (`last_*` are milliseconds, `total_rto_time` milliseconds);
 * 64-bit counters are bigints. `length` is how many bytes the kernel
 * returned; a field beyond it is `undefined`.
 *
 * @category Options
 * @example
 * ```ts
 * import { connect, getTcpInfo, listen, type TcpInfo } from "../mod.ts";
 * using listener = listen({ hostname: "127.0.0.1", port: 0 });
 * using conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const info: TcpInfo = getTcpInfo(conn.fd);
 * info.state; // 1: TCP_ESTABLISHED
 * ```
 */
export interface TcpInfo {
  /** How many bytes of `struct tcp_info` the kernel returned. */
  length: number;
  /** The connection state: 1 ESTABLISHED, 2 SYN_SENT, ... 10 LISTEN (see {@linkcode TCP_STATES}). */
  state?: number;
  /** Congestion-avoidance state: 0 Open, 1 Disorder, 2 CWR, 3 Recovery, 4 Loss. */
  ca_state?: number;
  /** Retransmits of the current unacknowledged segment. */
  retransmits?: number;
  /** Unanswered zero-window probes. */
  probes?: number;
  /** Exponential backoff of the retransmission timer. */
  backoff?: number;
  /** `TCPI_OPT_*` flags: 1 timestamps, 2 SACK, 4 window scaling, 8 ECN, 16 ECN seen, 32 SYN data. */
  options?: number;
  /** Send window scale. */
  snd_wscale?: number;
  /** Receive window scale. */
  rcv_wscale?: number;
  /** Whether the delivery rate was sampled while application-limited. */
  delivery_rate_app_limited?: boolean;
  /** Why TCP Fast Open failed on the client (0 unspecified, 1 no cookie, 2 data not acked, 3 SYN retransmitted). */
  fastopen_client_fail?: number;
  /** Retransmission timeout, µs. */
  rto?: number;
  /** Delayed-ACK timeout, µs. */
  ato?: number;
  /** Sender maximum segment size. */
  snd_mss?: number;
  /** Receiver maximum segment size (estimated). */
  rcv_mss?: number;
  /** Segments sent and not yet acknowledged. */
  unacked?: number;
  /** Segments SACKed. */
  sacked?: number;
  /** Segments thought lost. */
  lost?: number;
  /** Segments retransmitted and not yet acknowledged. */
  retrans?: number;
  /** Unused by current kernels (always 0). */
  fackets?: number;
  /** Milliseconds since data was last sent. */
  last_data_sent?: number;
  /** Milliseconds since an ACK was last sent (unused: 0). */
  last_ack_sent?: number;
  /** Milliseconds since data was last received. */
  last_data_recv?: number;
  /** Milliseconds since an ACK was last received. */
  last_ack_recv?: number;
  /** Path MTU. */
  pmtu?: number;
  /** Receiver slow-start threshold. */
  rcv_ssthresh?: number;
  /** Smoothed round-trip time, µs. */
  rtt?: number;
  /** Round-trip time variation, µs. */
  rttvar?: number;
  /** Sender slow-start threshold (segments). */
  snd_ssthresh?: number;
  /** Congestion window (segments). */
  snd_cwnd?: number;
  /** Advertised MSS. */
  advmss?: number;
  /** Reordering metric. */
  reordering?: number;
  /** Receiver-side RTT estimate, µs. */
  rcv_rtt?: number;
  /** Receive space (bytes). */
  rcv_space?: number;
  /** Retransmitted segments over the connection's life. */
  total_retrans?: number;
  /** Pacing rate, bytes per second. */
  pacing_rate?: bigint;
  /** Maximum pacing rate (`SO_MAX_PACING_RATE`), bytes per second; all ones when unlimited. */
  max_pacing_rate?: bigint;
  /** Bytes acknowledged (RFC 4898 tcpEStatsAppHCThruOctetsAcked). */
  bytes_acked?: bigint;
  /** Bytes received (RFC 4898 tcpEStatsAppHCThruOctetsReceived). */
  bytes_received?: bigint;
  /** Segments sent. */
  segs_out?: number;
  /** Segments received. */
  segs_in?: number;
  /** Bytes written and not yet sent. */
  notsent_bytes?: number;
  /** Minimum RTT seen, µs. */
  min_rtt?: number;
  /** Segments received with data. */
  data_segs_in?: number;
  /** Segments sent with data. */
  data_segs_out?: number;
  /** Delivery rate, bytes per second. */
  delivery_rate?: bigint;
  /** Time busy sending, µs. */
  busy_time?: bigint;
  /** Time limited by the receive window, µs. */
  rwnd_limited?: bigint;
  /** Time limited by the send buffer, µs. */
  sndbuf_limited?: bigint;
  /** Segments delivered. */
  delivered?: number;
  /** Segments delivered with ECN CE marks. */
  delivered_ce?: number;
  /** Bytes sent, retransmissions included (RFC 4898 tcpEStatsPerfHCDataOctetsOut). */
  bytes_sent?: bigint;
  /** Bytes retransmitted (RFC 4898 tcpEStatsPerfOctetsRetrans). */
  bytes_retrans?: bigint;
  /** D-SACK blocks received (RFC 4898 tcpEStatsStackDSACKDups). */
  dsack_dups?: number;
  /** Reordering events seen. */
  reord_seen?: number;
  /** Out-of-order packets received. */
  rcv_ooopack?: number;
  /** The peer's advertised receive window after scaling (bytes). */
  snd_wnd?: number;
  /** The local advertised receive window after scaling (bytes). */
  rcv_wnd?: number;
  /** PLB- or timeout-triggered rehash attempts. */
  rehash?: number;
  /** RTO timeouts, SYN/SYN-ACK and recurring ones included. */
  total_rto?: number;
  /** RTO recoveries, an unfinished one included. */
  total_rto_recoveries?: number;
  /** Milliseconds spent in RTO recoveries, an unfinished one included. */
  total_rto_time?: number;
}

type FieldType = "u8" | "u16" | "u32" | "u64";

/**
 * The layout of `struct tcp_info` as include/uapi/linux/tcp.h defines it
 * (up to Linux 6.7's `tcpi_total_rto_time`): each field's byte offset and C
 * type. The byte at offset 6 holds `snd_wscale` (low nibble) and
 * `rcv_wscale` (high nibble); the byte at 7 `delivery_rate_app_limited`
 * (bit 0) and `fastopen_client_fail` (bits 1-2).
 *
 * @category Options
 * @example
 * ```ts
 * import { TCP_INFO_FIELDS } from "./tcp_info.ts";
 * TCP_INFO_FIELDS.rtt; // [68, "u32"]
 * ```
 */
export const TCP_INFO_FIELDS: Readonly<
  Record<
    Exclude<
      keyof TcpInfo,
      | "length"
      | "snd_wscale"
      | "rcv_wscale"
      | "delivery_rate_app_limited"
      | "fastopen_client_fail"
    >,
    readonly [number, "u8" | "u16" | "u32" | "u64"]
  >
> = Object.freeze({
  state: [0, "u8"],
  ca_state: [1, "u8"],
  retransmits: [2, "u8"],
  probes: [3, "u8"],
  backoff: [4, "u8"],
  options: [5, "u8"],
  rto: [8, "u32"],
  ato: [12, "u32"],
  snd_mss: [16, "u32"],
  rcv_mss: [20, "u32"],
  unacked: [24, "u32"],
  sacked: [28, "u32"],
  lost: [32, "u32"],
  retrans: [36, "u32"],
  fackets: [40, "u32"],
  last_data_sent: [44, "u32"],
  last_ack_sent: [48, "u32"],
  last_data_recv: [52, "u32"],
  last_ack_recv: [56, "u32"],
  pmtu: [60, "u32"],
  rcv_ssthresh: [64, "u32"],
  rtt: [68, "u32"],
  rttvar: [72, "u32"],
  snd_ssthresh: [76, "u32"],
  snd_cwnd: [80, "u32"],
  advmss: [84, "u32"],
  reordering: [88, "u32"],
  rcv_rtt: [92, "u32"],
  rcv_space: [96, "u32"],
  total_retrans: [100, "u32"],
  pacing_rate: [104, "u64"],
  max_pacing_rate: [112, "u64"],
  bytes_acked: [120, "u64"],
  bytes_received: [128, "u64"],
  segs_out: [136, "u32"],
  segs_in: [140, "u32"],
  notsent_bytes: [144, "u32"],
  min_rtt: [148, "u32"],
  data_segs_in: [152, "u32"],
  data_segs_out: [156, "u32"],
  delivery_rate: [160, "u64"],
  busy_time: [168, "u64"],
  rwnd_limited: [176, "u64"],
  sndbuf_limited: [184, "u64"],
  delivered: [192, "u32"],
  delivered_ce: [196, "u32"],
  bytes_sent: [200, "u64"],
  bytes_retrans: [208, "u64"],
  dsack_dups: [216, "u32"],
  reord_seen: [220, "u32"],
  rcv_ooopack: [224, "u32"],
  snd_wnd: [228, "u32"],
  rcv_wnd: [232, "u32"],
  rehash: [236, "u32"],
  total_rto: [240, "u16"],
  total_rto_recoveries: [242, "u16"],
  total_rto_time: [244, "u32"],
});

/** Offered to the kernel: room for fields newer kernels append. */
const OFFERED_SIZE = 512;
const SIZES: Record<FieldType, number> = { u8: 1, u16: 2, u32: 4, u64: 8 };

/**
 * The names of Linux's TCP states by `tcpi_state` value (include/net/tcp_states.h).
 *
 * @category Options
 * @example
 * ```ts
 * import { TCP_STATES } from "./tcp_info.ts";
 * TCP_STATES[1]; // "ESTABLISHED"
 * ```
 */
export const TCP_STATES: readonly string[] = Object.freeze([
  "",
  "ESTABLISHED",
  "SYN_SENT",
  "SYN_RECV",
  "FIN_WAIT1",
  "FIN_WAIT2",
  "TIME_WAIT",
  "CLOSE",
  "CLOSE_WAIT",
  "LAST_ACK",
  "LISTEN",
  "CLOSING",
  "NEW_SYN_RECV",
  "BOUND_INACTIVE",
]);

/**
 * Decodes the bytes of a `TCP_INFO` read. Only the fields that lie wholly
 * inside `bytes` are set: a short (older kernel's, or truncated) buffer
 * gives fewer fields, and nothing is read past its end. Bytes beyond the
 * fields known here (a newer kernel's) are ignored.
 *
 * @category Options
 * @param bytes what `getsockopt(IPPROTO_TCP, TCP_INFO)` returned, exactly as long as it said.
 * @returns the decoded fields, with `length` = `bytes.byteLength`.
 * @throws {TypeError} when `bytes` is not a `Uint8Array`.
 * @example
 * ```ts
 * import { decodeTcpInfo } from "./tcp_info.ts";
 * const bytes = new Uint8Array(72);
 * bytes[0] = 1; // ESTABLISHED
 * new DataView(bytes.buffer).setUint32(68, 250, true); // rtt
 * const info = decodeTcpInfo(bytes);
 * console.log(info.state, info.rtt, info.rttvar); // 1 250 undefined
 * ```
 */
export function decodeTcpInfo(bytes: Uint8Array): TcpInfo {
  const view = plainView(bytes, "bytes");
  const length = view.byteLength;
  const dv = new DataView(view.buffer, view.byteOffset, length);
  const info: TcpInfo = { length };
  const out = info as unknown as Record<string, number | bigint | boolean>;
  for (const [name, [offset, type]] of Object.entries(TCP_INFO_FIELDS)) {
    if (offset + SIZES[type] > length) continue;
    switch (type) {
      case "u8":
        out[name] = dv.getUint8(offset);
        break;
      case "u16":
        out[name] = dv.getUint16(offset, true);
        break;
      case "u32":
        out[name] = dv.getUint32(offset, true);
        break;
      case "u64":
        out[name] = dv.getBigUint64(offset, true);
        break;
    }
  }
  if (length > 6) {
    const scales = dv.getUint8(6);
    info.snd_wscale = scales & 0x0f;
    info.rcv_wscale = scales >> 4;
  }
  if (length > 7) {
    const bits = dv.getUint8(7);
    info.delivery_rate_app_limited = (bits & 1) !== 0;
    info.fastopen_client_fail = (bits >> 1) & 3;
  }
  return info;
}

/**
 * Reads `TCP_INFO` from a TCP socket and decodes what the running kernel
 * returned (see {@linkcode decodeTcpInfo}).
 *
 * @category Options
 * @param fd a TCP socket (connected, listening or not yet either).
 * @returns the decoded `struct tcp_info`.
 * @throws {SocketError} when the kernel refuses (`EOPNOTSUPP` on a non-TCP socket, `EBADF`...).
 * @example
 * ```ts
 * import { connect, getTcpInfo, listen, TCP_STATES } from "../mod.ts";
 * using listener = listen({ hostname: "127.0.0.1", port: 0 });
 * using conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const info = getTcpInfo(conn.fd);
 * console.log(TCP_STATES[info.state!], info.rtt); // ESTABLISHED, e.g. 50 (µs)
 * ```
 */
export function getTcpInfo(fd: number): TcpInfo {
  const bytes = new Uint8Array(OFFERED_SIZE);
  const len = new Uint32Array([OFFERED_SIZE]);
  getsockopt(checkFd(fd), K.IPPROTO_TCP, K.TCP_INFO, bytes, len);
  return decodeTcpInfo(bytes.subarray(0, Math.min(len[0], OFFERED_SIZE)));
}
