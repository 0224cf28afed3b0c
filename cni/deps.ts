/**
 * What a plugin command is given: the invocation (environment and stdin)
 * and its edges (IPAM, kernel, delegated plugins), so the command logic is
 * tested with fakes (`fake_ipam.ts`, `fake_plumbing.ts`).
 *
 * @module
 */
import type { Delegate } from "./delegate.ts";
import type { CniArgs } from "./env.ts";
import type { Plumbing } from "./plumbing.ts";
import type { Records } from "./records.ts";
import type { Ipam } from "./router_ipam.ts";

/** One run of a plugin. */
export interface Invocation {
  args: CniArgs;
  /** stdin as text. */
  stdin: string;
}

/** The edges. */
export interface PluginDeps {
  ipam: Ipam;
  /** The kernel work; made on first use (VERSION, STATUS and GC never need it). */
  plumbing: () => Plumbing;
  delegate: Delegate;
  /** Where attached pods are recorded for `weave ps`; none: not recorded. */
  records?: Records;
  /** GC keeps an owner when this says so (a `weave attach` container); default: never. */
  keepOwner?: (id: string) => boolean;
}

/** What a command prints on success: a JSON object, or nothing. */
export type CommandOutput = Record<string, unknown> | undefined;
