// The DaemonSet manifest: Weave Net 2.8.1's object names, labels, RBAC and layout, our commands,
// and the image named in one place.
import assert from "node:assert/strict";
import YAML from "yaml";

const text = Deno.readTextFileSync(new URL("./weave-daemonset-k8s.yaml", import.meta.url));
// deno-lint-ignore no-explicit-any
const doc: any = YAML.parse(text);
// deno-lint-ignore no-explicit-any
const item = (kind: string): any => doc.items.find((i: { kind: string }) => i.kind === kind);

Deno.test("manifest: Weave's objects, names and labels", () => {
  assert.equal(doc.kind, "List");
  assert.deepEqual(doc.items.map((i: { kind: string }) => i.kind), [
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "DaemonSet",
  ]);
  for (const i of doc.items) {
    assert.equal(i.metadata.name, "weave-net", i.kind);
    assert.deepEqual(i.metadata.labels, { name: "weave-net" }, i.kind);
  }
  const ds = item("DaemonSet");
  assert.equal(ds.metadata.namespace, "kube-system");
  assert.deepEqual(ds.spec.selector.matchLabels, { name: "weave-net" });
  assert.deepEqual(ds.spec.template.metadata.labels, { name: "weave-net" });
  assert.equal(ds.spec.updateStrategy.type, "RollingUpdate");
});

Deno.test("manifest: the pod as Weave runs it — host network, tolerations, priority, volumes, probe", () => {
  const pod = item("DaemonSet").spec.template.spec;
  assert.equal(pod.hostNetwork, true);
  assert.equal(pod.dnsPolicy, "ClusterFirstWithHostNet");
  assert.equal(pod.serviceAccountName, "weave-net");
  assert.equal(pod.priorityClassName, "system-node-critical");
  assert.deepEqual(pod.tolerations, [
    { effect: "NoSchedule", operator: "Exists" },
    { effect: "NoExecute", operator: "Exists" },
  ]);
  assert.deepEqual(pod.volumes.map((v: { name: string }) => v.name), [
    "weavedb",
    "cni-bin",
    "cni-bin2",
    "cni-conf",
    "cni-machine-id",
    "dbus",
    "lib-modules",
    "xtables-lock",
  ]);
  assert.equal(pod.volumes[0].hostPath.path, "/var/lib/weave"); // Weave's state, taken over
  assert.deepEqual(pod.initContainers.map((c: { name: string }) => c.name), ["weave-init"]);
  assert.deepEqual(pod.containers.map((c: { name: string }) => c.name), ["weave", "weave-npc"]);
  const weave = pod.containers[0];
  assert.deepEqual(weave.command, ["/home/weave/weave", "kube-launch"]);
  // The init container installs into the host's paths, as kube-launch does (HOST_ROOT=/host).
  assert.deepEqual(pod.initContainers[0].command, [
    "/home/weave/weave",
    "setup-cni",
    "--cni-bin-dir=/host/opt/cni/bin",
    "--cni-conf-dir=/host/etc/cni/net.d",
  ]);
  assert.deepEqual(weave.readinessProbe, {
    httpGet: { host: "127.0.0.1", path: "/status", port: 6784 },
  });
  assert.deepEqual(weave.env.find((e: { name: string }) => e.name === "HOSTNAME").valueFrom, {
    fieldRef: { apiVersion: "v1", fieldPath: "spec.nodeName" },
  });
  const mounts = weave.volumeMounts.map((m: { name: string; mountPath: string }) =>
    `${m.name}:${m.mountPath}`
  );
  assert.ok(mounts.includes("weavedb:/weavedb")); // DB_PREFIX=/weavedb/weave-net
  assert.ok(mounts.includes("cni-bin:/host/opt") && mounts.includes("cni-conf:/host/etc")); // HOST_ROOT
});

Deno.test("manifest: the image is named once and used by every container", () => {
  const pod = item("DaemonSet").spec.template.spec;
  const images = [...pod.initContainers, ...pod.containers].map((c: { image: string }) => c.image);
  assert.equal(new Set(images).size, 1);
  assert.equal(text.split(images[0]).length - 1, 1);
});

Deno.test("manifest: RBAC allows every call the launcher and reclaim make", () => {
  // deno-lint-ignore no-explicit-any
  const allows = (role: any, resource: string, verb: string, name?: string) =>
    role.rules.some((r: { resources: string[]; verbs: string[]; resourceNames?: string[] }) =>
      r.resources.includes(resource) && r.verbs.includes(verb) &&
      (!r.resourceNames || (name !== undefined && r.resourceNames.includes(name)))
    );
  const cluster = item("ClusterRole"), ns = item("Role");
  for (const verb of ["get", "list", "watch"]) assert.ok(allows(cluster, "nodes", verb), verb);
  assert.ok(allows(cluster, "nodes/status", "patch"));
  assert.ok(allows(ns, "configmaps", "get", "weave-net"));
  assert.ok(allows(ns, "configmaps", "update", "weave-net"));
  assert.ok(allows(ns, "configmaps", "create"));
  assert.equal(item("RoleBinding").subjects[0].name, "weave-net");
  assert.equal(item("ClusterRoleBinding").roleRef.name, "weave-net");
});
