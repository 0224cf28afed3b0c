import assert from "node:assert/strict";
import { discardLogger } from "../lib/log.ts";
import { NetworkPlugin, type PluginEffects, vethPair } from "./plugin.ts";

const EP = "7f3c0a2b9d81e4f6a5b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2";
const NET = "e1a9cb0b0f4a1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d";

/** Effects that record every call and answer from a small script. */
function recorder(overrides: Partial<PluginEffects> = {}) {
  const calls: string[] = [];
  const effects: PluginEffects = {
    defaultSubnet: () => (calls.push("defaultSubnet"), Promise.resolve("10.32.0.0/12")),
    allocate: (r) => (calls.push(`allocate ${r}`), Promise.resolve("10.40.0.1/16")),
    claim: (a) => (calls.push(`claim ${a}`), Promise.resolve()),
    release: (a) => (calls.push(`release ${a}`), Promise.resolve()),
    createVeth: (
      h,
      c,
    ) => (calls.push(`createVeth ${h} ${c}`), Promise.resolve("aa:bb:cc:00:11:22")),
    deleteVeth: (h) => (calls.push(`deleteVeth ${h}`), Promise.resolve()),
    inspectNetwork: (
      id,
    ) => (calls.push(`inspectNetwork ${id}`),
      Promise.resolve({ driver: "weavemesh", options: { "works.weave.multicast": "true" } })),
    ...overrides,
  };
  return { calls, effects };
}

function mesh(effects: PluginEffects) {
  return new NetworkPlugin({
    name: "weavemesh",
    scope: "local",
    withIpam: true,
    effects,
    log: discardLogger,
  });
}

interface Case {
  name: string;
  path: string;
  body: unknown;
  /** Requests handled first (state such as networks). */
  before?: [string, unknown][];
  status?: number;
  want: unknown;
  calls: string[];
  effects?: Partial<PluginEffects>;
  plugin?: "weave";
}

const CASES: Case[] = [
  {
    name: "Activate on weavemesh implements both APIs",
    path: "/Plugin.Activate",
    body: "",
    want: { Implements: ["NetworkDriver", "IpamDriver"] },
    calls: [],
  },
  {
    name: "Activate on weave is the network driver only",
    plugin: "weave",
    path: "/Plugin.Activate",
    body: "",
    want: { Implements: ["NetworkDriver"] },
    calls: [],
  },
  {
    name: "weave has global scope",
    plugin: "weave",
    path: "/NetworkDriver.GetCapabilities",
    body: {},
    want: { Scope: "global" },
    calls: [],
  },
  {
    name: "weave has no IPAM routes",
    plugin: "weave",
    path: "/IpamDriver.RequestPool",
    body: {},
    status: 404,
    want: "404 page not found\n",
    calls: [],
  },
  {
    name: "weavemesh has local scope",
    path: "/NetworkDriver.GetCapabilities",
    body: {},
    want: { Scope: "local" },
    calls: [],
  },
  {
    name: "default address spaces",
    path: "/IpamDriver.GetDefaultAddressSpaces",
    body: {},
    want: { LocalDefaultAddressSpace: "weavelocal", GlobalDefaultAddressSpace: "weaveglobal" },
    calls: [],
  },
  {
    name: "RequestPool with no pool takes the router's default subnet",
    path: "/IpamDriver.RequestPool",
    body: { AddressSpace: "weavelocal", Pool: "", SubPool: "", Options: {}, V6: false },
    want: {
      PoolID: "weave-10.32.0.0/12-10.32.0.0/12",
      Pool: "10.32.0.0/12",
      Data: { "com.docker.network.gateway": "10.32.0.0/12" },
    },
    calls: ["defaultSubnet"],
  },
  {
    name: "RequestPool with --subnet and --ip-range keeps both, as networks",
    path: "/IpamDriver.RequestPool",
    body: { Pool: "10.40.7.0/16", SubPool: "10.40.8.1/24" },
    want: {
      PoolID: "weave-10.40.0.0/16-10.40.8.0/24",
      Pool: "10.40.0.0/16",
      Data: { "com.docker.network.gateway": "10.40.0.0/16" },
    },
    calls: [],
  },
  {
    name: "RequestPool for IPv6 is an Err",
    path: "/IpamDriver.RequestPool",
    body: { Pool: "", V6: true },
    want: { Err: "IPv6 is not supported by weave IPAM" },
    calls: [],
  },
  {
    name: "RequestPool with a bad pool is an Err in Go's words",
    path: "/IpamDriver.RequestPool",
    body: { Pool: "10.40.0.0" },
    want: { Err: "invalid CIDR address: 10.40.0.0" },
    calls: [],
  },
  {
    name: "RequestAddress allocates in the range and answers with the pool's prefix",
    path: "/IpamDriver.RequestAddress",
    body: { PoolID: "weave-10.40.0.0/16-10.40.8.0/24", Address: "", Options: {} },
    effects: { allocate: () => Promise.resolve("10.40.8.3/24") },
    want: { Address: "10.40.8.3/16", Data: {} },
    calls: [],
  },
  {
    name: "RequestAddress with an address claims it",
    path: "/IpamDriver.RequestAddress",
    body: { PoolID: "weave-10.32.0.0/12-10.32.0.0/12", Address: "10.32.0.9" },
    want: { Address: "10.32.0.9/12", Data: {} },
    calls: ["claim 10.32.0.9"],
  },
  {
    name: "RequestAddress on a foreign pool is an Err",
    path: "/IpamDriver.RequestAddress",
    body: { PoolID: "default-pool" },
    want: { Err: "Unrecognized pool ID: default-pool" },
    calls: [],
  },
  {
    name: "an IPAM refusal reaches Docker as Err",
    path: "/IpamDriver.RequestAddress",
    body: { PoolID: "weave-10.32.0.0/12-10.32.0.0/12", Address: "10.32.0.9" },
    effects: { claim: () => Promise.reject(new Error("address 10.32.0.9 is already owned")) },
    want: { Err: "address 10.32.0.9 is already owned" },
    calls: [],
  },
  {
    name: "ReleaseAddress frees what is stored under the address",
    path: "/IpamDriver.ReleaseAddress",
    body: { PoolID: "weave-10.32.0.0/12-10.32.0.0/12", Address: "10.32.0.9" },
    want: {},
    calls: ["release 10.32.0.9"],
  },
  {
    name: "ReleaseAddress of the pool's network address (its gateway) frees nothing",
    path: "/IpamDriver.ReleaseAddress",
    body: { PoolID: "weave-10.32.0.0/12-10.32.0.0/12", Address: "10.32.0.0" },
    want: {},
    calls: [],
  },
  {
    name: "ReleasePool is a no-op",
    path: "/IpamDriver.ReleasePool",
    body: { PoolID: "weave-10.32.0.0/12-10.32.0.0/12" },
    want: {},
    calls: [],
  },
  {
    name: "CreateEndpoint makes vethwl/vethwg and answers the container end's MAC",
    path: "/NetworkDriver.CreateEndpoint",
    body: { NetworkID: NET, EndpointID: EP, Interface: { Address: "10.32.0.1/12" } },
    want: { Interface: { MacAddress: "aa:bb:cc:00:11:22" } },
    calls: ["createVeth vethwl7f3c0a2b9 vethwg7f3c0a2b9"],
  },
  {
    name: "CreateEndpoint without an interface is not supported",
    path: "/NetworkDriver.CreateEndpoint",
    body: { NetworkID: NET, EndpointID: EP },
    want: { Err: "Not supported: creating an interface from within CreateEndpoint" },
    calls: [],
  },
  {
    name: "DeleteEndpoint deletes the host veth",
    path: "/NetworkDriver.DeleteEndpoint",
    body: { NetworkID: NET, EndpointID: EP },
    want: {},
    calls: ["deleteVeth vethwl7f3c0a2b9"],
  },
  {
    name: "DeleteEndpoint succeeds when the veth is gone",
    path: "/NetworkDriver.DeleteEndpoint",
    body: { NetworkID: NET, EndpointID: EP },
    effects: { deleteVeth: () => Promise.reject(new Error("no such link")) },
    want: {},
    calls: [],
  },
  {
    name: "Join of a network created here: ethwe prefix, no routes",
    path: "/NetworkDriver.Join",
    before: [["/NetworkDriver.CreateNetwork", { NetworkID: NET, Options: {} }]],
    body: { NetworkID: NET, EndpointID: EP, SandboxKey: "/var/run/docker/netns/x" },
    want: { InterfaceName: { SrcName: "vethwg7f3c0a2b9", DstPrefix: "ethwe" } },
    calls: [],
  },
  {
    name: "Join of a multicast network adds the connected 224.0.0.0/4 route",
    path: "/NetworkDriver.Join",
    before: [["/NetworkDriver.CreateNetwork", {
      NetworkID: NET,
      Options: { "com.docker.network.generic": { "works.weave.multicast": "" } },
    }]],
    body: { NetworkID: NET, EndpointID: EP },
    want: {
      InterfaceName: { SrcName: "vethwg7f3c0a2b9", DstPrefix: "ethwe" },
      StaticRoutes: [{ Destination: "224.0.0.0/4", RouteType: 1 }],
    },
    calls: [],
  },
  {
    name: "Join of a network not seen (plugin restarted) asks the engine",
    path: "/NetworkDriver.Join",
    body: { NetworkID: NET, EndpointID: EP },
    want: {
      InterfaceName: { SrcName: "vethwg7f3c0a2b9", DstPrefix: "ethwe" },
      StaticRoutes: [{ Destination: "224.0.0.0/4", RouteType: 1 }],
    },
    calls: [`inspectNetwork ${NET}`],
  },
  {
    name: "Join when the engine does not know the network is an Err",
    path: "/NetworkDriver.Join",
    body: { NetworkID: NET, EndpointID: EP },
    effects: { inspectNetwork: () => Promise.reject(new Error("network x not found")) },
    want: { Err: "unable to find network info: network x not found" },
    calls: [],
  },
  {
    name: "CreateNetwork with a bad multicast value is an Err",
    path: "/NetworkDriver.CreateNetwork",
    body: {
      NetworkID: NET,
      Options: { "com.docker.network.generic": { "works.weave.multicast": "maybe" } },
    },
    want: { Err: 'unrecognized value "maybe" for option works.weave.multicast' },
    calls: [],
  },
  {
    name: "EndpointOperInfo is empty",
    path: "/NetworkDriver.EndpointOperInfo",
    body: { NetworkID: NET, EndpointID: EP },
    want: { Value: {} },
    calls: [],
  },
  {
    name: "a body that is not JSON is 400",
    path: "/NetworkDriver.Join",
    body: "{nope",
    status: 400,
    want: /^Unable to decode JSON payload: /,
    calls: [],
  },
  {
    name: "an unknown method is 404",
    path: "/NetworkDriver.Frobnicate",
    body: {},
    status: 404,
    want: "404 page not found\n",
    calls: [],
  },
];

for (const c of CASES) {
  Deno.test(`NetworkPlugin: ${c.name}`, async () => {
    const { calls, effects } = recorder(c.effects);
    const plugin = c.plugin === "weave"
      ? new NetworkPlugin({
        name: "weave",
        scope: "global",
        withIpam: false,
        effects,
        log: discardLogger,
      })
      : mesh(effects);
    for (const [path, body] of c.before ?? []) {
      const r = await plugin.handle(path, JSON.stringify(body));
      assert.deepEqual(JSON.parse(r.body), {}, `${path} first`);
    }
    const body = typeof c.body === "string" ? c.body : JSON.stringify(c.body);
    const res = await plugin.handle(c.path, body);
    assert.equal(res.status, c.status ?? 200);
    if (c.want instanceof RegExp) assert.match(res.body, c.want);
    else if (typeof c.want === "string") assert.equal(res.body, c.want);
    else {
      assert.ok(res.body.endsWith("\n"), "one JSON value and a newline, as Go's encoder writes");
      assert.deepEqual(JSON.parse(res.body), c.want);
    }
    assert.deepEqual(calls, c.calls);
  });
}

Deno.test("NetworkPlugin: DeleteNetwork forgets the network, so Join asks the engine again", async () => {
  const { calls, effects } = recorder();
  const plugin = mesh(effects);
  await plugin.handle("/NetworkDriver.CreateNetwork", JSON.stringify({ NetworkID: NET }));
  await plugin.handle("/NetworkDriver.DeleteNetwork", JSON.stringify({ NetworkID: NET }));
  await plugin.handle("/NetworkDriver.Join", JSON.stringify({ NetworkID: NET, EndpointID: EP }));
  assert.deepEqual(calls, [`inspectNetwork ${NET}`]);
});

Deno.test("vethPair: 15-character names; a short or odd id is refused", () => {
  assert.deepEqual(vethPair(EP), ["vethwl7f3c0a2b9", "vethwg7f3c0a2b9"]);
  assert.throws(() => vethPair("abc"), /expected an endpoint id/);
  assert.throws(() => vethPair("../../etc/x"), /expected an endpoint id/);
});
