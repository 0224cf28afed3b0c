/**
 * `weave setup-cni`: installs the plugins and the network configuration on
 * a host, safe to run again at any time (a runtime may be calling the
 * plugins meanwhile):
 *
 * - `<bin>/weave-net` and `<bin>/weave-ipam` are each written beside the
 *   target under a temporary name and renamed over it, so a runtime always
 *   finds a whole plugin. A compiled `weave` binary is copied as both names
 *   (it picks its role by file name); run from sources, each is a small
 *   shell script that runs this checkout's `./weave` launcher as that plugin
 *   (WEAVE_CNI_PLUGIN=weave-net, then `exec <checkout>/weave`).
 * - Self-contained (WEAVE_CNI_SELF_CONTAINED=1, set by the image of
 *   scripts/image.sh, whose paths the host cannot see): Deno and the bundle
 *   are copied into `<bin>/weave-ts/` and each plugin is a shell script that
 *   runs that copy, found beside the script itself, so it works wherever the
 *   host mounts the directory. Deno then uses the host's C library.
 * - `<conf>/10-weave.conflist` is written (atomically) only when there is
 *   none: an administrator's edits survive; an old `10-weave.conf` goes.
 *
 * @module
 */
import { writeFileAtomic } from "../lib/atomic_file.ts";
import { CONFLIST_NAME, OLD_CONF_NAME, weaveConflist } from "./conflist.ts";
import type { PluginName } from "./mode.ts";

/** Where `weave setup-cni` installs by default. */
export const DEFAULT_CNI_BIN_DIR = "/opt/cni/bin";
export const DEFAULT_CNI_CONF_DIR = "/etc/cni/net.d";
const PLUGINS: PluginName[] = ["weave-net", "weave-ipam"];

/** Options of {@link setupCni}. */
export interface SetupCniOptions {
  binDir?: string;
  confDir?: string;
  /** HAIRPIN_MODE's value. */
  hairpinMode?: string;
  /** This program: a compiled binary to copy, the `./weave` launcher of a checkout, or a bundle. */
  program?: Program;
}

/**
 * How the plugins run: `binary` (copied), `launcher` (a wrapper that runs it), `bundle` (Deno at
 * `path` and the bundle copied beside the plugins, run with the `deno run` flags `args`).
 */
export type Program =
  | { kind: "binary" | "launcher"; path: string }
  | { kind: "bundle"; path: string; bundle: string; args: string[] };

/** The directory under the plugins' where a self-contained install keeps Deno and the bundle. */
export const RUNTIME_DIR = "weave-ts";

/** What {@link setupCni} did. */
export interface SetupCniReport {
  plugins: string[];
  /** The conflist path when written now; undefined when one was there. */
  conflist?: string;
  removed?: string;
}

/**
 * Installs the plugins and, when missing, the conflist.
 *
 * @example
 * ```ts ignore
 * await setupCni({ binDir: "/opt/cni/bin", confDir: "/etc/cni/net.d" });
 * ```
 */
export async function setupCni(options: SetupCniOptions = {}): Promise<SetupCniReport> {
  const binDir = options.binDir ?? DEFAULT_CNI_BIN_DIR;
  const confDir = options.confDir ?? DEFAULT_CNI_CONF_DIR;
  const program = options.program ?? thisProgram();
  await Deno.mkdir(binDir, { recursive: true });
  const plugins: string[] = [];
  if (program.kind === "bundle") {
    await Deno.mkdir(`${binDir}/${RUNTIME_DIR}`, { recursive: true });
    await copyAtomic(program.path, `${binDir}/${RUNTIME_DIR}/deno`);
    await copyAtomic(program.bundle, `${binDir}/${RUNTIME_DIR}/weave.js`);
  }
  for (const name of PLUGINS) {
    const target = `${binDir}/${name}`;
    if (program.kind === "binary") await copyAtomic(program.path, target);
    else if (program.kind === "bundle") {
      await writeExecutableAtomic(target, bundleWrapperScript(name, program.args));
    } else await writeExecutableAtomic(target, wrapperScript(name, program.path));
    plugins.push(target);
  }
  const report: SetupCniReport = { plugins };
  await Deno.mkdir(confDir, { recursive: true });
  const conflist = `${confDir}/${CONFLIST_NAME}`;
  if (!(await exists(conflist))) {
    await writeFileAtomic(conflist, weaveConflist(options.hairpinMode));
    await Deno.chmod(conflist, 0o644);
    report.conflist = conflist;
  }
  const old = `${confDir}/${OLD_CONF_NAME}`;
  try {
    await Deno.remove(old);
    report.removed = old;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return report;
}

/**
 * The wrapper installed as plugin `name` when weave runs from its sources.
 *
 * @example
 * ```ts
 * import { wrapperScript } from "./install.ts";
 * wrapperScript("weave-net", "/src/weave/weave").includes("exec '/src/weave/weave'"); // true
 * ```
 */
export function wrapperScript(name: PluginName, launcher: string): string {
  const quoted = `'${launcher.replaceAll("'", `'\\''`)}'`;
  return [
    "#!/bin/sh",
    `# ${name}: weave's CNI plugin, run from the checkout of ${launcher} (weave setup-cni)`,
    `WEAVE_CNI_PLUGIN=${name}`,
    "export WEAVE_CNI_PLUGIN",
    `exec ${quoted} "$@"`,
    "",
  ].join("\n");
}

/**
 * The script installed as plugin `name` by a self-contained install: runs the copy of Deno and
 * the bundle in `weave-ts/` beside itself (CNI runtimes run plugins by their full path).
 *
 * @example
 * ```ts
 * import { bundleWrapperScript } from "./install.ts";
 * bundleWrapperScript("weave-net", ["--allow-all"]).includes(" '--allow-all' "); // true
 * ```
 */
export function bundleWrapperScript(name: PluginName, args: readonly string[]): string {
  const flags = args.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
  return [
    "#!/bin/sh",
    `# ${name}: weave's CNI plugin, self-contained: Deno and the bundle in ${RUNTIME_DIR}/ beside it`,
    `# (weave setup-cni)`,
    `WEAVE_CNI_PLUGIN=${name}`,
    "export WEAVE_CNI_PLUGIN",
    `dir="\${0%/*}/${RUNTIME_DIR}"`,
    `exec "$dir/deno" run --quiet --no-config ${flags} "$dir/weave.js" "$@"`,
    "",
  ].join("\n");
}

/** The environment variable that asks for a self-contained install (set in the image). */
export const ENV_SELF_CONTAINED = "WEAVE_CNI_SELF_CONTAINED";

/**
 * This program as a self-contained install: Deno (`Deno.execPath()`) and the bundle it runs,
 * with the `deno run` flags `args`. Run from the sources (no bundle to copy) it throws.
 */
export function selfContainedProgram(args: string[]): Program {
  const main = Deno.mainModule;
  if (!main.startsWith("file:") || !main.endsWith(".js")) {
    throw new Error(`${ENV_SELF_CONTAINED}=1 needs weave run from its bundle, not ${main}`);
  }
  return {
    kind: "bundle",
    path: Deno.execPath(),
    bundle: decodeURIComponent(new URL(main).pathname),
    args,
  };
}

/** A compiled binary (`deno compile`) or, run by `deno`, the launcher of this checkout. */
export function thisProgram(): { kind: "binary" | "launcher"; path: string } {
  const exec = Deno.execPath();
  const base = exec.slice(exec.lastIndexOf("/") + 1);
  if (base !== "deno") return { kind: "binary", path: exec };
  // cni/install.ts, or dist/weave.js when bundled: the launcher is one level up either way.
  return {
    kind: "launcher",
    path: decodeURIComponent(new URL("../weave", import.meta.url).pathname),
  };
}

async function copyAtomic(from: string, to: string): Promise<void> {
  const tmp = `${to}.tmp-${Deno.pid}`;
  try {
    await Deno.copyFile(from, tmp);
    await Deno.chmod(tmp, 0o755);
    await Deno.rename(tmp, to);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

async function writeExecutableAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}`;
  try {
    await Deno.writeTextFile(tmp, text, { mode: 0o755 });
    await Deno.chmod(tmp, 0o755);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
