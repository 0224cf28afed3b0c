/**
 * The free and allocated addresses of the ranges one peer owns (Weave's
 * `ipam/space`): pure.
 *
 * @module
 */
export * from "./space.ts";
