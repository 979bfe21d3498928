/**
 * Abort while a name resolves and while a connect is in progress, against
 * a DNS server that answers after 1.5 s (tests/fixtures/slow_dns.py). The
 * child runs in its own mount and network namespace (`unshare -m -n`): a
 * resolv.conf naming only 127.0.0.1 is bound over /etc/resolv.conf, the
 * responder listens on 127.0.0.1:53, and nothing can leave the host.
 *
 * Asserted, for Deno.connect (the reference) and ours: an abort during the
 * lookup or the connect rejects within 50 ms of the abort, with the
 * signal's reason; an already-aborted signal rejects at once; no
 * descriptor is left behind (/proc/self/fd before and after). `resolve`
 * itself is checked directly too, so the harness is proven even where the
 * connect functions do not take a signal yet.
 *
 * Skipped without root, unshare, ip and python3.
 *
 * Run: deno test --allow-run --allow-read --allow-write tests/abort_test.ts
 */

import assert from "@assert";

const CHILD = new URL("./fixtures/slow_dns_child.ts", import.meta.url).pathname;
const DNS = new URL("./fixtures/slow_dns.py", import.meta.url).pathname;

function available(): boolean {
  try {
    for (
      const [cmd, args] of [["unshare", ["-m", "-n", "true"]], ["python3", ["-c", "1"]]] as const
    ) {
      if (
        !new Deno.Command(cmd, { args: [...args], stderr: "null", stdout: "null" }).outputSync()
          .success
      ) {
        return false;
      }
    }
    return true;
  } catch {
    return false;
  }
}
const ready = available();

interface Result {
  ms: number;
  outcome: string;
  reasonMatches: boolean;
  fdsBefore: number;
  fdsAfter: number;
}

async function runChild(mode: "unit" | "all"): Promise<Record<string, Result>> {
  const dir = Deno.makeTempDirSync({ prefix: "bsd-abort-" });
  try {
    Deno.writeTextFileSync(
      `${dir}/resolv.conf`,
      "nameserver 127.0.0.1\noptions timeout:5 attempts:1\n",
    );
    Deno.writeTextFileSync(
      `${dir}/enter.sh`,
      `set -e
mount --bind ${dir}/resolv.conf /etc/resolv.conf
ip link set lo up
python3 ${DNS} 1.5 > ${dir}/dns.log 2>&1 &
for i in $(seq 100); do grep -q ready ${dir}/dns.log && break; sleep 0.05; done
"$@"
kill %1
`,
    );
    const out = await new Deno.Command("unshare", {
      args: [
        "-m",
        "-n",
        "sh",
        `${dir}/enter.sh`,
        Deno.execPath(),
        "run",
        "--quiet",
        // /proc/self/fd, to count descriptors, needs all permissions.
        "--allow-all",
        "--unstable-net",
        CHILD,
        mode,
      ],
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    if (text === "") {
      throw new Error(`child exit ${out.code}:\n${new TextDecoder().decode(out.stderr)}`);
    }
    return JSON.parse(text.split("\n").at(-1)!);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

function assertPrompt(results: Record<string, Result>, name: string, reason = true): void {
  const r = results[name];
  assert.ok(r, `${name}: not run`);
  assert.notEqual(r.outcome, "ok", `${name}: settled without error`);
  assert.ok(r.ms < 50, `${name}: settled ${r.ms.toFixed(1)} ms after the abort (${r.outcome})`);
  if (reason) {
    assert.ok(r.reasonMatches, `${name}: rejected with ${r.outcome}, not the signal's reason`);
  }
  assert.equal(r.fdsAfter, r.fdsBefore, `${name}: descriptors ${r.fdsBefore} -> ${r.fdsAfter}`);
}

Deno.test({
  name: "abort: Deno.connect and resolve() reject within 50 ms of an abort during a 1.5 s lookup",
  ignore: !ready,
  async fn() {
    const results = await runChild("unit");
    // The lookup really is slow: without a signal it takes the responder's 1.5 s.
    const slow = results["resolve, no abort (the lookup really is slow)"];
    assert.equal(slow.outcome, "ok", slow.outcome);
    assert.ok(slow.ms > 1000, `the unabortable lookup took only ${slow.ms} ms after its mark`);
    // Deno's own connect is the reference the rest must meet.
    assertPrompt(results, "Deno.connect, abort during lookup");
    assertPrompt(results, "resolve, abort during lookup");
    assertPrompt(results, "resolve, already aborted");
  },
});

Deno.test({
  name: "abort: connect/connectDatagram/connectSeqpacket reject within 50 ms, leave no descriptor",
  ignore: !ready,
  async fn() {
    const results = await runChild("all");
    const failures: string[] = [];
    for (
      const [name, reason] of [
        ["connect, abort during lookup", true],
        ["connect, already aborted", true],
        ["connect({timeout: 100}) during lookup", false],
        ["connectDatagram, abort during lookup", true],
        ["Deno.connect, abort during a connect to a full backlog", true],
        ["connect, abort during a connect to a full backlog", true],
        ["connect({timeout: 100}) to a full backlog", false],
        ["connectSeqpacket, abort during a connect to a full backlog", true],
      ] as const
    ) {
      try {
        assertPrompt(results, name, reason);
      } catch (e) {
        failures.push((e as Error).message.split("\n")[0]);
      }
    }
    assert.equal(failures.length, 0, failures.join("\n"));
  },
});
