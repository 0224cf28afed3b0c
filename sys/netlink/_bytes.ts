/**
 * Bounds checks and a DataView shared by the netlink codec files (private to this folder).
 *
 * @module
 */

/** Throws RangeError unless `n` bytes can be read at `offset` of `bytes`. */
export function need(bytes: Uint8Array, offset: number, n: number, what: string): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + n > bytes.length) {
    const have = Math.max(0, bytes.length - (Number.isInteger(offset) ? offset : 0));
    throw new RangeError(
      `Cannot decode ${what}: need ${n} bytes at offset ${offset}, have ${have}`,
    );
  }
}

/** Throws RangeError unless `n` bytes can be written at `offset` of `bytes`. */
export function room(bytes: Uint8Array, offset: number, n: number, what: string): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + n > bytes.length) {
    throw new RangeError(
      `Cannot encode ${what}: need ${n} bytes at offset ${offset}, buffer is ${bytes.length}`,
    );
  }
}

/** A DataView over exactly the bytes of `bytes`. */
export function dv(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
