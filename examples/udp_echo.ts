/**
 * A UDP echo server, and a client for it.
 *
 *   deno task udp-echo [--hostname 127.0.0.1] [--port 9000]                 # server
 *   deno task udp-echo --client [--hostname 127.0.0.1] --port 9000 [message...]
 *
 * The server sends every datagram back to its sender. The client uses a
 * connected UDP socket: it sends each message (or each line of standard
 * input) and prints the echo, or a timeout after `--timeout` seconds.
 *
 * @module
 */

import { parseArgs } from "@cli";
import { connectDatagram, listenDatagram } from "../mod.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    hostname: { type: "string", short: "H", default: "127.0.0.1" },
    port: { type: "string", short: "p", default: "9000" },
    client: { type: "boolean", short: "c", default: false },
    timeout: { type: "string", short: "t", default: "2" },
  },
});
const port = Number(values.port);

if (!values.client) {
  const server = listenDatagram({ transport: "udp", hostname: values.hostname, port });
  console.log(`udp echo server listening on ${server.addr.hostname}:${server.addr.port}`);
  Deno.addSignalListener("SIGINT", () => {
    server.close();
  });
  for await (const [data, from] of server) {
    await server.send(data, from);
  }
} else {
  const conn = await connectDatagram({ transport: "udp", hostname: values.hostname, port });
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const timeout = Number(values.timeout) * 1000;
  let failures = 0;

  const roundTrip = async (text: string) => {
    await conn.send(encoder.encode(text));
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const reply = await Promise.race([
        conn.receive(),
        new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), timeout)),
      ]);
      if (reply === null) {
        failures++;
        console.error(`no echo within ${values.timeout} s`);
      } else {
        console.log(decoder.decode(reply[0]));
      }
    } catch (error) {
      failures++;
      console.error(`udp-echo: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  };

  if (positionals.length > 0) {
    await roundTrip(positionals.join(" "));
  } else {
    let pending = "";
    for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      let newline;
      while ((newline = pending.indexOf("\n")) !== -1) {
        await roundTrip(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
      }
    }
    if (pending.length > 0) await roundTrip(pending);
  }
  conn.close();
  Deno.exit(failures === 0 ? 0 : 1);
}
