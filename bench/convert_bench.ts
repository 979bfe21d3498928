// Pure TypeScript conversions (ffi/convert.ts) against the same calls made
// into glibc through Deno.dlopen. Run:
//   deno bench --allow-ffi bench/convert_bench.ts
// Each group's baseline is the libc call; every iteration converts a small
// rotating set of inputs so neither side can fold a constant.

import { AF_INET, AF_INET6 } from "../ffi/constants.ts";
import * as pure from "../ffi/convert.ts";
import { libcConvert as libc } from "../ffi/convert.ts";

const N = 64;
const numbers16 = Array.from({ length: N }, (_, i) => (i * 2654435761) & 0xffff);
const numbers32 = Array.from({ length: N }, (_, i) => Math.imul(i + 1, 2654435761) >>> 0);
const dotted = numbers32.map((n) => pure.inet_ntoa(n));
const legacy = dotted.map((s, i) => (i % 4 === 0 ? "0x7f.1" : i % 4 === 1 ? "10.0x1.0377" : s));
const v6Text = numbers32.map((n, i) =>
  i % 3 === 0
    ? `2001:db8::${(n & 0xffff).toString(16)}`
    : i % 3 === 1
    ? `::ffff:${pure.inet_ntoa(n)}`
    : `fe80::${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}:1:${i}`
);
const v4Bytes = dotted.map((s) => pure.inet_pton(AF_INET, s)!);
const v6Bytes = v6Text.map((s) => pure.inet_pton(AF_INET6, s)!);

let i = 0;
let sink = 0;
const next = () => (i = (i + 1) & (N - 1));

// Warm libc up (dlopen) outside the measured loops.
libc.htons(1);

Deno.bench("htons: libc", { group: "htons", baseline: true }, () => {
  sink ^= libc.htons(numbers16[next()]);
});
Deno.bench("htons: pure", { group: "htons" }, () => {
  sink ^= pure.htons(numbers16[next()]);
});

Deno.bench("htonl: libc", { group: "htonl", baseline: true }, () => {
  sink ^= libc.htonl(numbers32[next()]);
});
Deno.bench("htonl: pure", { group: "htonl" }, () => {
  sink ^= pure.htonl(numbers32[next()]);
});

Deno.bench("inet_addr: libc", { group: "inet_addr", baseline: true }, () => {
  sink ^= libc.inet_addr(legacy[next()]);
});
Deno.bench("inet_addr: pure", { group: "inet_addr" }, () => {
  sink ^= pure.inet_addr(legacy[next()]);
});

Deno.bench("inet_aton: libc", { group: "inet_aton", baseline: true }, () => {
  sink ^= libc.inet_aton(legacy[next()]) ?? 0;
});
Deno.bench("inet_aton: pure", { group: "inet_aton" }, () => {
  sink ^= pure.inet_aton(legacy[next()]) ?? 0;
});

Deno.bench("inet_ntoa: libc", { group: "inet_ntoa", baseline: true }, () => {
  sink ^= libc.inet_ntoa(numbers32[next()]).length;
});
Deno.bench("inet_ntoa: pure", { group: "inet_ntoa" }, () => {
  sink ^= pure.inet_ntoa(numbers32[next()]).length;
});

Deno.bench("inet_pton v4: libc", { group: "inet_pton v4", baseline: true }, () => {
  sink ^= libc.inet_pton(AF_INET, dotted[next()])![0];
});
Deno.bench("inet_pton v4: pure", { group: "inet_pton v4" }, () => {
  sink ^= pure.inet_pton(AF_INET, dotted[next()])![0];
});

Deno.bench("inet_pton v6: libc", { group: "inet_pton v6", baseline: true }, () => {
  sink ^= libc.inet_pton(AF_INET6, v6Text[next()])![15];
});
Deno.bench("inet_pton v6: pure", { group: "inet_pton v6" }, () => {
  sink ^= pure.inet_pton(AF_INET6, v6Text[next()])![15];
});

Deno.bench("inet_ntop v4: libc", { group: "inet_ntop v4", baseline: true }, () => {
  sink ^= libc.inet_ntop(AF_INET, v4Bytes[next()]).length;
});
Deno.bench("inet_ntop v4: pure", { group: "inet_ntop v4" }, () => {
  sink ^= pure.inet_ntop(AF_INET, v4Bytes[next()]).length;
});

Deno.bench("inet_ntop v6: libc", { group: "inet_ntop v6", baseline: true }, () => {
  sink ^= libc.inet_ntop(AF_INET6, v6Bytes[next()]).length;
});
Deno.bench("inet_ntop v6: pure", { group: "inet_ntop v6" }, () => {
  sink ^= pure.inet_ntop(AF_INET6, v6Bytes[next()]).length;
});

globalThis.addEventListener("unload", () => {
  if (sink === 0.5) console.log(sink); // keeps `sink` observable
});
