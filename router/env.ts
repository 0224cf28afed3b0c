/**
 * Every environment variable the router and the `weave` CLI read, in one
 * place (the names Weave Net's script and Kubernetes manifests use).
 *
 * @module
 */

/** Peer port (`--port`), default 6783. */
export const ENV_WEAVE_PORT = "WEAVE_PORT";
/** Encryption password (`--password`). */
export const ENV_WEAVE_PASSWORD = "WEAVE_PASSWORD";
/** Connection limit (`--conn-limit`), default 200. */
export const ENV_CONN_LIMIT = "CONN_LIMIT";
/** Control API address (`--http-addr`); also where the CLI looks for the router. */
export const ENV_WEAVE_HTTP_ADDR = "WEAVE_HTTP_ADDR";
/** Status/metrics address (`--status-addr`). */
export const ENV_WEAVE_STATUS_ADDR = "WEAVE_STATUS_ADDR";
/** Metrics-only address (`--metrics-addr`). */
export const ENV_WEAVE_METRICS_ADDR = "WEAVE_METRICS_ADDR";
/** Datapath MTU (`--mtu`), default 1376. */
export const ENV_WEAVE_MTU = "WEAVE_MTU";
/** Any non-empty value forces sleeve (`--no-fastdp`). */
export const ENV_WEAVE_NO_FASTDP = "WEAVE_NO_FASTDP";
/** IPAM range (`--ipalloc-range`), default 10.32.0.0/12. */
export const ENV_IPALLOC_RANGE = "IPALLOC_RANGE";
/** IPAM initialisation (`--ipalloc-init`). */
export const ENV_IPALLOC_INIT = "IPALLOC_INIT";
