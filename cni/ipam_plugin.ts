/**
 * `weave-ipam`: the router's IPAM as a CNI IPAM plugin for other main
 * plugins (Weave's plugin/ipam/cni.go): ADD answers an address (in
 * `ipam.subnet` when set) with `ipam.gateway` and `ipam.routes`; DEL releases
 * it (forgiving as DEL must be); CHECK asks whether the router still holds
 * it; STATUS and GC as `weave-net`'s.
 *
 * @module
 */
import { type NetConf, parseNetConf } from "./config.ts";
import type { CommandOutput, Invocation, PluginDeps } from "./deps.ts";
import { CniCode, CniError } from "./errors.ts";
import { gcCommand, statusCommand } from "./common.ts";
import { encodeResult } from "./result.ts";
import { requireCommandIn } from "./version.ts";

/**
 * Runs one `weave-ipam` command (not VERSION).
 *
 * @example
 * ```ts ignore
 * await runIpamPlugin({ args, stdin }, deps); // ADD: { cniVersion, ips: [...], dns: {} }
 * ```
 */
export async function runIpamPlugin(inv: Invocation, deps: PluginDeps): Promise<CommandOutput> {
  const id = inv.args.containerId;
  switch (inv.args.command) {
    case "ADD": {
      const conf = parseNetConf(inv.stdin);
      const address = await deps.ipam.allocate(id, conf.ipam.subnet);
      return encodeResult({
        interfaces: [],
        ips: [{ address, gateway: conf.ipam.gateway }],
        routes: conf.ipam.routes ?? [],
        dns: {},
      }, conf.cniVersion);
    }
    case "DEL":
      await deps.ipam.release(id);
      return undefined;
    case "CHECK": {
      const conf: NetConf = parseNetConf(inv.stdin);
      requireCommandIn("CHECK", conf.cniVersion);
      const held = (await deps.ipam.owned()).some((o) => o.containerid === id);
      if (!held) {
        throw new CniError(
          CniCode.CheckFailed,
          `CHECK of ${id} failed: the router holds no address for it`,
        );
      }
      return undefined;
    }
    case "STATUS":
      return statusCommand(inv, deps);
    case "GC":
      return gcCommand(inv, deps);
    default:
      throw new CniError(CniCode.InvalidEnv, `Cannot run ${inv.args.command} here`);
  }
}
