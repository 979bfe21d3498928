/**
 * Every architecture's declared struct layouts against what glibc's headers
 * say there. tools/arch/layout_probe.c prints `sizeof` and `offsetof` for each
 * struct; its output on x86_64 (native gcc) and aarch64 (Debian's cross gcc
 * under qemu-user) is recorded in tools/arch/layouts_<arch>.json by
 * tools/arch/record.sh. Both sets are checked on any machine, so an x86_64
 * CI catches an aarch64 mistake. Where a compiler is at hand the probe is
 * rebuilt and rerun, so the recorded files cannot drift from the headers.
 *
 * Run: deno test --allow-read --allow-write --allow-run --allow-env tests/arch_layout_test.ts
 */

import assert from "@assert";
import * as structs from "../ffi/structs.ts";
import { type Arch, layoutsFor, type StructLayout } from "../ffi/structs.ts";
import x86_64 from "../tools/arch/layouts_x86_64.json" with { type: "json" };
import aarch64 from "../tools/arch/layouts_aarch64.json" with { type: "json" };

interface ProbeOutput {
  arch: string;
  structs: Record<string, { size: number; fields: Record<string, number[]> }>;
}

const RECORDED: Record<Arch, ProbeOutput> = {
  x86_64: x86_64 as ProbeOutput,
  aarch64: aarch64 as ProbeOutput,
};
const ARCHES = Object.keys(RECORDED) as Arch[];
const PROBE = new URL("../tools/arch/layout_probe.c", import.meta.url).pathname;

// deno-lint-ignore no-explicit-any
type AnyLayout = StructLayout<any>;

/** A declared layout in the probe's shape: `{ size, fields: { name: [offset, size] } }`. */
function shapeOf(layout: AnyLayout): ProbeOutput["structs"][string] {
  return {
    size: layout.size,
    fields: Object.fromEntries(layout.fields.map((f) => [f.name, [f.offset, f.size]])),
  };
}

for (const arch of ARCHES) {
  Deno.test(`${arch}: every declared layout has the probe's sizeof and, per field, offsetof and size`, () => {
    const probe = RECORDED[arch];
    assert.equal(probe.arch, arch, "the recorded file is that architecture's");
    const declared = Object.values(layoutsFor(arch)) as AnyLayout[];
    for (const layout of declared) {
      const measured = probe.structs[layout.name];
      assert.ok(measured, `the probe does not measure ${layout.name}: add it to layout_probe.c`);
      // The probe may know fields we do not declare (sockaddr_storage's
      // padding); every field we declare must be there, at the same place.
      const wanted = {
        size: measured.size,
        fields: Object.fromEntries(layout.fields.map((f) => [f.name, measured.fields[f.name]])),
      };
      assert.deepEqual(shapeOf(layout), wanted, `${layout.name} on ${arch}`);
    }
    // And every struct the probe measures is declared (ADDRINFO is offsets only).
    const names = new Set(declared.map((l) => l.name));
    for (const name of Object.keys(probe.structs)) {
      if (name !== "struct addrinfo") assert.ok(names.has(name), `${name} is not declared`);
    }
  });

  Deno.test(`${arch}: ADDRINFO's offsets are the probe's struct addrinfo`, () => {
    const { size, fields } = RECORDED[arch].structs["struct addrinfo"];
    const offsets = Object.fromEntries(Object.entries(fields).map(([k, [off]]) => [k, off]));
    assert.deepEqual({ ...structs.ADDRINFO }, { size, ...offsets });
  });
}

Deno.test("the architectures differ in epoll_event only: packed on x86_64, data at 8 on aarch64", () => {
  assert.deepEqual(shapeOf(layoutsFor("x86_64").epoll_event), {
    size: 12,
    fields: { events: [0, 4], data: [4, 8] },
  });
  assert.deepEqual(shapeOf(layoutsFor("aarch64").epoll_event), {
    size: 16,
    fields: { events: [0, 4], data: [8, 8] },
  });
  const a = layoutsFor("x86_64"), b = layoutsFor("aarch64");
  for (const key of Object.keys(a) as (keyof typeof a)[]) {
    if (key !== "epoll_event") assert.equal(a[key], b[key], `${key} is one shared declaration`);
  }
  assert.deepEqual(RECORDED.x86_64.structs["struct epoll_event"], {
    size: 12,
    fields: { events: [0, 4], data: [4, 8] },
  });
  assert.deepEqual(RECORDED.aarch64.structs["struct epoll_event"], {
    size: 16,
    fields: { events: [0, 4], data: [8, 8] },
  });
});

Deno.test("the module's exported layouts are those of the running CPU", () => {
  const mine = layoutsFor(Deno.build.arch);
  for (const [key, layout] of Object.entries(mine)) {
    assert.equal((structs as Record<string, unknown>)[key], layout, key);
  }
  assert.ok(Object.isFrozen(mine));
});

Deno.test("layoutsFor refuses an unknown architecture or a non-string", () => {
  // deno-lint-ignore no-explicit-any
  const bad = (x: unknown): any => x;
  assert.throws(() => layoutsFor(bad("riscv64")), RangeError);
  assert.throws(() => layoutsFor(bad("__proto__")), RangeError);
  assert.throws(() => layoutsFor(bad(undefined)), TypeError);
  assert.throws(() => layoutsFor(bad({ toString: () => "x86_64" })), TypeError);
});

// ------------------------------------------------------------------ the probe, rebuilt

/** Runs a command; null when it cannot be run at all (not installed). */
function tryRun(cmd: string, args: string[], env: Record<string, string> = {}): string | null {
  try {
    const out = new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).outputSync();
    if (!out.success) {
      throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
    }
    return new TextDecoder().decode(out.stdout);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

const canRun = Deno.permissions.querySync({ name: "run" }).state === "granted";
/** The compiler for the running CPU, if gcc is installed and targets it. */
const nativeCc = canRun && tryRun("gcc", ["-dumpmachine"])?.startsWith(`${Deno.build.arch}-`)
  ? "gcc"
  : null;
const crossReady = canRun && Deno.build.arch === "x86_64" &&
  tryRun("aarch64-linux-gnu-gcc", ["-dumpmachine"]) !== null &&
  tryRun("qemu-aarch64", ["-version"]) !== null;

async function compileProbe(cc: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "layout_probe_" });
  const exe = `${dir}/probe`;
  tryRun(cc, ["-Wall", "-Wextra", "-Werror", "-o", exe, PROBE]);
  return exe;
}

Deno.test({
  name: `the probe rebuilt with gcc here prints the recorded ${Deno.build.arch} layouts`,
  ignore: nativeCc === null,
  async fn() {
    const exe = await compileProbe(nativeCc!);
    try {
      assert.deepEqual(JSON.parse(tryRun(exe, [])!), RECORDED[Deno.build.arch]);
    } finally {
      await Deno.remove(exe.slice(0, exe.lastIndexOf("/")), { recursive: true });
    }
  },
});

Deno.test({
  name:
    "the probe rebuilt with aarch64-linux-gnu-gcc and run under qemu-aarch64 prints the recorded aarch64 layouts",
  ignore: !crossReady,
  async fn() {
    const exe = await compileProbe("aarch64-linux-gnu-gcc");
    try {
      const prefix = Deno.env.get("QEMU_LD_PREFIX") ?? "/usr/aarch64-linux-gnu";
      const out = tryRun("qemu-aarch64", [exe], { QEMU_LD_PREFIX: prefix })!;
      assert.deepEqual(JSON.parse(out), RECORDED.aarch64);
    } finally {
      await Deno.remove(exe.slice(0, exe.lastIndexOf("/")), { recursive: true });
    }
  },
});
