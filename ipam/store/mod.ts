/**
 * Where the allocator keeps its state: the {@link IpamStore} seam with its
 * atomicity contract, the file store (state file plus checksummed journal,
 * the only code that touches the disk), the JSON form of the state, and the
 * in-memory fake for tests.
 *
 * @module
 */
export * from "./store.ts";
export * from "./store_error.ts";
export { decodeIpamState, encodeIpamState, type IpamStateJson } from "./state_json.ts";
export * from "./file_store.ts";
export * from "./fake_store.ts";
