/**
 * An in-memory {@link RouterOps} for tests of the API server, the client and
 * the CLI: serves a given report and records what it was asked to do.
 *
 * @module
 */
import { ApiError, type ApiRoute, type RouterOps } from "./ops.ts";
import type { WeaveReport } from "./report.ts";

/** Records of calls made on a {@link FakeRouterOps}. */
export interface FakeCall {
  op: "connect" | "forget" | "stop";
  peers?: string[];
  replace?: boolean;
}

/**
 * A fake router: `report()` returns `this.current`; `connect` rejects peers
 * containing a space with ApiError(400), as a router rejects bad addresses.
 *
 * @example
 * ```ts ignore
 * const ops = new FakeRouterOps(report);
 * ops.connect(["10.0.0.2"], false);
 * ops.calls; // [{ op: "connect", peers: ["10.0.0.2"], replace: false }]
 * ```
 */
export class FakeRouterOps implements RouterOps {
  readonly calls: FakeCall[] = [];
  /** Called by `stop()` after recording, e.g. to close the servers. */
  onStop: () => Promise<void> = () => Promise.resolve();

  /** Subsystem routes, as a real router would contribute them. */
  routes: ApiRoute[] = [];

  constructor(public current: WeaveReport) {}

  report(): WeaveReport {
    return this.current;
  }

  connect(peers: string[], replace: boolean): void {
    const bad = peers.find((p) => p.includes(" ") || p === "");
    if (bad !== undefined) throw new ApiError(400, `invalid peer address "${bad}"`);
    this.calls.push({ op: "connect", peers, replace });
  }

  forget(peers: string[]): void {
    this.calls.push({ op: "forget", peers });
  }

  async stop(): Promise<void> {
    this.calls.push({ op: "stop" });
    await this.onStop();
  }
}
