/**
 * Which weave instance this process belongs to: one router per network
 * namespace, named after the namespace. The only impure part of the CLI's
 * addressing: it stats `/proc/self/ns/net`, `/proc/1/ns/net` and `/run/netns/*`.
 *
 * @module
 */

/** Identity of a namespace file (device and inode of its nsfs entry). */
export interface NsId {
  dev: number;
  ino: number;
}

/**
 * Names an instance from namespace identities: the `ip netns` name whose file
 * matches ours, `default` for the initial namespace, else `netns-<inode>`.
 *
 * @example
 * ```ts
 * import { instanceNameFrom } from "./instance.ts";
 * instanceNameFrom({ dev: 4, ino: 9 }, { dev: 4, ino: 9 }, []); // "default"
 * ```
 */
export function instanceNameFrom(
  self: NsId,
  init: NsId | undefined,
  named: (NsId & { name: string })[],
): string {
  const same = (a: NsId) => a.dev === self.dev && a.ino === self.ino;
  const match = named.find(same);
  if (match) return match.name;
  if (init && same(init)) return "default";
  return `netns-${self.ino}`;
}

function statNs(path: string): NsId | undefined {
  try {
    const info = Deno.statSync(path);
    return info.ino === null ? undefined : { dev: info.dev, ino: info.ino };
  } catch {
    return undefined;
  }
}

/**
 * The instance name of the current network namespace.
 *
 * Deno 2.9 lets a program stat `/proc/self/ns/net` only under `--allow-all`,
 * so besides stat (tried first) this asks `ip netns identify` for the name
 * and `readlink` for the namespace inodes (`--allow-run`). An unnamed
 * namespace that cannot be told apart from the initial one is `default`.
 */
export function detectInstance(): string {
  const self = statNs("/proc/self/ns/net");
  if (self) {
    const named: (NsId & { name: string })[] = [];
    try {
      for (const entry of Deno.readDirSync("/run/netns")) {
        const id = statNs(`/run/netns/${entry.name}`);
        if (id && /^[A-Za-z0-9_.-]+$/.test(entry.name)) named.push({ ...id, name: entry.name });
      }
    } catch {
      // No named namespaces.
    }
    return instanceNameFrom(self, statNs("/proc/1/ns/net"), named);
  }
  const name = commandOutput("ip", ["netns", "identify"]);
  if (name && /^[A-Za-z0-9_.-]+$/.test(name)) return name;
  const own = /\[(\d+)\]/.exec(commandOutput("readlink", ["/proc/self/ns/net"]) ?? "")?.[1];
  const init = /\[(\d+)\]/.exec(commandOutput("readlink", ["/proc/1/ns/net"]) ?? "")?.[1];
  return own && init && own !== init ? `netns-${own}` : "default";
}

function commandOutput(cmd: string, args: string[]): string | undefined {
  try {
    const out = new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).outputSync();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

/** Default control socket of an instance. */
export function defaultSocketPath(instance: string): string {
  return `/run/weave/${instance}/weave.sock`;
}

/** Default state file prefix of an instance. */
export function defaultDbPrefix(instance: string): string {
  return `/var/lib/weave/${instance}/weave`;
}
