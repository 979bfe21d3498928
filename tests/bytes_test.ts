/**
 * Tests of ffi/bytes.ts: correctness against JS references on random data,
 * and the hostile test: bad lengths, bad buffers, overlap, detached and
 * shared buffers, with every view surrounded by canary-filled guard zones
 * that must survive every call.
 *
 * Run: deno test --allow-ffi tests/bytes_test.ts
 */

import assert from "@assert";
import { bcmp, bcopy, bzero, memcmp, memcpy, memmove, memset } from "../ffi/bytes.ts";
import { libc } from "../ffi/libc.ts";

// ---------------------------------------------------------------------------
// Helpers

/** Deterministic PRNG (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const SEED = 0x5eed1234;

function fillRandom(bytes: Uint8Array, next: () => number): void {
  for (let i = 0; i < bytes.length; i++) bytes[i] = (next() * 256) | 0;
}

const GUARD = 64;
/** The canary byte at absolute arena position `i`: never a constant run, never 0. */
const canary = (i: number) => ((i * 167 + 0x5a) & 0xff) | 1;

type Backing = "ArrayBuffer" | "SharedArrayBuffer";

/**
 * One allocation holding several views, each with `GUARD` canary bytes before
 * and after it: [guard][view 0][guard][view 1][guard]...
 * Views are filled with random data, guards with the canary pattern.
 */
class Arena {
  readonly bytes: Uint8Array;
  readonly views: Uint8Array[] = [];
  readonly starts: number[] = [];
  readonly guards: [number, number][] = [];

  constructor(lengths: number[], backing: Backing = "ArrayBuffer", next = rng(SEED)) {
    const total = GUARD + lengths.reduce((sum, n) => sum + n + GUARD, 0);
    const buffer = backing === "SharedArrayBuffer"
      ? new SharedArrayBuffer(total)
      : new ArrayBuffer(total);
    this.bytes = new Uint8Array(buffer);
    for (let i = 0; i < total; i++) this.bytes[i] = canary(i);
    let at = 0;
    for (const n of lengths) {
      this.guards.push([at, at + GUARD]);
      at += GUARD;
      this.starts.push(at);
      const view = new Uint8Array(buffer, at, n);
      fillRandom(view, next);
      this.views.push(view);
      at += n;
    }
    this.guards.push([at, at + GUARD]);
  }

  snapshot(): Uint8Array {
    return this.bytes.slice();
  }

  /** Every guard byte still holds its canary. */
  assertGuards(what: string): void {
    for (const [from, to] of this.guards) {
      for (let i = from; i < to; i++) {
        if (this.bytes[i] !== canary(i)) {
          assert.fail(`${what}: guard byte ${i} changed (${this.bytes[i]} != ${canary(i)})`);
        }
      }
    }
  }

  /** The whole allocation equals `expected` (guards and views alike). */
  assertEquals(expected: Uint8Array, what: string): void {
    this.assertGuards(what);
    const actual = this.bytes;
    for (let i = 0; i < expected.length; i++) {
      if (actual[i] !== expected[i]) {
        assert.fail(`${what}: byte ${i} is ${actual[i]}, expected ${expected[i]}`);
      }
    }
  }
}

const sign = (x: number) => Math.sign(x);

/** JS reference of memcmp's sign. */
function refCompare(a: Uint8Array, b: Uint8Array, n: number): number {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

/** libc is alive and well after whatever was thrown at it. */
function assertAlive(): void {
  assert.equal(libc().getpid(), Deno.pid);
}

// Casts for deliberately ill-typed calls.
// deno-lint-ignore no-explicit-any
type Any = any;
const bad = (x: unknown): Any => x;

/** The functions under test, uniformly as (first, second, n). */
type Binary = (x: Uint8Array, y: Uint8Array, n: number) => unknown;
const BINARY: [string, Binary][] = [
  ["bcopy", bcopy],
  ["bcmp", bcmp],
  ["memcpy", memcpy],
  ["memmove", memmove],
  ["memcmp", memcmp],
];
const UNARY: [string, (s: Uint8Array, n: number) => unknown][] = [
  ["bzero", bzero],
  ["memset", (s, n) => memset(s, 0xab, n)],
];

// ---------------------------------------------------------------------------
// Correctness against JS references

for (const backing of ["ArrayBuffer", "SharedArrayBuffer"] as Backing[]) {
  Deno.test(`bytes: random data, unaligned offsets, lengths 0..300 (${backing})`, () => {
    const next = rng(SEED ^ 0x1111);
    for (let n = 0; n <= 300; n++) {
      // Lengths of the views exceed n by a random slack, and the views start
      // at a random offset (0..15) inside them, so pointers are unaligned.
      const off = [(next() * 16) | 0, (next() * 16) | 0];
      const arena = new Arena([n + off[0] + 7, n + off[1] + 5], backing, next);
      const [x, y] = arena.views.map((v, i) => v.subarray(off[i]));
      const [xs, ys] = arena.starts.map((s, i) => s + off[i]);
      const what = `n=${n} off=${off}`;

      // bzero
      let expected = arena.snapshot();
      expected.fill(0, xs, xs + n);
      assert.equal(bzero(x, n), undefined);
      arena.assertEquals(expected, `bzero ${what}`);

      // memset, with a byte value, and a negative (signed char) one
      for (const c of [(next() * 256) | 0, -((next() * 128) | 0) - 1]) {
        expected = arena.snapshot();
        expected.fill(c & 0xff, ys, ys + n);
        assert.equal(memset(y, c, n), y);
        arena.assertEquals(expected, `memset c=${c} ${what}`);
      }

      // copies: x -> y
      fillRandom(x, next);
      fillRandom(y, next);
      for (
        const [name, copy] of [
          ["bcopy", (d: Uint8Array, s: Uint8Array) => assert.equal(bcopy(s, d, n), undefined)],
          ["memcpy", (d: Uint8Array, s: Uint8Array) => assert.equal(memcpy(d, s, n), d)],
          ["memmove", (d: Uint8Array, s: Uint8Array) => assert.equal(memmove(d, s, n), d)],
        ] as const
      ) {
        fillRandom(y, next);
        expected = arena.snapshot();
        expected.copyWithin(ys, xs, xs + n);
        copy(y, x);
        arena.assertEquals(expected, `${name} ${what}`);
      }

      // comparisons: equal, and differing at a random position, both ways
      fillRandom(x, next);
      y.set(x.subarray(0, n));
      const before = arena.snapshot();
      assert.equal(bcmp(x, y, n), 0, `bcmp equal ${what}`);
      assert.equal(memcmp(x, y, n), 0, `memcmp equal ${what}`);
      if (n > 0) {
        const k = (next() * n) | 0;
        // Ensure one side >= 0x80, so a signed comparison would get it wrong.
        x[k] = 0x80 | ((next() * 128) | 0);
        y[k] = (next() * 0x80) | 0;
        const diff = arena.snapshot();
        assert.notEqual(bcmp(x, y, n), 0, `bcmp differ ${what}`);
        assert.notEqual(bcmp(y, x, n), 0, `bcmp differ ${what}`);
        assert.equal(sign(memcmp(x, y, n)), 1, `memcmp ${what} k=${k}`);
        assert.equal(sign(memcmp(y, x, n)), -1, `memcmp ${what} k=${k}`);
        assert.equal(sign(memcmp(x, y, n)), refCompare(x, y, n));
        // Bytes past n are ignored.
        assert.equal(bcmp(x, y, k), 0);
        assert.equal(memcmp(x, y, k), 0);
        arena.assertEquals(diff, `compare ${what}`);
      } else {
        arena.assertEquals(before, `compare ${what}`);
      }
      // Fully random data against the reference.
      fillRandom(x, next);
      fillRandom(y, next);
      assert.equal(sign(memcmp(x, y, n)), refCompare(x, y, n));
      assert.equal(bcmp(x, y, n) === 0, refCompare(x, y, n) === 0);
    }
  });
}

Deno.test("bytes: a few MiB at unaligned offsets", () => {
  const n = 3 * 1024 * 1024 + 13;
  const next = rng(SEED ^ 0x2222);
  const arena = new Arena([n + 3, n + 7], "ArrayBuffer", next);
  const x = arena.views[0].subarray(3);
  const y = arena.views[1].subarray(7);
  const xs = arena.starts[0] + 3, ys = arena.starts[1] + 7;

  let expected = arena.snapshot();
  expected.copyWithin(ys, xs, xs + n);
  memcpy(y, x, n);
  arena.assertEquals(expected, "memcpy MiB");
  assert.equal(bcmp(x, y, n), 0);
  assert.equal(memcmp(x, y, n), 0);

  x[n - 1] = 0xff;
  y[n - 1] = 0x00;
  assert.notEqual(bcmp(x, y, n), 0);
  assert.equal(sign(memcmp(x, y, n)), 1);
  assert.equal(bcmp(x, y, n - 1), 0);

  fillRandom(x, next);
  expected = arena.snapshot();
  expected.copyWithin(ys, xs, xs + n);
  bcopy(x, y, n);
  arena.assertEquals(expected, "bcopy MiB");

  // memmove within one view, overlapping by all but 1 byte, both directions.
  expected = arena.snapshot();
  expected.copyWithin(xs + 1, xs, xs + n - 1);
  memmove(x.subarray(1), x, n - 1);
  arena.assertEquals(expected, "memmove MiB forward");
  expected = arena.snapshot();
  expected.copyWithin(xs, xs + 1, xs + n);
  memmove(x, x.subarray(1), n - 1);
  arena.assertEquals(expected, "memmove MiB backward");

  expected = arena.snapshot();
  expected.fill(0x5c, ys, ys + n);
  memset(y, 0x5c, n);
  arena.assertEquals(expected, "memset MiB");
  expected = arena.snapshot();
  expected.fill(0, xs, xs + n);
  bzero(x, n);
  arena.assertEquals(expected, "bzero MiB");
});

// ---------------------------------------------------------------------------
// The hostile test

/** Set if any check ever coerced a length through valueOf/toString. */
let coerced = false;
const tricky = {
  valueOf() {
    coerced = true;
    return 1;
  },
  toString() {
    coerced = true;
    return "1";
  },
};

/** A label for a value that never calls its valueOf/toString. */
const label = (x: unknown) => (typeof x === "object" && x !== null ? "object" : String(x));

type ErrorClass = typeof RangeError | typeof TypeError;

/** `fn` throws exactly `errorClass`, with a message naming the argument `arg`. */
function throwsNaming(fn: () => unknown, errorClass: ErrorClass, arg: string, what: string): void {
  assert.throws(fn, (e: unknown) => {
    if (!(e instanceof Error)) return assert.fail(`${what}: threw a non-Error`);
    assert.equal(e.constructor, errorClass, `${what}: ${e.constructor.name}: ${e.message}`);
    assert.match(e.message, new RegExp(`\\b${arg}\\b`), `${what}: message must name ${arg}`);
    return true;
  }, what);
}

/** Lengths every function must refuse, for views of smallest byteLength `len`. */
function hostileLengths(len: number): [string, unknown, ErrorClass][] {
  return [
    ["-1", -1, RangeError],
    ["byteLength+1", len + 1, RangeError],
    ["2**32", 2 ** 32, RangeError],
    ["2**32+1", 2 ** 32 + 1, RangeError],
    ["2**53", 2 ** 53, RangeError],
    ["2**64", 2 ** 64, RangeError],
    ["NaN", NaN, RangeError],
    ["Infinity", Infinity, RangeError],
    ["-Infinity", -Infinity, RangeError],
    ["1.5", 1.5, RangeError],
    ["-0.5", -0.5, RangeError],
    ["-2**31", -(2 ** 31), RangeError],
    ['"4"', "4", TypeError],
    ["undefined", undefined, TypeError],
    ["null", null, TypeError],
    ["4n", 4n, TypeError],
    ["true", true, TypeError],
    ["{valueOf}", tricky, TypeError],
    ["[4]", [4], TypeError],
    ["new Number(4)", new Number(4), TypeError],
  ];
}

Deno.test("hostile: bad lengths leave every byte alone", () => {
  const LEN = 32;
  // Views of different sizes: a length that fits the first but not the second
  // must still be refused.
  for (const [small, large] of [[LEN, LEN + 8], [LEN + 8, LEN]]) {
    const arena = new Arena([small, large]);
    const [x, y] = arena.views;
    const before = arena.snapshot();
    const cases: [string, unknown, ErrorClass][] = [
      ...hostileLengths(Math.min(small, large)),
      ["max byteLength + 1", Math.max(small, large) + 1, RangeError],
      ["min byteLength + 1 (fits the other)", Math.min(small, large) + 1, RangeError],
    ];
    for (const [label, n, errorClass] of cases) {
      for (const [name, fn] of BINARY) {
        throwsNaming(() => fn(x, y, bad(n)), errorClass, "n", `${name}(n=${label})`);
        arena.assertEquals(before, `${name}(n=${label})`);
      }
    }
    for (const [label, n, errorClass] of hostileLengths(small)) {
      for (const [name, fn] of UNARY) {
        throwsNaming(() => fn(x, bad(n)), errorClass, "n", `${name}(n=${label})`);
        arena.assertEquals(before, `${name}(n=${label})`);
      }
    }
    assertAlive();
  }
  assert.equal(coerced, false, "a length was coerced through valueOf/toString");
});

Deno.test("hostile: n is required", () => {
  const arena = new Arena([8, 8]);
  const [x, y] = arena.views;
  const before = arena.snapshot();
  assert.throws(() => bad(bzero)(x), TypeError);
  assert.throws(() => bad(memset)(x, 1), TypeError);
  assert.throws(() => bad(memset)(x), TypeError);
  for (const [name, fn] of BINARY) {
    assert.throws(() => bad(fn)(x, y), TypeError, name);
    assert.throws(() => bad(fn)(x), TypeError, name);
    assert.throws(() => bad(fn)(), TypeError, name);
  }
  arena.assertEquals(before, "missing n");
  assertAlive();
});

Deno.test("hostile: non-Uint8Array buffers are a TypeError, in every position", () => {
  const arena = new Arena([16, 16]);
  const [x, y] = arena.views;
  const under = arena.bytes.buffer as ArrayBuffer;
  const before = arena.snapshot();
  const spoofed = Object.create(Uint8Array.prototype);
  const others: [string, unknown][] = [
    ["Uint16Array", new Uint16Array(under, 0, 8)],
    ["Int8Array", new Int8Array(under, 0, 16)],
    ["Uint8ClampedArray", new Uint8ClampedArray(under, 0, 16)],
    ["Float64Array", new Float64Array(under, 0, 2)],
    ["BigUint64Array", new BigUint64Array(under, 0, 2)],
    ["DataView", new DataView(under, 0, 16)],
    ["ArrayBuffer", under],
    ["SharedArrayBuffer", new SharedArrayBuffer(16)],
    ["Array", new Array(16).fill(0)],
    ["Proxy(Uint8Array)", new Proxy(x, {})],
    ["Object.create(Uint8Array.prototype)", spoofed],
    ["array-like", { length: 16, byteLength: 16, 0: 1 }],
    ["string", "0123456789abcdef"],
    ["number", 0x1000],
    ["null", null],
    ["undefined", undefined],
  ];
  for (const [label, other] of others) {
    for (const n of [1, 0]) {
      for (const [name, fn] of BINARY) {
        assert.throws(() => fn(bad(other), y, n), TypeError, `${name}(${label}, view, ${n})`);
        assert.throws(() => fn(x, bad(other), n), TypeError, `${name}(view, ${label}, ${n})`);
        arena.assertEquals(before, `${name} with ${label}`);
      }
      for (const [name, fn] of UNARY) {
        assert.throws(() => fn(bad(other), n), TypeError, `${name}(${label}, ${n})`);
        arena.assertEquals(before, `${name} with ${label}`);
      }
    }
  }
  assertAlive();
});

Deno.test("hostile: a lying byteLength cannot widen the range", () => {
  const arena = new Arena([16, 16]);
  const [x, y] = arena.views;
  const before = arena.snapshot();
  // An own property that lies...
  const liar = new Uint8Array(arena.bytes.buffer, arena.starts[0], 16);
  Object.defineProperty(liar, "byteLength", { value: 1 << 20 });
  Object.defineProperty(liar, "length", { value: 1 << 20 });
  // ...and a subclass whose getter lies.
  class Liar extends Uint8Array {}
  Object.defineProperty(Liar.prototype, "byteLength", { get: () => 1 << 20 });
  const subLiar = new Liar(arena.bytes.buffer as ArrayBuffer, arena.starts[1], 16);
  for (const view of [liar, subLiar]) {
    assert.equal(view.byteLength, 1 << 20);
    for (const n of [17, GUARD + 1, 1 << 20]) {
      for (const [name, fn] of BINARY) {
        assert.throws(() => fn(view, y, n), RangeError, name);
        assert.throws(() => fn(x, view, n), RangeError, name);
      }
      for (const [name, fn] of UNARY) assert.throws(() => fn(view, n), RangeError, name);
      arena.assertEquals(before, `liar n=${n}`);
    }
  }
  // Within the true length, a genuine subclass instance works.
  memset(subLiar, 0x77, 16);
  const expected = before.slice();
  expected.fill(0x77, arena.starts[1], arena.starts[1] + 16);
  arena.assertEquals(expected, "subclass memset");
  assertAlive();
});

Deno.test("hostile: memset's byte value", () => {
  const arena = new Arena([8]);
  const [s] = arena.views;
  const before = arena.snapshot();
  const refused: [unknown, ErrorClass][] = [
    [256, RangeError],
    [-129, RangeError],
    [0x100ff, RangeError],
    [2 ** 32, RangeError],
    [1.5, RangeError],
    [NaN, RangeError],
    [Infinity, RangeError],
    ["1", TypeError],
    [undefined, TypeError],
    [null, TypeError],
    [1n, TypeError],
    [tricky, TypeError],
  ];
  for (const [c, errorClass] of refused) {
    throwsNaming(() => memset(s, bad(c), 8), errorClass, "c", `c=${label(c)}`);
    throwsNaming(() => memset(s, bad(c), 0), errorClass, "c", `c=${label(c)} n=0`);
    arena.assertEquals(before, `memset c=${label(c)}`);
  }
  assert.equal(coerced, false, "c was coerced through valueOf/toString");
  for (const [c, byte] of [[-1, 0xff], [-128, 0x80], [255, 0xff], [0, 0], [-0, 0], [0x41, 0x41]]) {
    memset(s, c, 8);
    assert.deepEqual([...s], new Array(8).fill(byte), `c=${c}`);
    arena.assertGuards(`memset c=${c}`);
  }
  assertAlive();
});

Deno.test("hostile: n = -0 is n = 0 for every function, and returns what n = 0 returns", () => {
  const arena = new Arena([8, 8]);
  const [x, y] = arena.views;
  const before = arena.snapshot();
  assert.equal(bzero(x, -0), undefined);
  assert.equal(bcopy(x, y, -0), undefined);
  assert.ok(Object.is(bcmp(x, y, -0), 0), "bcmp(-0) is +0");
  assert.equal(memset(x, 1, -0), x);
  assert.equal(memcpy(x, y, -0), x);
  assert.equal(memmove(x, y, -0), x);
  assert.ok(Object.is(memcmp(x, y, -0), 0), "memcmp(-0) is +0");
  arena.assertEquals(before, "n = -0 touched a byte");
  // Still measured: a -0 count with a non-Uint8Array is the TypeError of n = 0.
  for (const fn of [() => bzero(bad([]), -0), () => memcpy(x, bad({}), -0)]) {
    assert.throws(fn, TypeError);
  }
  assertAlive();
});

Deno.test("hostile: overlap — bcopy and memmove give the memmove result, memcpy refuses", () => {
  const len = 96;
  for (const backing of ["ArrayBuffer", "SharedArrayBuffer"] as Backing[]) {
    const arena = new Arena([len], backing, rng(SEED ^ 0x3333));
    const [region] = arena.views;
    const base = arena.starts[0];
    for (const n of [1, 2, 7, 8, 16, 31, 48]) {
      for (let shift = -17; shift <= 17; shift++) {
        const srcAt = 24, destAt = srcAt + shift;
        const src = region.subarray(srcAt, srcAt + n);
        const dest = region.subarray(destAt, destAt + n);
        const what = `${backing} n=${n} shift=${shift}`;
        const overlaps = Math.abs(shift) < n;

        for (
          const [name, move] of [["bcopy", () => bcopy(src, dest, n)], [
            "memmove",
            () => memmove(dest, src, n),
          ]] as const
        ) {
          fillRandom(region, rng(n * 100 + shift + 50));
          const expected = arena.snapshot();
          expected.copyWithin(base + destAt, base + srcAt, base + srcAt + n);
          move();
          arena.assertEquals(expected, `${name} ${what}`);
        }

        fillRandom(region, rng(n * 100 + shift + 51));
        const before = arena.snapshot();
        if (overlaps) {
          assert.throws(() => memcpy(dest, src, n), RangeError, `memcpy ${what}`);
          arena.assertEquals(before, `memcpy refused ${what}`);
        } else {
          // Adjacent or disjoint ranges in the same buffer are fine.
          memcpy(dest, src, n);
          before.copyWithin(base + destAt, base + srcAt, base + srcAt + n);
          arena.assertEquals(before, `memcpy ${what}`);
        }
      }
    }
    // The very same view as dest and src.
    const before = arena.snapshot();
    assert.throws(() => memcpy(region, region, len), RangeError);
    // Overlap is judged on the n-byte ranges, not the whole views.
    memcpy(region.subarray(40), region, 40);
    before.copyWithin(base + 40, base, base + 40);
    arena.assertEquals(before, `${backing} memcpy of a non-overlapping prefix`);
    assert.throws(() => memcpy(region.subarray(40), region, 41), RangeError);
    arena.assertEquals(before, `${backing} memcpy overlap by one`);
    // Comparing overlapping views is harmless.
    assert.equal(bcmp(region, region, len), 0);
    assert.equal(memcmp(region, region, len), 0);
  }
  assertAlive();
});

Deno.test("hostile: memcpy sees overlap across distinct SharedArrayBuffer objects", () => {
  const arena = new Arena([64], "SharedArrayBuffer");
  const sab = arena.bytes.buffer as SharedArrayBuffer;
  const twin = structuredClone(sab); // a different object over the same memory
  assert.notEqual(twin, sab);
  const start = arena.starts[0];
  const mine = new Uint8Array(sab, start, 64);
  const theirs = new Uint8Array(twin, start + 8, 56);
  theirs[0] = 42;
  assert.equal(mine[8], 42, "structuredClone shares the memory");
  const before = arena.snapshot();
  assert.throws(() => memcpy(theirs, mine, 16), RangeError);
  assert.throws(() => memcpy(mine, theirs, 16), RangeError);
  arena.assertEquals(before, "memcpy across twins");
  memcpy(theirs, mine, 8); // adjacent: allowed
  before.copyWithin(start + 8, start, start + 8);
  arena.assertEquals(before, "memcpy adjacent twins");
  const expected = arena.snapshot();
  expected.copyWithin(start + 8, start, start + 40);
  memmove(theirs, mine, 40);
  arena.assertEquals(expected, "memmove across twins");
  assertAlive();
});

Deno.test("hostile: detached buffers have byteLength 0", () => {
  const arena = new Arena([16]);
  const [live] = arena.views;
  const before = arena.snapshot();
  const detached = () => {
    const buffer = new ArrayBuffer(32);
    const view = new Uint8Array(buffer, 8, 16);
    view.fill(1);
    buffer.transfer();
    assert.equal(view.byteLength, 0);
    return view;
  };
  for (const n of [1, 16, 32]) {
    for (const [name, fn] of BINARY) {
      assert.throws(() => fn(detached(), live, n), RangeError, `${name} detached first`);
      assert.throws(() => fn(live, detached(), n), RangeError, `${name} detached second`);
      assert.throws(() => fn(detached(), detached(), n), RangeError, `${name} both detached`);
    }
    for (const [name, fn] of UNARY) {
      assert.throws(() => fn(detached(), n), RangeError, name);
    }
    arena.assertEquals(before, `detached n=${n}`);
  }
  // n = 0 is fine: nothing is touched, libc is not called.
  const d = detached();
  assert.equal(memcpy(d, live, 0), d);
  assert.equal(memmove(live, d, 0), live);
  assert.equal(memset(d, 1, 0), d);
  assert.equal(bzero(d, 0), undefined);
  assert.equal(bcopy(d, live, 0), undefined);
  assert.equal(bcmp(d, live, 0), 0);
  assert.equal(memcmp(live, d, 0), 0);
  arena.assertEquals(before, "detached n=0");
  assertAlive();
});

Deno.test("hostile: resizable buffers are measured as they are now", () => {
  const buffer = new ArrayBuffer(GUARD + 32 + GUARD, { maxByteLength: 4096 });
  const all = new Uint8Array(buffer);
  for (let i = 0; i < all.length; i++) all[i] = canary(i);
  const tracking = new Uint8Array(buffer, GUARD); // length-tracking view
  assert.equal(tracking.byteLength, 32 + GUARD);
  buffer.resize(GUARD + 16);
  assert.equal(tracking.byteLength, 16);
  const before = all.slice();
  const other = new Uint8Array(64);
  assert.throws(() => memset(tracking, 0, 17), RangeError);
  assert.throws(() => memcpy(tracking, other, 17), RangeError);
  assert.throws(() => bcopy(other, tracking, 17), RangeError);
  assert.deepEqual(all, before);
  memset(tracking, 0xee, 16);
  assert.deepEqual([...all.subarray(GUARD)], new Array(16).fill(0xee));
  assert.deepEqual(all.subarray(0, GUARD), before.subarray(0, GUARD));
  // Shrunk below the view's offset: out of bounds, byteLength 0.
  buffer.resize(GUARD / 2);
  const fixed = new Uint8Array(64);
  assert.throws(() => memcpy(tracking, fixed, 1), RangeError);
  assert.equal(memcpy(tracking, fixed, 0), tracking);
  assertAlive();
});

Deno.test("hostile: zero-length views, anywhere", () => {
  const arena = new Arena([16, 16]);
  const [x, y] = arena.views;
  const before = arena.snapshot();
  const empties = [
    new Uint8Array(0),
    x.subarray(0, 0),
    x.subarray(16),
    y.subarray(7, 7),
    new Uint8Array(new SharedArrayBuffer(0)),
  ];
  for (const e of empties) {
    for (const [name, fn] of BINARY) {
      fn(e, y, 0);
      fn(x, e, 0);
      fn(e, e, 0);
      assert.throws(() => fn(e, y, 1), RangeError, name);
      assert.throws(() => fn(x, e, 1), RangeError, name);
    }
    assert.equal(memcpy(e, x, 0), e);
    assert.equal(memmove(e, x, 0), e);
    assert.equal(memset(e, 3, 0), e);
    assert.equal(bcmp(e, y, 0), 0);
    assert.equal(memcmp(x, e, 0), 0);
    for (const [name, fn] of UNARY) {
      fn(e, 0);
      assert.throws(() => fn(e, 1), RangeError, name);
    }
  }
  // n = 0 on non-empty views, including "overlapping" ones, changes nothing.
  for (const [, fn] of BINARY) fn(x, x, 0);
  for (const [, fn] of UNARY) fn(x, 0);
  arena.assertEquals(before, "zero-length");
  assertAlive();
});

Deno.test("bytes: return values are the dest object", () => {
  const a = new Uint8Array([1, 2, 3, 4]);
  const b = new Uint8Array(4);
  assert.equal(memset(b, 9, 2), b);
  assert.equal(memcpy(b, a, 4), b);
  assert.equal(memmove(b, a, 4), b);
  assert.equal(bzero(b, 4), undefined);
  assert.equal(bcopy(a, b, 4), undefined);
  assert.deepEqual([...b], [1, 2, 3, 4]);
  assert.equal(typeof bcmp(a, b, 4), "number");
  assert.equal(typeof memcmp(a, b, 4), "number");
});
