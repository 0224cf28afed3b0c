/**
 * A helper process inside one host's network namespace that makes HTTP calls to the router's
 * control API and DNS queries to its weaveDNS on behalf of a fault campaign running outside the
 * namespace: one long-lived process per host instead of one `deno eval` per request, so a storm
 * of thousands of requests costs milliseconds each, not hundreds.
 *
 * @module
 */
import type { TestHost } from "../harness/netns.ts";

/** One request to the agent (an HTTP call or a DNS A query). */
export interface AgentRequest {
  id: number;
  kind: "http" | "dns";
  /** HTTP method (for "http"). */
  method?: string;
  /** API path for "http", the name for "dns". */
  path: string;
  /** Form body (for "http"). */
  body?: string;
  timeoutMs: number;
}

/** The agent's answer: HTTP status (200 for a DNS answer), 0 when the call failed. */
export interface AgentAnswer {
  id: number;
  status: number;
  body: string;
}

const CHILD = new URL("./_agent_child.ts", import.meta.url).pathname;

/** The client side of the agent of one host; dispose to stop it. */
export class NsAgent implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #waiting = new Map<number, (a: AgentAnswer) => void>();
  readonly #reading: Promise<void>;
  #next = 1;

  /** Starts the agent inside `host`'s namespace. */
  constructor(host: TestHost) {
    this.#child = host.spawn([Deno.execPath(), "run", "-A", "--quiet", CHILD], {
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    });
    this.#writer = this.#child.stdin.getWriter();
    this.#reading = this.#read();
  }

  /** Calls the router's API; status 0 when the router did not answer. */
  http(method: string, path: string, body?: string, timeoutMs = 10_000): Promise<AgentAnswer> {
    return this.#ask({ kind: "http", method, path, body, timeoutMs });
  }

  /** Asks the host's weaveDNS for `name`'s A records; body is the sorted addresses. */
  resolve(name: string, timeoutMs = 2_000): Promise<AgentAnswer> {
    return this.#ask({ kind: "dns", path: name, timeoutMs });
  }

  async #ask(req: Omit<AgentRequest, "id">): Promise<AgentAnswer> {
    const id = this.#next++;
    const answered = new Promise<AgentAnswer>((resolve) => this.#waiting.set(id, resolve));
    await this.#writer.write(new TextEncoder().encode(JSON.stringify({ ...req, id }) + "\n"));
    return answered;
  }

  async #read(): Promise<void> {
    let buffered = "";
    for await (const chunk of this.#child.stdout.pipeThrough(new TextDecoderStream())) {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const a = JSON.parse(buffered.slice(0, nl)) as AgentAnswer;
        buffered = buffered.slice(nl + 1);
        this.#waiting.get(a.id)?.(a);
        this.#waiting.delete(a.id);
      }
    }
    for (const [id, resolve] of this.#waiting) resolve({ id, status: 0, body: "agent exited" });
    this.#waiting.clear();
  }

  /** Closes the agent's stdin and waits for it to exit. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#writer.close().catch(() => {});
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }, 5_000);
    await this.#child.status;
    clearTimeout(timer);
    await this.#reading;
  }
}
