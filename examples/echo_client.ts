/**
 * Sends a message (or standard input) to an echo server and prints the echo.
 *
 *   deno task echo-client [--hostname 127.0.0.1] [--port 8080] [message...]
 *
 * Without a message it sends standard input, half-closes the connection
 * (`closeWrite`) and prints everything the server sends back until it closes.
 *
 * @module
 */

import { parseArgs } from "@cli";
import { connect } from "../mod.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    hostname: { type: "string", short: "H", default: "127.0.0.1" },
    port: { type: "string", short: "p", default: "8080" },
  },
});

const conn = await connect({ hostname: values.hostname, port: Number(values.port) });
const sending = (async () => {
  if (positionals.length > 0) {
    await conn.writeAll(new TextEncoder().encode(positionals.join(" ") + "\n"));
  } else {
    for await (const chunk of Deno.stdin.readable) await conn.writeAll(chunk);
  }
  await conn.closeWrite();
})();
const buf = new Uint8Array(64 * 1024);
for (;;) {
  const n = await conn.read(buf);
  if (n === null) break;
  await Deno.stdout.write(buf.subarray(0, n));
}
await sending;
conn.close();
