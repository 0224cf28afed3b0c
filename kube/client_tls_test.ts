// The client over HTTPS as in a pod: the service account's token and CA (in-cluster
// configuration) and a kubeconfig with certificate-authority-data, against the stand-in API
// serving a certificate of a CA made here with openssl.
import assert from "node:assert/strict";
import { StandInApi } from "../tests/kube_api/server.ts";
import { type KubeApiError, KubeClient } from "./client.ts";
import { inClusterConfig, parseKubeconfig, SERVICE_ACCOUNT_DIR } from "./kube_config.ts";

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
}

/** A CA and a server certificate for 127.0.0.1 signed by it, in `dir`. */
async function makeCerts(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await openssl(dir, [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "1",
    "-subj",
    "/CN=test-ca",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await openssl(dir, [
    "req",
    ...ec,
    "-keyout",
    "srv.key",
    "-out",
    "srv.csr",
    "-subj",
    "/CN=kubernetes",
  ]);
  await Deno.writeTextFile(
    `${dir}/ext`,
    "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    "srv.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "srv.crt",
    "-days",
    "1",
    "-extfile",
    "ext",
  ]);
  const read = (f: string) => Deno.readTextFile(`${dir}/${f}`);
  return { ca: await read("ca.crt"), cert: await read("srv.crt"), key: await read("srv.key") };
}

Deno.test("KubeClient over HTTPS with the in-cluster service account and with a kubeconfig", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weave-kube-tls-" });
  try {
    const certs = await makeCerts(dir);
    await using api = StandInApi.create({
      tls: { cert: certs.cert, key: certs.key },
      tokens: ["sa-token"],
    });
    api.store.create("nodes", undefined, { metadata: { name: "n1" } });
    const files: Record<string, string> = {
      [`${SERVICE_ACCOUNT_DIR}/token`]: "sa-token\n",
      [`${SERVICE_ACCOUNT_DIR}/ca.crt`]: certs.ca,
    };
    const read = (p: string) =>
      files[p] ?? (() => {
        throw new Deno.errors.NotFound(p);
      })();
    const env = { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(api.port) };
    const inCluster = new KubeClient(inClusterConfig(env, read)!);
    try {
      const list = await inCluster.list("/api/v1/nodes");
      assert.deepEqual(list.items.map((n) => n.metadata.name), ["n1"]);
    } finally {
      inCluster.close();
    }
    const kubeconfig = JSON.stringify({
      "current-context": "x",
      clusters: [{
        name: "c",
        cluster: { server: api.url, "certificate-authority-data": btoa(certs.ca) },
      }],
      users: [{ name: "u", user: { token: "sa-token" } }],
      contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
    });
    const viaFile = new KubeClient(parseKubeconfig(kubeconfig, { dir, read }));
    try {
      assert.equal((await viaFile.get("/api/v1/nodes/n1")).metadata.name, "n1");
    } finally {
      viaFile.close();
    }
    // Without the cluster's CA the server is not trusted.
    const untrusted = new KubeClient({ server: api.url, token: "sa-token" });
    await assert.rejects(untrusted.list("/api/v1/nodes"), (e: KubeApiError) => e.code === 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
