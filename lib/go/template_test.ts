import assert from "node:assert/strict";
import { executeTemplate, TemplateError } from "./template.ts";
import { loadReport } from "../../api/_samples.ts";

const report = loadReport("3host", "h1");
const run = (source: string, data: unknown = report) => executeTemplate(source, data);

Deno.test("executeTemplate prints fields, json and literal text", () => {
  assert.equal(run("{{.Version}}"), "2.8.1");
  assert.equal(run("v={{ .Version }}!"), "v=2.8.1!");
  assert.equal(run("{{json .Router.Name}}"), '"02:00:00:00:00:01"');
  assert.equal(run("{{.Router.Name | json}}"), '"02:00:00:00:00:01"');
  assert.equal(run("{{json .Router.Targets}}"), '["192.0.2.2"]');
  assert.equal(
    run("{{json .Router.Peers}}").slice(0, 38),
    '[{"Name":"02:00:00:00:00:01","NickName',
  );
  assert.match(run("{{json .Router.Peers}}"), /"UID":\d{15,}/);
  assert.equal(run("{{.Router.Port}} {{.Ready}} {{.IPAM.RangeNumIPs}}"), "6783 true 1048576");
});

Deno.test("executeTemplate ranges over lists and maps, with else for empty ones", () => {
  assert.equal(
    run("{{range .Router.Peers}}{{.NickName}} {{end}}"),
    "h1 h2 h3 ",
  );
  assert.equal(
    run("{{range $i, $p := .Router.Peers}}{{$i}}={{$p.NickName}};{{end}}"),
    "0=h1;1=h2;2=h3;",
  );
  assert.equal(
    run("{{range $k, $v := (index .Router.Connections 0).Attrs}}{{$k}}:{{$v}},{{end}}"),
    "mtu:1438,name:sleeve,",
  );
  assert.equal(run("{{range .Router.TrustedSubnets}}x{{else}}none{{end}}"), "none");
  assert.equal(run("{{range .DNS.Entries}}x{{else}}no entries{{end}}"), "no entries");
});

Deno.test("executeTemplate evaluates if / else if / else / with with Go truthiness", () => {
  const t = "{{if .A}}a{{else if .B}}b{{else}}c{{end}}";
  assert.equal(run(t, { A: 1, B: 1 }), "a");
  assert.equal(run(t, { A: 0, B: "x" }), "b");
  assert.equal(run(t, { A: [], B: {} }), "c");
  assert.equal(run(t, { A: null, B: "" }), "c");
  assert.equal(run("{{with .IPAM}}{{.Range}}{{end}}"), "10.32.0.0/12");
  assert.equal(run("{{with .Proxy}}p{{else}}no proxy{{end}}"), "no proxy");
  assert.equal(run("{{if not .Router.Encryption}}plain{{end}}"), "plain");
  assert.equal(run('{{if and .Ready (eq .Router.NickName "h1")}}yes{{end}}'), "yes");
  assert.equal(run("{{if or .Router.Encryption .Router.PeerDiscovery}}yes{{end}}"), "yes");
});

Deno.test("executeTemplate supports len, printf, print, comparisons and variables", () => {
  assert.equal(run("{{len .Router.Peers}} {{len .Router.Targets}} {{len .Version}}"), "3 1 5");
  assert.equal(run("{{len .DNS.Entries}}"), "0");
  assert.equal(
    run('{{printf "%s has %d peers" .Router.NickName (len .Router.Peers)}}'),
    "h1 has 3 peers",
  );
  assert.equal(run('{{printf "%-8v|" .Router.NickName}}'), "h1      |");
  assert.equal(run('{{print "a" 1 2 "b"}}'), "a1 2b");
  assert.equal(run("{{println 1 2}}"), "1 2\n");
  assert.equal(run("{{$n := len .Router.Peers}}{{if gt $n 2}}many{{end}}"), "many");
  assert.equal(run("{{$x := 1}}{{$x = 2}}{{$x}}"), "2");
  assert.equal(run('{{if lt .Router.Port 7000}}low{{end}}{{if ne .Version "x"}}!{{end}}'), "low!");
  assert.equal(run("{{if eq .Router.Port 1 6783}}hit{{end}}"), "hit");
  assert.equal(run("{{(index .Router.Peers 1).NickName}}"), "h2");
  assert.equal(
    run("{{$.Version}}{{range .Router.Peers}}{{$.Router.NickName}}{{end}}"),
    "2.8.1h1h1h1",
  );
});

Deno.test("executeTemplate prints Go %v forms, <no value> and honours trim markers and comments", () => {
  assert.equal(run("{{.Nope}}"), "<no value>");
  assert.equal(run("{{.Router.Targets}}"), "[192.0.2.2]");
  assert.equal(run("{{.DNS.Upstream}}"), "<nil>");
  assert.equal(run("{{(index .Router.Connections 0).Attrs}}"), "map[mtu:1438 name:sleeve]");
  assert.equal(run("a  {{- .Version -}}  b"), "a2.8.1b");
  assert.equal(run("a{{/* hidden */}}b"), "ab");
  assert.equal(run('{{`raw\\n`}}{{"q\\t"}}{{true}}{{3.5}}'), "raw\\nq\ttrue3.5");
});

Deno.test("executeTemplate rejects malformed templates with a TemplateError", () => {
  const bad = [
    "{{",
    "{{.Version",
    "{{if .Ready}}x",
    "{{end}}",
    "{{else}}",
    "{{nosuch .X}}",
    "{{.Version 1}}",
    "{{(.Version}}",
    "{{|json}}",
    '{{define "x"}}{{end}}',
    "{{#}}",
    "{{$undefined}}",
    "{{.Version.Sub}}",
    "{{.Nope.Sub}}",
    "{{range .Version}}{{end}}",
    "{{index .Router.Peers 10}}",
    "{{lt .Version 1}}",
    "{{/* open",
    '{{"bad \\q"}}',
    "{{if}}{{end}}",
  ];
  for (const source of bad) {
    assert.throws(() => run(source), TemplateError, source);
  }
});

Deno.test("executeTemplate never throws anything but TemplateError on random input", () => {
  const alphabet = [
    "{{",
    "}}",
    ".",
    "Router",
    "Peers",
    "range",
    "if",
    "end",
    "else",
    "$x",
    ":=",
    "|",
    "json",
    "len",
    "(",
    ")",
    " ",
    '"s"',
    "1",
    "-",
    "with",
    "printf",
    "/*",
    "*/",
    "`",
    "index",
  ];
  let seed = 7;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  for (let i = 0; i < 3000; i++) {
    const parts = Array.from({ length: 1 + rand(12) }, () => alphabet[rand(alphabet.length)]);
    try {
      run(parts.join(""));
    } catch (e) {
      assert.ok(e instanceof TemplateError, `${parts.join("")}: ${e}`);
    }
  }
});
