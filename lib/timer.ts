/**
 * The handle type of `setTimeout`/`setInterval` (a `Timeout` object in Deno 2.9's
 * Node-compatible typing, a number in older ones).
 *
 * @module
 */
export type TimerId = ReturnType<typeof setTimeout>;
