/**
 * The process an {@link import("./agent.ts").NsAgent} runs inside a host's network namespace:
 * reads one JSON request per line on stdin, answers one JSON line per request on stdout, in
 * completion order. Requests are HTTP calls to the router's control API (127.0.0.1:6784) or DNS
 * A queries to the host's weaveDNS (127.0.0.1:53). A failure (router down, timeout) is an answer
 * with status 0 and the error text, never an exit.
 *
 * @module
 */
import type { AgentAnswer, AgentRequest } from "./agent.ts";

const API = "http://127.0.0.1:6784";

async function answer(req: AgentRequest): Promise<AgentAnswer> {
  const signal = AbortSignal.timeout(req.timeoutMs);
  try {
    if (req.kind === "dns") {
      const addrs = await Deno.resolveDns(req.path, "A", {
        nameServer: { ipAddr: "127.0.0.1", port: 53 },
        signal,
      });
      return { id: req.id, status: 200, body: addrs.sort().join(" ") };
    }
    const init: RequestInit = { method: req.method, signal };
    if (req.body !== undefined) {
      init.body = req.body;
      init.headers = { "content-type": "application/x-www-form-urlencoded" };
    }
    const r = await fetch(API + req.path, init);
    return { id: req.id, status: r.status, body: await r.text() };
  } catch (e) {
    return {
      id: req.id,
      status: 0,
      body: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
    };
  }
}

const out = Deno.stdout.writable.getWriter();
const encoder = new TextEncoder();
let buffered = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  buffered += chunk;
  let nl: number;
  while ((nl = buffered.indexOf("\n")) >= 0) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    if (!line.trim()) continue;
    const req = JSON.parse(line) as AgentRequest;
    answer(req).then((a) => out.write(encoder.encode(JSON.stringify(a) + "\n")));
  }
}
