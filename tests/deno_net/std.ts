/**
 * The few @std modules Deno's test_util.ts imports, for a machine where JSR is
 * unreachable. The assertions keep @std/assert's semantics (what they accept,
 * what they return, which error they throw) because the copied test bodies
 * rely on them: `assertRejects` rejects a function that throws synchronously
 * instead of returning a rejected promise, and message checks are substring
 * checks, not equality. Deep equality is node:assert's strict one.
 *
 * @module
 */
import nodeAssert from "node:assert/strict";
import * as nodePath from "node:path";

export class AssertionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AssertionError";
  }
}

const suffix = (msg?: string) => msg ? `: ${msg}` : ".";

export function assert(expr: unknown, msg = ""): asserts expr {
  if (!expr) throw new AssertionError(msg);
}

export function assertFalse(expr: unknown, msg = ""): void {
  if (expr) throw new AssertionError(msg);
}

export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  try {
    nodeAssert.deepStrictEqual(actual, expected);
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    throw new AssertionError(`Values are not equal${msg ? `: ${msg}` : ""}\n${detail}`);
  }
}

export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  try {
    nodeAssert.notDeepStrictEqual(actual, expected);
  } catch {
    throw new AssertionError(msg ?? `Expected actual: ${String(actual)} not to be: ${expected}`);
  }
}

export function assertStrictEquals<T>(
  actual: unknown,
  expected: T,
  msg?: string,
): asserts actual is T {
  if (!Object.is(actual, expected)) {
    throw new AssertionError(`Values are not strictly equal${suffix(msg)}`);
  }
}

export function assertNotStrictEquals<T>(actual: T, expected: T, msg?: string): void {
  if (Object.is(actual, expected)) {
    throw new AssertionError(msg ?? `Expected "actual" to not be strictly equal to: ${expected}`);
  }
}

export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance?: number,
  msg?: string,
): void {
  if (Object.is(actual, expected)) return;
  const delta = Math.abs(expected - actual);
  tolerance ??= Math.abs(expected * 1e-7);
  if (delta <= tolerance) return;
  throw new AssertionError(
    `Expected actual: "${actual}" to be close to "${expected}": delta "${delta}" is greater than "${tolerance}"${
      msg ? `: ${msg}` : ""
    }`,
  );
}

export function assertGreaterOrEqual<T>(actual: T, expected: T, msg?: string): void {
  if (actual >= expected) return;
  throw new AssertionError(msg ?? `Expect ${actual} >= ${expected}`);
}

export function assertMatch(actual: string, expected: RegExp, msg?: string): void {
  if (expected.test(actual)) return;
  throw new AssertionError(msg ?? `Expected actual: "${actual}" to match: "${expected}"`);
}

export function assertStringIncludes(actual: string, expected: string, msg?: string): void {
  if (actual.includes(expected)) return;
  throw new AssertionError(msg ?? `Expected actual: "${actual}" to contain: "${expected}".`);
}

// deno-lint-ignore no-explicit-any
type ErrorClass<E extends Error> = abstract new (...args: any[]) => E;

export function assertIsError<E extends Error = Error>(
  error: unknown,
  ErrorClass?: ErrorClass<E>,
  msgMatches?: string | RegExp,
  msg?: string,
): asserts error is E {
  const msgSuffix = msg ? `: ${msg}` : ".";
  if (!(error instanceof Error)) {
    throw new AssertionError(`Expected "error" to be an Error object${msgSuffix}`);
  }
  if (ErrorClass && !(error instanceof ErrorClass)) {
    throw new AssertionError(
      `Expected error to be instance of "${ErrorClass.name}", but was "${error.constructor.name}"${msgSuffix}`,
      { cause: error },
    );
  }
  if (msgMatches === undefined) return;
  const ok = typeof msgMatches === "string"
    ? error.message.includes(msgMatches)
    : msgMatches.test(error.message);
  if (!ok) {
    throw new AssertionError(
      `Expected error message to include ${JSON.stringify(String(msgMatches))}, but got ${
        JSON.stringify(error.message)
      }${msgSuffix}`,
      { cause: error },
    );
  }
}

export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  errorClassOrMsg?: ErrorClass<E> | string,
  msgIncludesOrMsg?: string,
  msg?: string,
): E {
  let ErrorClass: ErrorClass<E> | undefined;
  let msgIncludes: string | undefined;
  if (typeof errorClassOrMsg !== "string") {
    if (
      errorClassOrMsg === undefined || errorClassOrMsg.prototype instanceof Error ||
      errorClassOrMsg.prototype === Error.prototype
    ) {
      ErrorClass = errorClassOrMsg;
      msgIncludes = msgIncludesOrMsg;
    } else {
      msg = msgIncludesOrMsg;
    }
  } else {
    msg = errorClassOrMsg;
  }
  const msgSuffix = msg ? `: ${msg}` : ".";
  try {
    fn();
  } catch (error) {
    if (ErrorClass) {
      if (!(error instanceof Error)) {
        throw new AssertionError(`A non-Error object was thrown${msgSuffix}`);
      }
      assertIsError(error, ErrorClass, msgIncludes, msg);
    }
    return error as E;
  }
  throw new AssertionError(`Expected function to throw${msgSuffix}`);
}

export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  errorClassOrMsg?: ErrorClass<E> | string,
  msgIncludesOrMsg?: string,
  msg?: string,
): Promise<E> {
  let ErrorClass: ErrorClass<E> | undefined;
  let msgIncludes: string | undefined;
  if (typeof errorClassOrMsg !== "string") {
    if (
      errorClassOrMsg === undefined || errorClassOrMsg.prototype instanceof Error ||
      errorClassOrMsg.prototype === Error.prototype
    ) {
      ErrorClass = errorClassOrMsg;
      msgIncludes = msgIncludesOrMsg;
    }
  } else {
    msg = errorClassOrMsg;
  }
  const msgSuffix = msg ? `: ${msg}` : ".";
  let isPromiseReturned = false;
  try {
    const possiblePromise = fn();
    if (
      possiblePromise && typeof possiblePromise === "object" &&
      typeof possiblePromise.then === "function"
    ) {
      isPromiseReturned = true;
      await possiblePromise;
    } else {
      throw new Error();
    }
  } catch (error) {
    if (!isPromiseReturned) {
      throw new AssertionError(`Function throws when expected to reject${msgSuffix}`, {
        cause: error,
      });
    }
    if (ErrorClass) {
      if (!(error instanceof Error)) {
        throw new AssertionError(`A non-Error object was rejected${msgSuffix}`);
      }
      assertIsError(error, ErrorClass, msgIncludes, msg);
    }
    return error as E;
  }
  throw new AssertionError(`Expected function to reject${msgSuffix}`);
}

export function fail(msg?: string): never {
  throw new AssertionError(`Failed assertion${msg ? `: ${msg}` : "."}`);
}

export function unimplemented(msg?: string): never {
  throw new AssertionError(`Unimplemented${msg ? `: ${msg}` : "."}`);
}

export function unreachable(msg?: string): never {
  throw new AssertionError(`Unreachable${msg ? `: ${msg}` : "."}`);
}

/** @std/async's delay: rejects with the signal's reason when aborted. */
export function delay(
  ms: number,
  options: { signal?: AbortSignal; persistent?: boolean } = {},
): Promise<void> {
  const { signal, persistent = true } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const abort = () => {
      clearTimeout(i);
      reject(signal?.reason);
    };
    const done = () => {
      signal?.removeEventListener("abort", abort);
      resolve();
    };
    const i = setTimeout(done, ms);
    signal?.addEventListener("abort", abort, { once: true });
    if (persistent === false) Deno.unrefTimer(i);
  });
}

/** @std/bytes' copy. */
export function copy(src: Uint8Array, dst: Uint8Array, offset = 0): number {
  offset = Math.max(0, Math.min(offset, dst.byteLength));
  const available = dst.byteLength - offset;
  if (src.byteLength > available) src = src.subarray(0, available);
  dst.set(src, offset);
  return src.byteLength;
}

export const join: (...paths: string[]) => string = nodePath.join;
export const resolve: (...paths: string[]) => string = nodePath.resolve;

/** test_util.ts re-exports these; neither test file calls them. */
export const colors: Record<string, (s: string) => string> = {
  red: (s) => s,
  green: (s) => s,
  yellow: (s) => s,
  bold: (s) => s,
  gray: (s) => s,
};
export function parseArgs(): never {
  throw new Error("parseArgs: not provided here; no copied test uses it");
}

export interface Reader {
  read(p: Uint8Array): Promise<number | null>;
}
export interface Writer {
  write(p: Uint8Array): Promise<number>;
}
export interface WriterSync {
  writeSync(p: Uint8Array): number;
}
