/**
 * Weave with Docker: the Engine API client, containers by Docker name, the
 * Docker API proxy (`weave env`), and the Docker network plugin
 * (`--net=weave`), started together by {@link startDockerServices}.
 * Re-exports only, no side effects.
 *
 * @module
 */
export {
  type ContainerInfo,
  type ContainerNetwork,
  DockerApiError,
  DockerClient,
  type DockerEvent,
  DockerUnavailableError,
  NoSuchContainerError,
} from "./client.ts";
export {
  DEFAULT_DOCKER_HOST,
  type DockerEndpoint,
  dockerEndpointFrom,
  formatDockerHost,
  parseDockerHost,
} from "./endpoint.ts";
export {
  DOCKER_BOOL_FLAGS,
  DOCKER_VALUE_FLAGS,
  type DockerConfig,
  parseDockerConfig,
} from "./config.ts";
export { type DockerServices, startDockerServices } from "./services.ts";
export { ContainerNotFoundError, dockerFqdn, resolveContainerArg } from "./resolve.ts";
export { NetworkPlugin, type PluginEffects } from "./plugin.ts";
export { DockerProxy, type ProxyEffects } from "./proxy_server.ts";
export {
  DEFAULT_PROXY_CONFIG,
  type ProxyConfig,
  rewriteCreate,
  rewriteInspect,
  rewriteStart,
  weaveCidrs,
} from "./proxy_rewrite.ts";
export { proxyAddrsRoute } from "./proxy_http.ts";
