import assert from "node:assert/strict";
import {
  ipamStatusText,
  renderConnections,
  renderDns,
  renderIpam,
  renderPeers,
  renderStatus,
  renderTargets,
  versionCheckText,
} from "./render_status.ts";
import type { IpamReport, WeaveReport } from "./report.ts";
import { loadReport, readSample, SAMPLE_HOSTS, SAMPLES_DIR } from "./_samples.ts";

for (const [scenario, host] of SAMPLE_HOSTS) {
  const report = loadReport(scenario, host);
  const sample = (sub: string) => readSample(scenario, `${host}-status${sub}.txt`);

  Deno.test(`renderStatus matches ${scenario}/${host}-status.txt byte for byte`, () => {
    assert.equal(renderStatus(report), sample(""));
  });
  // The status texts were captured moments apart from the report: retry times
  // of failed targets moved on, and Go printed peers (and their connections) in map order.
  Deno.test(`renderConnections matches ${scenario}/${host}-status_connections.txt`, () => {
    const retry = / retry: [^m]+m=\+[0-9.]+ /g;
    assert.equal(
      renderConnections(report).replace(retry, " retry: T "),
      sample("_connections").replace(retry, " retry: T "),
    );
  });
  Deno.test(`renderPeers matches ${scenario}/${host}-status_peers.txt (peers in any order)`, () => {
    assert.deepEqual(peerBlocks(renderPeers(report)), peerBlocks(sample("_peers")));
  });
  Deno.test(`renderTargets matches ${scenario}/${host}-status_targets.txt`, () => {
    assert.equal(renderTargets(report), sample("_targets"));
  });
  Deno.test(`renderIpam matches ${scenario}/${host}-status_ipam.txt (others in any order)`, () => {
    const want = sample("_ipam").split("\n");
    const got = renderIpam(report).split("\n");
    assert.equal(got[0], want[0]); // the local peer comes first
    assert.deepEqual(got.slice(1).sort(), want.slice(1).sort());
  });
}

/** Splits `status peers` text into per-peer blocks, sorted, for order-free comparison. */
function peerBlocks(text: string): string[] {
  return text.split(/\n(?=\S)/).map((block) => {
    const [peer, ...connections] = block.trimEnd().split("\n");
    return [peer, ...connections.sort()].join("\n");
  }).sort();
}

Deno.test("renderPeers prints peers and connections in report order", () => {
  const report = loadReport("enc", "h1");
  report.Router.Peers[0].Connections[0].Established = false;
  assert.equal(
    renderPeers(report),
    "02:00:00:00:00:01(h1)\n" +
      "   <- 192.0.2.2:52873       02:00:00:00:00:02(h2)                 pending\n" +
      "02:00:00:00:00:02(h2)\n" +
      "   -> 192.0.2.1:6783        02:00:00:00:00:01(h1)                 established\n",
  );
});

Deno.test("renderDns and the dns section match the dns samples", () => {
  for (const host of ["h1", "h2"]) {
    const report = loadReport("plain", host);
    report.DNS = JSON.parse(Deno.readTextFileSync(`${SAMPLES_DIR}/dns/${host}-report-DNS.json`));
    const want = Deno.readTextFileSync(`${SAMPLES_DIR}/dns/${host}-status_dns.txt`);
    assert.equal(renderDns(report), want);
    const status = Deno.readTextFileSync(`${SAMPLES_DIR}/dns/${host}-status.txt`);
    const dnsSection = status.slice(status.indexOf("        Service: dns"));
    assert.ok(renderStatus(report).endsWith("\n" + dnsSection));
  }
});

Deno.test("renderDns hides tombstones, trims the domain and cuts container ids to 12", () => {
  const report = loadReport("plain", "h1");
  report.DNS = {
    Domain: "weave.local.",
    Upstream: ["8.8.8.8", "8.8.4.4"],
    Address: "0.0.0.0:53",
    TTL: 1,
    Entries: [
      entry("one.weave.local.", "eebd81120ee4aaaaaaaa", 0),
      entry("gone.weave.local.", "c2", 5),
      entry("other.example.", "c3", 0),
    ],
  };
  assert.equal(
    renderDns(report),
    "one          10.32.0.1       eebd81120ee4 4a:0f:f6:ec:1c:93\n" +
      "other.example. 10.32.0.1                 c3 4a:0f:f6:ec:1c:93\n",
  );
  assert.ok(renderStatus(report).includes("\n       Upstream: 8.8.8.8, 8.8.4.4\n"));
  assert.ok(renderStatus(report).endsWith("\n        Entries: 2\n"));
});

function entry(Hostname: string, ContainerID: string, Tombstone: number) {
  return {
    Hostname,
    Origin: "4a:0f:f6:ec:1c:93",
    ContainerID,
    Address: "10.32.0.1",
    Version: 0,
    Tombstone,
  };
}

Deno.test("renderStatus leaves out ipam and dns sections that the report lacks", () => {
  const report = loadReport("plain", "h1");
  delete report.IPAM;
  delete report.DNS;
  const text = renderStatus(report);
  assert.ok(text.endsWith(" TrustedSubnets: none\n"));
  assert.ok(!text.includes("ipam") && !text.includes("dns"));
});

Deno.test("renderStatus prints counts of every state in Weave's order and single protocol versions", () => {
  const report: WeaveReport = loadReport("3host", "h1");
  const base = report.Router.Connections[0];
  report.Router.Connections = [
    "connecting",
    "pending",
    "failed",
    "established",
    "retrying",
    "pending",
  ]
    .map((State) => ({ ...base, State }));
  report.Router.ProtocolMinVersion = 2;
  report.Router.TrustedSubnets = ["10.0.0.0/8", "192.168.0.0/16"];
  report.Router.Peers[0].Connections[0].Established = false;
  const text = renderStatus(report);
  assert.ok(
    text.includes(
      "\n    Connections: 6 (1 established, 2 pending, 1 retrying, 1 failed, 1 connecting)\n",
    ),
  );
  assert.ok(text.includes("\n       Protocol: weave 2\n"));
  assert.ok(text.includes("\n          Peers: 3 (with 3 established, 1 pending connections)\n"));
  assert.match(text, /\n TrustedSubnets: 10\.0\.0\.0\/8, 192\.168\.0\.0\/16\n/);
  report.Router.Connections = [];
  for (const p of report.Router.Peers) p.Connections = [];
  const empty = renderStatus(report);
  assert.ok(empty.includes("\n    Connections: 0\n          Peers: 3\n"));
});

Deno.test("versionCheckText covers Weave's four cases", () => {
  const at = "2021-02-01T12:00:00Z";
  const check = { Enabled: true, Success: true, NewVersion: "", NextCheckAt: at };
  assert.equal(versionCheckText({ ...check, Enabled: false }), "version check update disabled");
  assert.equal(versionCheckText(check), "up to date; next check at 2021/02/01 12:00:00");
  assert.equal(
    versionCheckText({ ...check, Success: false }),
    "failed to check latest version - see logs; next check at 2021/02/01 12:00:00",
  );
  assert.equal(
    versionCheckText({ ...check, NewVersion: "2.9.0" }),
    "version 2.9.0 available - please upgrade!",
  );
});

Deno.test("ipamStatusText derives Weave's status values; an explicit Status wins", () => {
  const ipam: IpamReport = structuredClone(loadReport("plain", "h1").IPAM!);
  assert.equal(ipamStatusText(ipam), "ready");
  ipam.PendingAllocates = ["c1"];
  assert.equal(ipamStatusText(ipam), "waiting for IP(s) to become available");
  for (const e of ipam.Entries) e.IsKnownPeer = false;
  assert.match(ipamStatusText(ipam), /^all IP ranges owned by unreachable peers/);
  ipam.Entries = [];
  assert.equal(ipamStatusText(ipam), "idle");
  ipam.Paxos = { Elector: "02:00:00:00:00:01", KnownNodes: 1, Quorum: 2 };
  assert.equal(ipamStatusText(ipam), "awaiting consensus (quorum: 2, known: 1)");
  ipam.Paxos.Elector = "";
  assert.equal(ipamStatusText(ipam), "priming");
  const report = loadReport("plain", "h1");
  report.IPAM!.Status = "priming";
  assert.ok(renderStatus(report).includes("\n         Status: priming\n"));
});

Deno.test("renderIpam marks unreachable owners and sums their entries", () => {
  const report = loadReport("plain", "h1");
  report.IPAM!.Entries[1].IsKnownPeer = false;
  report.IPAM!.Entries.push({ ...report.IPAM!.Entries[0], Token: "10.48.0.0", Size: 4 });
  assert.equal(
    renderIpam(report),
    "02:00:00:00:00:01(h1)                   524292 IPs (50.0% of total) (1 active)\n" +
      "02:00:00:00:00:02(h2)                   524288 IPs (50.0% of total) - unreachable!\n",
  );
  delete report.IPAM;
  assert.equal(renderIpam(report), "");
});

Deno.test("renderConnections prints a failed target without attributes with a trailing space", () => {
  const report = loadReport("3host", "h1");
  const lines = renderConnections(report).split("\n");
  assert.ok(lines[1].endsWith("m=+12.287904497 "));
});

Deno.test("renderConnections sets our why attribute apart after Weave's glued attributes", () => {
  const report = loadReport("enc", "h1");
  const c = report.Router.Connections[0];
  c.Attrs = { ...c.Attrs, why: "fastdp off: kernel lacks IPsec ESP" };
  assert.equal(
    renderConnections(report).split("\n")[0],
    "<- 192.0.2.2:52873       established encrypted   sleeve 02:00:00:00:00:02(h2) " +
      "encrypted=truemtu=1414 (fastdp off: kernel lacks IPsec ESP)",
  );
});

Deno.test("renderStatus: proxy and plugin sections in Weave's layout, after dns, only when running", () => {
  const report = loadReport("plain", "h1");
  assert.ok(!renderStatus(report).includes("Service: proxy"));
  report.Proxy = { Addresses: ["unix:///var/run/weave/weave.sock"] };
  report.Plugin = { Config: {}, DriverName: "weave", MeshDriverName: "weavemesh" };
  assert.ok(
    renderStatus(report).endsWith(
      "\n        Service: proxy\n        Address: unix:///var/run/weave/weave.sock\n" +
        "\n        Service: plugin (legacy)\n     DriverName: weave\n",
    ),
  );
});
