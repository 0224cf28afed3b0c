/**
 * What the HTTP API needs from the router. `api/` never imports `router/`: the
 * router hands an object of this shape to the server, and tests hand a fake.
 *
 * @module
 */
import type { WeaveReport } from "./report.ts";

/** An error whose message goes back to the client with an HTTP status. */
export class ApiError extends Error {
  /** HTTP status code to answer with (400 for bad input, 404 unknown, 503 not ready). */
  readonly status: number;
  constructor(status: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ApiError";
    this.status = status;
  }
}

/**
 * An extra route contributed by a subsystem (IPAM's `/ip/...`, DNS's `/name/...`,
 * the data plane's `/attach`...). The first route whose method and pattern match
 * handles the request; `params` are the pattern's named groups (URL-decoded).
 */
export interface ApiRoute {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Matched against the URL path, e.g. `/^\/ip\/(?<id>[^/]+)$/`. */
  pattern: RegExp;
  /** `control`: HTTP address and unix socket only; `status`: also the status address. */
  scope: "control" | "status";
  handle(req: Request, params: Record<string, string>, url: URL): Response | Promise<Response>;
}

/** Operations the router offers to the control API. */
export interface RouterOps {
  /** A fresh status snapshot. */
  report(): WeaveReport;
  /** Adds peers (`host[:port]`) to the targets, or replaces the targets with them; throws ApiError(400) on a bad address. */
  connect(peers: string[], replace: boolean): void;
  /** Removes peers from the targets (and drops their retry state). */
  forget(peers: string[]): void;
  /** Stops the router (used by `weave stop`); resolves once it is stopping. */
  stop(): Promise<void>;
  /** Subsystem routes, tried before answering 404 (optional). */
  routes?: ApiRoute[];
}
