/**
 * The OS edge of weave: libc FFI, the rtnetlink codec and socket, link/address/route/FDB
 * operations, network namespaces and TAP devices. Nothing here opens libc until first used.
 *
 * @module
 */

export * from "./libc.ts";
export * from "./netlink/codec.ts";
export * from "./netlink/socket.ts";
export * from "./link.ts";
export * from "./addr.ts";
export * from "./route.ts";
export * from "./neigh.ts";
export * from "./netns.ts";
export * from "./sysctl.ts";
export * from "./fd_owner.ts";
export * from "./tap.ts";
