/**
 * validateHostname against Deno itself: every string goes to Deno.connect
 * and Deno.listen in a child that is granted only 127.0.0.2:1, so each
 * either fails Deno's host parser (a URIError, before any permission
 * query) or reaches the permission check (NotCapable, naming the host as
 * Deno displays it). validateHostname must refuse exactly the first kind,
 * with Deno's message in a TypeError, and parseHost must display the rest
 * as Deno's message does. No lookup starts: nothing is granted to resolve.
 *
 * Run: deno test --allow-run --allow-read tests/hostname_test.ts
 */

import assert from "@assert";
import { formatIp, parseHost, parseIpv4, parseIpv6, validateHostname } from "../net/hostname.ts";

const FIXTURE = new URL("./fixtures/perm_hostnames.ts", import.meta.url).pathname;

const HOSTS = [
  // The spellings of problem 4 and their neighbours.
  "127.0.0.1\0.evil.example",
  "\0",
  "a\0",
  "[127.0.0.1]",
  "[localhost]",
  "[]",
  "[",
  "]",
  "[::1",
  "::1]",
  "[[::1]]",
  "[::1]",
  "[::1%lo]",
  "[fe80::1%1]",
  "fe80::1%1",
  "fe80::1%",
  "127.0.0.1%x",
  "::ffff:127.0.0.1",
  "[::ffff:7f00:1]",
  "::7f00:1",
  "::1.2.3.4",
  "0:0:0:0:0:0:0:1",
  "2001:db8:0:0:1:0:0:1",
  "1:0:0:1::1",
  "1:2:3:4:5:6:7:8:9",
  "1::2::3",
  // Numeric spellings libc reads as IPv4, Deno as names.
  "127.1",
  "127.0.1",
  "2130706433",
  "0x7f.0.0.1",
  "0x7f000001",
  "0177.0.0.1",
  "127.0.0.01",
  "0",
  "0.0.0.0",
  "256.1.1.1",
  "1.2.3.4.5",
  // Trailing dots, case, odd characters, lengths.
  "localhost.",
  "LOCALHOST",
  "LocalHost.",
  "1.2.3.4.",
  "::1.",
  ".",
  "",
  "..",
  "a..b",
  ".a",
  "a.b..",
  "a b",
  " 127.0.0.1",
  "127.0.0.1 ",
  "\t",
  "a/b",
  "a%b",
  "a:b",
  "127.0.0.1:80",
  "http://x",
  "*.example",
  "@",
  "x_y",
  "-x",
  "#",
  "a#b",
  "é.example",
  "xn--caf-dma",
  "127.0.0.0/8",
  "::1/128",
  "a".repeat(255),
  "a".repeat(256),
  "a".repeat(255) + "é",
  ("a".repeat(63) + ".").repeat(5) + "x",
];

Deno.test("validateHostname refuses exactly what Deno.connect/Deno.listen refuse, with Deno's message", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.2:1", "--allow-read", FIXTURE, JSON.stringify(HOSTS)],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const rows = JSON.parse(text) as {
    hostname: string;
    connect: string;
    listen: string;
    ours: string;
    display: string | null;
  }[];
  assert.equal(rows.length, HOSTS.length);
  for (const row of rows) {
    const name = JSON.stringify(row.hostname).slice(0, 60);
    // Deno.connect and Deno.listen parse the same way.
    assert.equal(row.connect.split(":")[0], row.listen.split(":")[0], `${name}: connect vs listen`);
    if (row.connect.startsWith("URIError: ")) {
      assert.equal(row.ours, row.connect.replace(/^URIError/, "TypeError"), name);
    } else {
      assert.equal(row.ours, "ok", `${name}: Deno said ${row.connect}`);
      const m = /^NotCapable: Requires net access to "(.*):7", run again/s.exec(row.connect);
      assert.ok(m, `${name}: ${row.connect}`);
      const display = row.display!.includes(":") && !row.display!.includes("/")
        ? `[${row.display}]`
        : row.display;
      assert.equal(display, m![1], `${name}: display`);
    }
  }
});

Deno.test("validateHostname: a non-string is a TypeError; the value comes back unchanged", () => {
  for (const v of [undefined, null, 1, {}, ["localhost"]]) {
    assert.throws(() => validateHostname(v), TypeError);
  }
  assert.equal(validateHostname("LOCALHOST."), "LOCALHOST.");
});

Deno.test("parseIpv4/parseIpv6/formatIp agree with Rust's strict forms", () => {
  assert.deepEqual(parseIpv4("10.0.0.255"), new Uint8Array([10, 0, 0, 255]));
  for (const s of ["127.1", "127.0.0.01", "0x7f.0.0.1", "1.2.3.256", "1.2.3.4.", ""]) {
    assert.equal(parseIpv4(s), null, s);
  }
  const cases: [string, string][] = [
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["1:0:0:0:0:0:0:0", "1::"],
    ["0:1:0:0:0:0:0:0", "0:1::"],
    ["1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0"],
    ["2001:DB8::1", "2001:db8::1"],
    ["1:0:0:1:0:0:0:1", "1:0:0:1::1"],
    ["1:0:0:2:0:0:3:4", "1::2:0:0:3:4"],
    ["::ffff:1.2.3.4", "::ffff:1.2.3.4"],
    ["::1.2.3.4", "::102:304"],
  ];
  for (const [input, text] of cases) assert.equal(formatIp(6, parseIpv6(input)!), text, input);
  for (const s of ["1:2:3:4:5:6:7:8:9", "1::2::3", ":1", "1:", "12345::", "::1.2.3", "1.2.3.4::"]) {
    assert.equal(parseIpv6(s), null, s);
  }
  assert.equal(parseHost("[::ffff:10.1.2.3]").display, "10.1.2.3");
});
