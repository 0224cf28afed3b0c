/**
 * IPv4 addresses as numbers, ranges and their CIDR arithmetic (Weave's
 * `ipam/address`): pure.
 *
 * @module
 */
export * from "./address.ts";
