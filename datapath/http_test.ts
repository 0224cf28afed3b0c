// The plumbing routes with IPAM: addresses given by hand are claimed (through a fake IPAM seam)
// before the plumbing, refused claims answer 400, detach/hide release, and a client that goes
// away cancels a waiting claim. The kernel is datapath/fake_kernel.ts.
import assert from "node:assert/strict";
import { ApiError, type ApiRoute } from "../api/ops.ts";
import { ipInSubnets, parseCidr } from "../lib/cidr.ts";
import { discardLogger } from "../lib/log.ts";
import { FakeKernel, type FakeNamespace, FakeNft } from "./fake_kernel.ts";
import { type PlumbingIpam, plumbingRoutes } from "./http.ts";

const RANGE = parseCidr("10.32.0.0/12");

/**
 * IPAM over 10.32.0.0/12 in memory. Claims inside the range wait while {@link asking} is set
 * (the range's owner being asked) and fail when another identifier holds the address; claims
 * outside the range record nothing. Every call is logged.
 */
class FakeIpam implements PlumbingIpam {
  /** Address → holder. */
  held = new Map<string, string>();
  calls: string[] = [];
  asking: PromiseWithResolvers<void> | undefined;

  async claim(ident: string, cidr: string, signal: AbortSignal): Promise<void> {
    this.calls.push(`claim ${ident} ${cidr}`);
    const ip = cidr.split("/")[0];
    if (!ipInSubnets(ip, [RANGE])) return;
    if (this.asking) await untilAborted(this.asking.promise, signal, `claim for ${ident}`);
    const holder = this.held.get(ip);
    if (holder !== undefined && holder !== ident) {
      throw new Error(`address ${ip} is already owned by ${holder}`);
    }
    this.held.set(ip, ident);
  }

  allocate(ident: string, subnet: string | undefined, _signal: AbortSignal): Promise<string> {
    this.calls.push(`allocate ${ident} ${subnet ?? "default"}`);
    for (let n = 1;; n++) {
      const ip = `10.32.0.${n}`;
      if (this.held.has(ip)) continue;
      this.held.set(ip, ident);
      return Promise.resolve(`${ip}/12`);
    }
  }

  release(ident: string, cidr?: string): Promise<void> {
    this.calls.push(`release ${ident} ${cidr ?? "all"}`);
    for (const [ip, holder] of this.held) {
      if (holder === ident && (cidr === undefined || cidr.startsWith(`${ip}/`))) {
        this.held.delete(ip);
      }
    }
    return Promise.resolve();
  }

  holdings(): Record<string, string> {
    return Object.fromEntries(this.held);
  }
}

function untilAborted<T>(p: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new Error(`${what} cancelled`));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** A host with containers c1, c2 and the routes over them with a {@link FakeIpam}. */
function rig() {
  const k = new FakeKernel();
  const c1 = k.add("/run/netns/c1");
  const c2 = k.add("/run/netns/c2");
  const nft = new FakeNft();
  const ipam = new FakeIpam();
  const routes = plumbingRoutes({
    netlink: k.host,
    log: discardLogger,
    nft: nft.run,
    namespaces: k.namespaces(),
    ipam,
  });
  return { k, c1, c2, nft, ipam, call: caller(routes) };
}

type Form = Record<string, string | string[]>;

/** Calls the route matching `method path` with a url-encoded form, as the API server would. */
function caller(routes: ApiRoute[]) {
  return async (
    method: ApiRoute["method"],
    path: string,
    form: Form = {},
    signal?: AbortSignal,
  ) => {
    const url = new URL(`http://router${path}`);
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(form)) for (const x of [v].flat()) body.append(k, x);
    const route = routes.find((r) => r.method === method && r.pattern.test(url.pathname));
    assert.ok(route, `no route ${method} ${path}`);
    const init = method === "GET" ? { method, signal } : { method, body, signal };
    const params = { ...route.pattern.exec(url.pathname)!.groups };
    return await (await route.handle(new Request(url, init), params, url)).text();
  };
}

const addrsOf = (ns: FakeNamespace) =>
  ns.addrs.filter((a) => a.index === ns.link("ethwe")?.index).map((a) => a.cidr);

Deno.test("POST /attach claims each address given by hand for the container before plumbing", async () => {
  const { c1, c2, ipam, call } = rig();
  const out = await call("POST", "/attach", {
    container: "c1",
    cidr: ["010.32.0.1/12", "192.168.9.1/24", "10.32.0.1/12"],
  });
  assert.equal(out, "10.32.0.1/12\n192.168.9.1/24\n");
  assert.deepEqual(addrsOf(c1), ["10.32.0.1/12", "192.168.9.1/24"]);
  assert.deepEqual(ipam.calls, ["claim c1 10.32.0.1/12", "claim c1 192.168.9.1/24"]);
  assert.deepEqual(ipam.holdings(), { "10.32.0.1": "c1" }, "outside the range: untouched");
  // An automatic address for another container now skips the claimed one.
  assert.equal(
    await call("POST", "/attach", { container: "c2", net: "net:default" }),
    "10.32.0.2/12\n",
  );
  assert.deepEqual(addrsOf(c2), ["10.32.0.2/12"]);
  assert.deepEqual(ipam.holdings(), { "10.32.0.1": "c1", "10.32.0.2": "c2" });
});

Deno.test("POST /attach waits for a claim inside the range, not for one outside; ps answers meanwhile", async () => {
  const { c1, c2, ipam, call } = rig();
  ipam.asking = Promise.withResolvers();
  assert.equal(
    await call("POST", "/attach", { container: "c1", cidr: "192.168.9.1/24" }),
    "192.168.9.1/24\n",
  );
  let done = false;
  const waiting = call("POST", "/attach", { container: "c2", cidr: "10.32.0.5/12" })
    .finally(() => done = true);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(done, false);
  assert.equal(c2.link("ethwe"), undefined, "nothing plumbed while the owner is asked");
  assert.match(await call("GET", "/ps"), /"id":"c1"/, "the plumbing queue is not blocked");
  ipam.asking.resolve();
  assert.equal(await waiting, "10.32.0.5/12\n");
  assert.deepEqual(addrsOf(c2), ["10.32.0.5/12"]);
  assert.deepEqual(addrsOf(c1), ["192.168.9.1/24"]);
});

Deno.test("POST /attach and /expose answer 400 'Unable to claim' for a held address and plumb nothing", async () => {
  const { k, c2, nft, ipam, call } = rig();
  await call("POST", "/attach", { container: "c1", cidr: "10.32.0.1/12" });
  await assert.rejects(
    call("POST", "/attach", { container: "c2", cidr: ["10.32.0.2/12", "10.32.0.1/12"] }),
    (e) =>
      e instanceof ApiError && e.status === 400 &&
      e.message === "Unable to claim: address 10.32.0.1 is already owned by c1",
  );
  assert.equal(c2.link("ethwe"), undefined);
  await assert.rejects(
    call("POST", "/expose", { cidr: "10.32.0.1/12" }),
    /^ApiError: Unable to claim: address 10\.32\.0\.1 is already owned by c1$/,
  );
  assert.deepEqual(k.host.addrs, []);
  assert.equal(nft.table, undefined);
  // Bad input is refused before anything is claimed.
  await assert.rejects(
    call("POST", "/attach", { container: "c2", cidr: "10.32.0.0/12" }),
    /network address/,
  );
  assert.equal(ipam.calls.filter((c) => c.includes("10.32.0.0")).length, 0);
});

Deno.test("POST /detach and /hide release what IPAM holds for the addresses they remove", async () => {
  const { ipam, call } = rig();
  await call("POST", "/attach", { container: "c1", cidr: ["10.32.0.1/12", "10.32.0.2/12"] });
  await call("POST", "/attach", { container: "c2", net: "net:default" });
  assert.equal(
    await call("POST", "/detach", { container: "c1", cidr: "10.32.0.2/12" }),
    "10.32.0.2/12\n",
  );
  assert.deepEqual(ipam.holdings(), { "10.32.0.1": "c1", "10.32.0.3": "c2" });
  await call("POST", "/detach", { container: "c1" });
  assert.deepEqual(ipam.holdings(), { "10.32.0.3": "c2" });
  assert.equal(
    await call("POST", "/expose", { cidr: ["10.32.0.9/12", "10.32.0.10/12"] }),
    "10.32.0.9/12\n10.32.0.10/12\n",
  );
  assert.deepEqual(ipam.calls.slice(-2), [
    "claim weave:expose 10.32.0.9/12",
    "claim weave:expose 10.32.0.10/12",
  ]);
  await call("POST", "/hide", { cidr: "10.32.0.9/12" });
  assert.deepEqual(ipam.holdings(), { "10.32.0.3": "c2", "10.32.0.10": "weave:expose" });
  await call("POST", "/hide");
  assert.deepEqual(ipam.holdings(), { "10.32.0.3": "c2" });
  assert.deepEqual(ipam.calls.filter((c) => c.startsWith("release")), [
    "release c1 10.32.0.2/12",
    "release c1 all",
    "release weave:expose 10.32.0.9/12",
    "release weave:expose all",
  ]);
});

Deno.test("POST /attach gives up a waiting claim when the client goes away", async () => {
  const { c1, ipam, call } = rig();
  ipam.asking = Promise.withResolvers();
  const client = new AbortController();
  const waiting = call("POST", "/attach", { container: "c1", cidr: "10.32.0.5/12" }, client.signal);
  await new Promise((resolve) => setTimeout(resolve, 10));
  client.abort();
  await assert.rejects(waiting, /claim for c1 cancelled/);
  ipam.asking.resolve();
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(c1.link("ethwe"), undefined, "never plumbed");
  assert.deepEqual(ipam.holdings(), {});
});
