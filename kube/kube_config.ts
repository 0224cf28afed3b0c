/**
 * Where the Kubernetes API is and how to authenticate to it, as client-go
 * finds it: in a pod, the service account (token and CA under
 * `/var/run/secrets/kubernetes.io/serviceaccount/`, the API at
 * `KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT`); outside one (a test
 * host), a kubeconfig as kubectl reads it (`KUBECONFIG`, else
 * `~/.kube/config`): the current context's cluster (server, CA file or
 * data) and user (token, token file, or client certificate and key, files
 * or data). Parsing is pure: files are read through the `read` function
 * passed in; {@link loadKubeConfig} is the edge that reads the real ones.
 *
 * @module
 */
import YAML from "yaml";

/** The service account mount in a pod. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** How to reach the API. */
export interface KubeConfig {
  /** `https://host:port` (no trailing slash). */
  server: string;
  token?: string;
  /** PEM of the cluster's CA. */
  caCert?: string;
  /** PEM of a client certificate and its key (kubeconfig users). */
  clientCert?: string;
  clientKey?: string;
  /** The namespace of the service account or context, when known. */
  namespace?: string;
}

/** No usable configuration; the message says what is missing. */
export class KubeConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "KubeConfigError";
  }
}

type Env = Readonly<Record<string, string | undefined>>;
/** Reads a file as text; throws when it cannot. */
export type ReadText = (path: string) => string;

function hostPortUrl(host: string, port: string): string {
  return `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/**
 * The in-cluster configuration, or undefined when not in a pod
 * (`KUBERNETES_SERVICE_HOST` unset).
 *
 * @example
 * ```ts
 * import { inClusterConfig } from "./kube_config.ts";
 * const files: Record<string, string> = {
 *   "/var/run/secrets/kubernetes.io/serviceaccount/token": "abc\n",
 *   "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt": "PEM",
 * };
 * const read = (p: string) => files[p] ?? (() => { throw new Error(`no ${p}`); })();
 * inClusterConfig({ KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" }, read)?.server;
 * // "https://10.96.0.1:443"
 * ```
 */
export function inClusterConfig(env: Env, read: ReadText): KubeConfig | undefined {
  const host = env.KUBERNETES_SERVICE_HOST, port = env.KUBERNETES_SERVICE_PORT;
  if (!host) return undefined;
  if (!port || !/^\d{1,5}$/.test(port)) {
    throw new KubeConfigError(
      `Cannot use the in-cluster API: KUBERNETES_SERVICE_PORT=${
        JSON.stringify(port ?? "")
      } is not a port`,
    );
  }
  const file = (name: string, optional = false) => {
    try {
      return read(`${SERVICE_ACCOUNT_DIR}/${name}`);
    } catch (cause) {
      if (optional) return undefined;
      throw new KubeConfigError(
        `Cannot use the in-cluster API: no service account ${name} in ${SERVICE_ACCOUNT_DIR} (is automountServiceAccountToken off?)`,
        { cause },
      );
    }
  };
  const config: KubeConfig = {
    server: hostPortUrl(host, port),
    token: file("token")!.trim(),
    caCert: file("ca.crt"),
  };
  const ns = file("namespace", true)?.trim();
  if (ns) config.namespace = ns;
  return config;
}

type Named<T> = { name?: string } & T;
interface KubeconfigDoc {
  "current-context"?: string;
  clusters?: Named<{ cluster?: Record<string, unknown> }>[];
  users?: Named<{ user?: Record<string, unknown> }>[];
  contexts?: Named<{ context?: { cluster?: string; user?: string; namespace?: string } }>[];
}

function named<T>(list: Named<T>[] | undefined, name: string | undefined, what: string): T {
  const found = (list ?? []).find((x) => x?.name === name);
  if (!found) throw new KubeConfigError(`Cannot use kubeconfig: no ${what} "${name ?? ""}"`);
  return found;
}

const b64 = (s: string) =>
  new TextDecoder().decode(Uint8Array.from(atob(s), (c) => c.charCodeAt(0)));

/** `<key>-data` (base64) or `<key>` (a path, relative to the kubeconfig's folder). */
function material(
  o: Record<string, unknown>,
  key: string,
  dir: string,
  read: ReadText,
): string | undefined {
  const data = o[`${key}-data`];
  if (typeof data === "string" && data !== "") return b64(data);
  const path = o[key];
  if (typeof path !== "string" || path === "") return undefined;
  const full = path.startsWith("/") ? path : `${dir}/${path}`;
  try {
    return read(full);
  } catch (cause) {
    throw new KubeConfigError(`Cannot use kubeconfig: cannot read ${key} "${full}"`, { cause });
  }
}

/**
 * The configuration of a kubeconfig's current context (or `context`).
 * `dir` is the kubeconfig's folder, for relative paths.
 *
 * @example
 * ```ts
 * import { parseKubeconfig } from "./kube_config.ts";
 * const text = `
 * apiVersion: v1
 * current-context: test
 * clusters: [{name: c, cluster: {server: "http://127.0.0.1:8080"}}]
 * users: [{name: u, user: {token: t0k}}]
 * contexts: [{name: test, context: {cluster: c, user: u}}]
 * `;
 * parseKubeconfig(text, { dir: "/tmp", read: () => "" }).token; // "t0k"
 * ```
 */
export function parseKubeconfig(
  text: string,
  options: { dir: string; read: ReadText; context?: string },
): KubeConfig {
  let doc: KubeconfigDoc;
  try {
    doc = YAML.parse(text) ?? {};
  } catch (cause) {
    throw new KubeConfigError(`Cannot use kubeconfig: not YAML (${(cause as Error).message})`, {
      cause,
    });
  }
  const ctxName = options.context ?? doc["current-context"];
  if (!ctxName) throw new KubeConfigError("Cannot use kubeconfig: no current-context");
  const ctx = named(doc.contexts, ctxName, "context").context ?? {};
  const cluster = named(doc.clusters, ctx.cluster, "cluster").cluster ?? {};
  const user = ctx.user ? named(doc.users, ctx.user, "user").user ?? {} : {};
  const server = cluster.server;
  if (typeof server !== "string" || !/^https?:\/\/[^/]+/.test(server)) {
    throw new KubeConfigError(`Cannot use kubeconfig: cluster "${ctx.cluster}" has no server URL`);
  }
  if (cluster["insecure-skip-tls-verify"] === true) {
    throw new KubeConfigError(
      `Cannot use kubeconfig: cluster "${ctx.cluster}" sets insecure-skip-tls-verify, which is not supported; give its certificate-authority`,
    );
  }
  const { dir, read } = options;
  const config: KubeConfig = { server: server.replace(/\/+$/, "") };
  const ca = material(cluster, "certificate-authority", dir, read);
  if (ca) config.caCert = ca;
  const tokenFile = typeof user.tokenFile === "string" ? user.tokenFile : undefined;
  const token = typeof user.token === "string"
    ? user.token
    : tokenFile
    ? material({ t: tokenFile }, "t", dir, read)?.trim()
    : undefined;
  if (token) config.token = token;
  const cert = material(user, "client-certificate", dir, read);
  const key = material(user, "client-key", dir, read);
  if (cert && key) Object.assign(config, { clientCert: cert, clientKey: key });
  if (ctx.namespace) config.namespace = ctx.namespace;
  return config;
}

/**
 * The configuration of this process: in-cluster when in a pod, else the
 * first existing file of `KUBECONFIG` (colon-separated), else
 * `$HOME/.kube/config`. Throws {@link KubeConfigError} when there is none.
 */
export function loadKubeConfig(env: Env = Deno.env.toObject()): KubeConfig {
  const read: ReadText = (p) => Deno.readTextFileSync(p);
  const inCluster = inClusterConfig(env, read);
  if (inCluster) return inCluster;
  const candidates = env.KUBECONFIG
    ? env.KUBECONFIG.split(":").filter((p) => p !== "")
    : env.HOME
    ? [`${env.HOME}/.kube/config`]
    : [];
  for (const path of candidates) {
    let text: string;
    try {
      text = read(path);
    } catch {
      continue;
    }
    return parseKubeconfig(text, { dir: path.slice(0, path.lastIndexOf("/")) || "/", read });
  }
  throw new KubeConfigError(
    `Cannot find the Kubernetes API: not in a pod (KUBERNETES_SERVICE_HOST unset) and no kubeconfig (${
      candidates.join(", ") || "KUBECONFIG and HOME unset"
    })`,
  );
}
