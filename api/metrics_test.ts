import assert from "node:assert/strict";
import { formatSampleValue, readProcessStats, renderMetrics } from "./metrics.ts";
import { loadReport, readSample } from "./_samples.ts";

const weaveLines = (text: string) =>
  text.split("\n").filter((l) => /^(# (HELP|TYPE) )?weave_/.test(l)).join("\n");

for (const scenario of ["plain", "enc"]) {
  for (const host of ["h1", "h2"]) {
    Deno.test(`renderMetrics matches the weave_* lines of ${scenario}/${host}-metrics-6784.txt`, () => {
      const text = renderMetrics(loadReport(scenario, host));
      assert.equal(weaveLines(text), weaveLines(readSample(scenario, `${host}-metrics-6784.txt`)));
      assert.equal(text, weaveLines(text) + "\n"); // no process figures given: nothing else
    });
  }
}

Deno.test("renderMetrics counts failed targets as type unknown and sorts series", () => {
  const report = loadReport("3host", "h1");
  report.Router.Connections.push({
    ...report.Router.Connections[0],
    Attrs: { name: "fastdp", encrypted: true },
  });
  const lines = renderMetrics(report).split("\n").filter((l) => l.startsWith("weave_connections{"));
  assert.deepEqual(lines, [
    'weave_connections{encryption="",state="established",type="fastdp"} 0',
    'weave_connections{encryption="",state="established",type="sleeve"} 1',
    'weave_connections{encryption="",state="failed",type="unknown"} 1',
    'weave_connections{encryption="yes",state="established",type="fastdp"} 1',
    'weave_connections{encryption="yes",state="established",type="sleeve"} 0',
    'weave_connections{encryption="yes",state="failed",type="unknown"} 0',
  ]);
});

Deno.test("renderMetrics reports unreachable IPAM owners, pending work, own DNS entries and flows", () => {
  const report = loadReport("plain", "h1");
  report.IPAM!.Entries[1].IsKnownPeer = false;
  report.IPAM!.PendingAllocates = ["a", "b"];
  report.IPAM!.PendingClaims = [{ Ident: "c", CIDR: "10.32.0.5/12" }];
  report.DNS!.Entries = [
    {
      Hostname: "a.",
      Origin: report.Router.Name,
      ContainerID: "a",
      Address: "10.32.0.1",
      Version: 0,
      Tombstone: 0,
    },
    {
      Hostname: "b.",
      Origin: report.Router.Name,
      ContainerID: "b",
      Address: "10.32.0.2",
      Version: 1,
      Tombstone: 9,
    },
    {
      Hostname: "c.",
      Origin: "02:00:00:00:00:02",
      ContainerID: "c",
      Address: "10.32.0.3",
      Version: 0,
      Tombstone: 0,
    },
  ];
  report.Router.OverlayDiagnostics = { fastdp: { Vports: [], Flows: [{}, {}, {}] }, sleeve: null };
  const text = renderMetrics(report);
  assert.match(text, /\nweave_ipam_unreachable_count 1\n/);
  assert.match(text, /\nweave_ipam_unreachable_percentage 50\n/);
  assert.match(text, /\nweave_ipam_pending_allocates 2\n/);
  assert.match(text, /\nweave_ipam_pending_claims 1\n/);
  assert.match(text, /\nweave_dns_entries 1\n/);
  assert.match(
    text,
    /# HELP weave_flows Number of FastDP flows.\n# TYPE weave_flows gauge\nweave_flows 3\n/,
  );
});

Deno.test("renderMetrics leaves out IPAM and DNS families when the sections are absent", () => {
  const report = loadReport("plain", "h1");
  delete report.IPAM;
  delete report.DNS;
  const names = renderMetrics(report).split("\n").filter((l) => l.startsWith("# TYPE"));
  assert.deepEqual(names, [
    "# TYPE weave_connection_terminations_total counter",
    "# TYPE weave_connections gauge",
  ]);
});

Deno.test("renderMetrics writes process figures first, in name order, Go-formatted", () => {
  const text = renderMetrics(loadReport("plain", "h1"), {
    cpuSecondsTotal: 40.98,
    openFds: 24,
    maxFds: 20000,
    residentMemoryBytes: 68243456,
    virtualMemoryBytes: 1617993728,
    startTimeSeconds: 1795459506.19,
  });
  const sample = readSample("plain", "h1-metrics-6784.txt");
  const processPart = text.slice(0, text.indexOf("# HELP weave_"));
  for (const line of processPart.split("\n").filter(Boolean)) {
    assert.ok(sample.includes(line + "\n"), line);
  }
  assert.match(
    processPart,
    /^# HELP process_cpu_seconds_total .*\n# TYPE process_cpu_seconds_total counter\n/,
  );
});

Deno.test("formatSampleValue uses Go's shortest 'g' form", () => {
  assert.equal(formatSampleValue(1048576), "1.048576e+06");
  assert.equal(formatSampleValue(0), "0");
  assert.equal(formatSampleValue(NaN), "NaN");
  assert.equal(formatSampleValue(-1), "-1");
});

Deno.test("readProcessStats reads this process from /proc", () => {
  const stats = readProcessStats();
  assert.ok(stats.residentMemoryBytes! > 1_000_000);
  assert.ok(stats.openFds! > 2);
  assert.ok(
    stats.startTimeSeconds! > 1_600_000_000 && stats.startTimeSeconds! <= Date.now() / 1000 + 1,
  );
  assert.ok(stats.cpuSecondsTotal! >= 0);
  assert.deepEqual(readProcessStats("/nonexistent"), {});
});

/** Checks the exposition-format rules promtool enforces. */
function checkExposition(text: string): void {
  assert.ok(text.endsWith("\n"));
  const typed = new Map<string, string>();
  const seen = new Set<string>();
  let current = "";
  for (const line of text.slice(0, -1).split("\n")) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      if (meta[1] === "TYPE") {
        assert.ok(!typed.has(meta[2]), `second TYPE for ${meta[2]}`);
        assert.match(meta[3], /^(gauge|counter)$/);
        typed.set(meta[2], meta[3]);
      }
      current = meta[2];
      continue;
    }
    const sample =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*",?)*\})? (\S+)$/
        .exec(line);
    assert.ok(sample, `bad sample line ${JSON.stringify(line)}`);
    assert.equal(sample[1], current, "sample outside its family");
    assert.ok(typed.has(current), "sample before TYPE");
    assert.ok(!Number.isNaN(Number(sample[3].replace("+Inf", "Infinity"))) || sample[3] === "NaN");
    assert.ok(!seen.has(sample[1] + (sample[2] ?? "")), `duplicate series ${line}`);
    seen.add(sample[1] + (sample[2] ?? ""));
    if (typed.get(current) === "counter") assert.match(current, /_total$/);
  }
}

Deno.test("renderMetrics output follows the exposition format (and promtool, when present)", async () => {
  const report = loadReport("3host", "h1");
  report.Router.Connections[0].Attrs = { name: 'we"ird\\\n', encrypted: true };
  const text = renderMetrics(report, readProcessStats());
  checkExposition(text);
  const promtool = ["/tmp/promdl/x/usr/bin/promtool", "/usr/bin/promtool"].find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
  if (!promtool) return;
  const child = new Deno.Command(promtool, {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const result = await child.output();
  const output = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
  // promtool's linter objects to one of Weave's own names, which we must keep.
  const known =
    'weave_ipam_unreachable_count non-histogram and non-summary metrics should not have "_count" suffix';
  const problems = output.split("\n").filter((l) => l.trim() !== "" && l.trim() !== known);
  assert.deepEqual(problems, []);
  assert.ok(result.code === 0 || result.code === 3, output);
});
