/**
 * A seeded xorshift32 generator for reproducible randomized tests (print the
 * seed on failure so a run can be replayed).
 *
 * @module
 */

/** Uniform numbers in [0, 1) from `seed` (0 is treated as 1). */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}
