/**
 * What the plugin leaves for `weave ps`: one small JSON file per attached
 * pod (`<dir>/<container id>.json`: its namespace, interface and host veth),
 * written after ADD and removed by DEL. Nothing depends on it for
 * correctness: ADD, DEL and CHECK read the kernel and the router; only
 * `weave ps`, which cannot tell a pod's namespace from its host veth, reads
 * it. The directory is WEAVE_CNI_STATE_DIR, default `/run/weave/cni` (tmpfs:
 * gone at reboot, as the pods are).
 *
 * @module
 */

/** Where the records are. */
export const ENV_WEAVE_CNI_STATE_DIR = "WEAVE_CNI_STATE_DIR";
export const DEFAULT_STATE_DIR = "/run/weave/cni";

/** One attached pod. */
export interface PodRecord {
  containerId: string;
  netns: string;
  ifname: string;
  hostVeth: string;
  /** The plugin's (host's) network namespace, as `sys/netns.ts` `netnsId` names it. */
  hostNetns?: string;
}

/** The records' store; {@link fileRecords} is the real one. */
export interface Records {
  /** Records an attached pod (replacing an older record of the id). */
  write(record: PodRecord): void;
  /** Forgets `containerId`; an unknown id is fine. */
  remove(containerId: string): void;
  /** Every record (unreadable ones skipped). */
  list(): PodRecord[];
}

/**
 * Records as files under `dir`, each written under a temporary name and renamed.
 *
 * @example
 * ```ts ignore
 * fileRecords("/run/weave/cni").list(); // [{ containerId: "…", netns: "/proc/42/ns/net", … }]
 * ```
 */
export function fileRecords(dir: string = DEFAULT_STATE_DIR): Records {
  const file = (id: string) => `${dir}/${id}.json`;
  return {
    write(record) {
      Deno.mkdirSync(dir, { recursive: true });
      const tmp = `${file(record.containerId)}.tmp-${Deno.pid}`;
      Deno.writeTextFileSync(tmp, JSON.stringify(record) + "\n");
      Deno.renameSync(tmp, file(record.containerId));
    },
    remove(containerId) {
      try {
        Deno.removeSync(file(containerId));
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    },
    list() {
      const out: PodRecord[] = [];
      let entries: Deno.DirEntry[];
      try {
        entries = [...Deno.readDirSync(dir)];
      } catch {
        return [];
      }
      for (const e of entries) {
        if (!e.isFile || !e.name.endsWith(".json")) continue;
        try {
          const r = JSON.parse(Deno.readTextFileSync(`${dir}/${e.name}`)) as PodRecord;
          if (typeof r.containerId === "string" && typeof r.netns === "string") out.push(r);
        } catch { /* being replaced, or not ours */ }
      }
      return out.sort((a, b) => (a.containerId < b.containerId ? -1 : 1));
    },
  };
}

/** Records in memory, for tests. */
export function memoryRecords(): Records & { map: Map<string, PodRecord> } {
  const map = new Map<string, PodRecord>();
  return {
    map,
    write: (r) => void map.set(r.containerId, { ...r }),
    remove: (id) => void map.delete(id),
    list: () => [...map.values()],
  };
}
