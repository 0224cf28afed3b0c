import assert from "node:assert/strict";
import {
  inClusterConfig,
  KubeConfigError,
  loadKubeConfig,
  parseKubeconfig,
  SERVICE_ACCOUNT_DIR,
} from "./kube_config.ts";

function reader(files: Record<string, string>) {
  return (p: string) => {
    if (p in files) return files[p];
    throw new Deno.errors.NotFound(p);
  };
}

const SA = {
  [`${SERVICE_ACCOUNT_DIR}/token`]: "tok\n",
  [`${SERVICE_ACCOUNT_DIR}/ca.crt`]: "CA PEM",
  [`${SERVICE_ACCOUNT_DIR}/namespace`]: "kube-system",
};

Deno.test("inClusterConfig reads the service account and KUBERNETES_SERVICE_HOST/PORT", () => {
  const env = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };
  assert.deepEqual(inClusterConfig(env, reader(SA)), {
    server: "https://10.96.0.1:443",
    token: "tok",
    caCert: "CA PEM",
    namespace: "kube-system",
  });
  const v6 = { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "6443" };
  assert.equal(inClusterConfig(v6, reader(SA))!.server, "https://[fd00::1]:6443");
  assert.equal(inClusterConfig({}, reader(SA)), undefined);
  assert.throws(
    () => inClusterConfig({ KUBERNETES_SERVICE_HOST: "h" }, reader(SA)),
    /KUBERNETES_SERVICE_PORT="" is not a port/,
  );
  assert.throws(() => inClusterConfig(env, reader({})), (e: Error) => {
    assert.ok(e instanceof KubeConfigError);
    assert.match(e.message, /no service account token in .*automountServiceAccountToken/);
    return true;
  });
});

const KUBECONFIG = `
apiVersion: v1
kind: Config
current-context: admin@test
clusters:
- name: test
  cluster:
    server: https://192.0.2.10:6443/
    certificate-authority-data: ${btoa("CA DATA")}
- name: other
  cluster:
    server: http://127.0.0.1:8080
    certificate-authority: pki/ca.crt
users:
- name: admin
  user:
    client-certificate-data: ${btoa("CERT")}
    client-key-data: ${btoa("KEY")}
- name: bot
  user:
    tokenFile: /run/token
contexts:
- name: admin@test
  context: {cluster: test, user: admin, namespace: kube-system}
- name: bot@other
  context: {cluster: other, user: bot}
`;

Deno.test("parseKubeconfig takes the current context's cluster and user, data or files", () => {
  const read = reader({ "/etc/kube/pki/ca.crt": "CA FILE", "/run/token": " t0k\n" });
  assert.deepEqual(parseKubeconfig(KUBECONFIG, { dir: "/etc/kube", read }), {
    server: "https://192.0.2.10:6443",
    caCert: "CA DATA",
    clientCert: "CERT",
    clientKey: "KEY",
    namespace: "kube-system",
  });
  assert.deepEqual(parseKubeconfig(KUBECONFIG, { dir: "/etc/kube", read, context: "bot@other" }), {
    server: "http://127.0.0.1:8080",
    caCert: "CA FILE",
    token: "t0k",
  });
});

Deno.test("parseKubeconfig: clear errors for what it cannot use", () => {
  const read = reader({});
  const table: [string, RegExp][] = [
    ["a: [", /not YAML/],
    ["apiVersion: v1", /no current-context/],
    ["current-context: x", /no context "x"/],
    ["current-context: x\ncontexts: [{name: x, context: {cluster: c}}]", /no cluster "c"/],
    [
      "current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\nclusters: [{name: c, cluster: {}}]",
      /cluster "c" has no server URL/,
    ],
    [
      "current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\nclusters: [{name: c, cluster: {server: 'https://h', insecure-skip-tls-verify: true}}]",
      /insecure-skip-tls-verify, which is not supported/,
    ],
  ];
  for (const [text, message] of table) {
    assert.throws(() => parseKubeconfig(text, { dir: "/", read }), (e: Error) => {
      assert.ok(e instanceof KubeConfigError, text);
      assert.match(e.message, message, text);
      return true;
    });
  }
  assert.throws(
    () => parseKubeconfig(KUBECONFIG, { dir: "/etc/kube", read, context: "bot@other" }),
    /cannot read certificate-authority "\/etc\/kube\/pki\/ca.crt"/,
  );
});

Deno.test("loadKubeConfig uses the first existing KUBECONFIG file, else says where it looked", () => {
  const dir = Deno.makeTempDirSync({ prefix: "weave-kubeconfig-" });
  try {
    Deno.writeTextFileSync(
      `${dir}/config`,
      "current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n" +
        "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:1'}}]\nusers: [{name: u, user: {token: abc}}]\n",
    );
    const c = loadKubeConfig({ KUBECONFIG: `${dir}/missing:${dir}/config` });
    assert.deepEqual(c, { server: "http://127.0.0.1:1", token: "abc" });
    assert.throws(
      () => loadKubeConfig({ KUBECONFIG: `${dir}/missing` }),
      /not in a pod \(KUBERNETES_SERVICE_HOST unset\) and no kubeconfig \(.*missing\)/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
