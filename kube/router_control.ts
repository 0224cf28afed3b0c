/**
 * The few router calls the Kubernetes launcher makes, over the router's
 * HTTP API (`api/client.ts`), as Weave's kube-utils made them: readiness
 * (`GET /status`), our peer name (`GET /report`), rmpeer
 * (`DELETE /peer/<name>`), and the peer set (`POST /connect?replace=true`).
 *
 * @module
 */
import { ApiClient } from "../api/client.ts";

/** What the launcher asks of the router; a seam so tests can use a fake. */
export interface RouterControl {
  /** Whether the router answers its status page. */
  ready(): Promise<boolean>;
  /** Our peer name as the router uses it. */
  peerName(): Promise<string>;
  /** Takes over a dead peer's ranges; resolves to the router's answer. */
  rmpeer(peerName: string): Promise<string>;
  /** Replaces the router's connection targets with `peers`. */
  connect(peers: readonly string[]): Promise<void>;
}

/** {@link RouterControl} over the router's API at `httpAddr`. */
export function httpRouterControl(httpAddr: string): RouterControl {
  const api = new ApiClient({ httpAddr }, { timeoutMs: 10_000 });
  const ok = (what: string, r: { status: number; body: string }) => {
    if (r.status >= 300) throw new Error(`Router ${what}: ${r.status} ${r.body.trim()}`);
    return r.body;
  };
  return {
    async ready() {
      try {
        return (await api.get("/status")).status === 200;
      } catch {
        return false;
      }
    },
    async peerName() {
      const r = ok("report", await api.get("/report", { accept: "application/json" }));
      return (JSON.parse(r) as { Router: { Name: string } }).Router.Name;
    },
    async rmpeer(name) {
      return ok(`rmpeer ${name}`, await api.request("DELETE", `/peer/${encodeURIComponent(name)}`))
        .trim();
    },
    async connect(peers) {
      ok("connect", await api.post("/connect", { peer: [...peers], replace: "true" }));
    },
  };
}
