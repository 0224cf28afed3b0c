/**
 * The library surface of weave, for tests and embedding: re-exports only, no
 * side effects.
 *
 * @module
 */
export { VERSION } from "./lib/version.ts";
export {
  createLogger,
  discardLogger,
  type Level,
  type Logger,
  memoryLogger,
  parseLevel,
} from "./lib/log.ts";
export {
  formatPeerName,
  parsePeerName,
  type PeerName,
  peerNameFromBytes,
} from "./lib/peer_name.ts";
export type { WeaveReport } from "./api/report.ts";
export { ApiError, type RouterOps } from "./api/ops.ts";
export { type GoJsonOptions, toGoJson } from "./lib/go/json.ts";
export {
  renderConnections,
  renderDns,
  renderIpam,
  renderPeers,
  renderStatus,
  renderTargets,
} from "./api/render_status.ts";
export { executeTemplate, TemplateError } from "./lib/go/template.ts";
export {
  METRICS_CONTENT_TYPE,
  type ProcessStats,
  readProcessStats,
  renderMetrics,
} from "./api/metrics.ts";
export { type ApiServerOptions, type ApiServers, startApiServers } from "./api/server.ts";
export { ApiClient, type ApiResponse, type ApiTarget, NotRunningError } from "./api/client.ts";
export { FakeRouterOps } from "./api/fake_ops.ts";
export { parseWeaverArgs, type WeaverConfig } from "./router/config.ts";
export { runCli } from "./cli/main.ts";
