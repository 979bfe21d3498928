// Preloaded into the `deno run`/`deno eval` children of the copied tests when
// the parent runs on our API (substitute.ts says why).
import { install } from "./substitute.ts";

await install();
