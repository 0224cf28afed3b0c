/**
 * The CNI plugins `weave-net` and `weave-ipam`: network config, spec versions
 * and results, coded errors, the router's IPAM over HTTP, the pod plumbing
 * seam with its kernel implementation and fakes, the process runner, and
 * `weave setup-cni`'s installation.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./version.ts";
export * from "./env.ts";
export * from "./config.ts";
export * from "./result.ts";
export * from "./router_ipam.ts";
export * from "./plumbing.ts";
export * from "./records.ts";
export * from "./mode.ts";
export * from "./conflist.ts";
export * from "./install.ts";
export * from "./gc.ts";
export type { CommandOutput, Invocation, PluginDeps } from "./deps.ts";
export { type Delegate, execDelegate } from "./delegate.ts";
export { podRoutes, runNetPlugin } from "./net_plugin.ts";
export { runIpamPlugin } from "./ipam_plugin.ts";
export { type CniIo, processIo, realDeps, runCni, runCniProcess } from "./main.ts";
export { kernelPlumbing } from "./pod.ts";
export { cniPsLines, formatPsLines, listCniPods, type PsEntry } from "./ps.ts";
export { FakeIpam } from "./fake_ipam.ts";
export { FakePlumbing } from "./fake_plumbing.ts";
