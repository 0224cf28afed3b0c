/**
 * Polling with a deadline and a useful failure message, for tests that wait on eventually
 * consistent state (connections established, routes learned, names gossiped).
 *
 * @module
 */

/** Options of {@link waitFor}. */
export interface WaitOptions {
  /** Give up after this long; 10 s by default. */
  timeoutMs?: number;
  /** Pause between two probes; 200 ms by default. */
  intervalMs?: number;
  /** What is awaited, for the error message ("3 hosts with 2 established connections"). */
  what: string;
}

/**
 * Calls `probe` until it returns exactly `true`. Anything else it returns (a string describing
 * the current state, say) is remembered as the last observed value, as is the message of an error
 * it throws; on time-out the error names `what`, the time waited and that last value.
 *
 * @example
 * ```ts
 * let probes = 0;
 * await waitFor(() => ++probes === 3 || `${probes} probe(s) so far`, {
 *   what: "the third probe",
 *   intervalMs: 1,
 * });
 * probes; // 3
 * ```
 *
 * @example Waiting on a namespace test network
 * ```ts ignore
 * import { TestNet } from "./netns.ts";
 * await using net = await TestNet.create({ hosts: 3 });
 * await waitFor(async () => {
 *   const { stdout } = await net.weave(1, ["status"]);
 *   return /Connections: 2 \(2 established\)/.test(stdout) || stdout;
 * }, { what: "h1 connected to both peers", timeoutMs: 30_000 });
 * ```
 */
export async function waitFor(
  probe: () => unknown | Promise<unknown>,
  opts: WaitOptions,
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 200;
  const deadline = Date.now() + timeoutMs;
  let observed: unknown = "nothing yet";
  for (;;) {
    try {
      const value = await probe();
      if (value === true) return;
      observed = value;
    } catch (e) {
      observed = `error: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(intervalMs, deadline - Date.now()))
    );
  }
  throw new Error(
    `Cannot wait for ${opts.what}: timed out after ${timeoutMs} ms; last observed: ${
      describe(observed)
    }`,
  );
}

/**
 * {@link waitFor} for a synchronous condition, the shape unit tests use: polls `ok` every
 * `intervalMs` until it is true, or fails after `timeoutMs` naming `what`.
 *
 * @example
 * ```ts
 * let established = false;
 * setTimeout(() => established = true, 30);
 * await waitUntil("an established connection", () => established, 8_000);
 * ```
 */
export function waitUntil(
  what: string,
  ok: () => boolean,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<void> {
  return waitFor(ok, { what, timeoutMs, intervalMs });
}

function describe(value: unknown): string {
  if (typeof value === "string") return value.includes("\n") ? `\n${value}` : JSON.stringify(value);
  try {
    return JSON.stringify(value, (_k, v) => typeof v === "bigint" ? v.toString() : v) ??
      "undefined";
  } catch {
    return String(value);
  }
}
