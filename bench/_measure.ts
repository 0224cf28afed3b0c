/**
 * The convergence measurement shared by both benchmark modes: a {@link Fleet}
 * of N routers is polled for {@link RouterSnapshot}s until every router knows
 * every peer, holds its full set of connections, and sees every peer's
 * connection list as that peer lists it itself; then the gossip traffic of a
 * following idle window is measured.
 *
 * The assessment of one poll is a pure function ({@link assess}), so both the
 * in-process and the one-process-per-router fleets are judged the same way.
 *
 * @module
 */

/** One router's state at one poll. */
export interface RouterSnapshot {
  /** Peer name in hex (the key of other routers' views). */
  name: string;
  /** Connections this router lists in its own topology entry: [all, established]. */
  own: [number, number];
  /** Live connections that are added and established. */
  established: number;
  /** True when the router holds as many connections as its limit allows. */
  atLimit: boolean;
  /** For every peer this router knows: that peer's connections as seen here, [all, established]. */
  view: Record<string, [number, number]>;
  /** Mesh TCP bytes sent since start (`trafficStats().sent`). */
  sent: number;
}

/** Memory of the whole fleet. */
export interface MemoryReading {
  /** RSS of every process holding routers, summed. */
  totalBytes: number;
  /** Mean RSS per router (in-process: total / N). */
  perRouterBytes: number;
  /** Largest single router process (processes mode only). */
  maxRouterBytes?: number;
  /** RSS before the routers connected (in-process: before they were built). */
  baselineBytes?: number;
  /** Peak RSS of the process (in-process mode, `VmHWM`). */
  peakBytes?: number;
}

/** N routers under test. */
export interface Fleet {
  readonly n: number;
  /** Gives every router its one starting peer; the clock starts just before. */
  begin(): Promise<void>;
  /** Every router's state, in router order. */
  snapshot(): Promise<RouterSnapshot[]>;
  /** Memory now. */
  memory(): Promise<MemoryReading>;
  /** Stops every router; safe to call twice. */
  stop(): Promise<void>;
}

/** What one poll says about the fleet. */
export interface Assessment {
  /** Routers that know all N peers. */
  routersKnowingAll: number;
  /** Fewest peers any router knows (itself included). */
  minPeersKnown: number;
  /** (router, peer) pairs where the router's view differs from the peer's own list. */
  staleViews: number;
  /** Routers with at least the wanted number of established connections. */
  routersFull: number;
  /** Routers that hit their connection limit. */
  routersAtLimit: number;
  allKnown: boolean;
  fullMesh: boolean;
  consistent: boolean;
}

/**
 * Judges one poll: `want` is the number of established connections each
 * router must hold (N−1, or the connection limit when it is lower).
 */
export function assess(snaps: RouterSnapshot[], n: number, want: number): Assessment {
  const own = new Map(snaps.map((s) => [s.name, s.own]));
  let routersKnowingAll = 0, staleViews = 0, routersFull = 0, routersAtLimit = 0;
  let minPeersKnown = Infinity;
  for (const s of snaps) {
    const names = Object.keys(s.view);
    minPeersKnown = Math.min(minPeersKnown, names.length);
    if (names.length === n) routersKnowingAll++;
    if (s.established >= want) routersFull++;
    if (s.atLimit) routersAtLimit++;
    for (const [name, own2] of own) {
      const seen = s.view[name];
      if (!seen || seen[0] !== own2[0] || seen[1] !== own2[1]) staleViews++;
    }
  }
  const allKnown = routersKnowingAll === n;
  const fullMesh = routersFull === n;
  return {
    routersKnowingAll,
    minPeersKnown: snaps.length ? minPeersKnown : 0,
    staleViews,
    routersFull,
    routersAtLimit,
    allKnown,
    fullMesh,
    consistent: allKnown && staleViews === 0,
  };
}

/** Mean and maximum of a list (0 for an empty one). */
export interface Spread {
  min: number;
  mean: number;
  max: number;
}

/** Min, mean and max of `values`. */
export function spread(values: number[]): Spread {
  if (values.length === 0) return { min: 0, mean: 0, max: 0 };
  const sum = values.reduce((a, b) => a + b, 0);
  return { min: Math.min(...values), mean: sum / values.length, max: Math.max(...values) };
}

/** The outcome of one run (serialisable: in-process runs travel as JSON). */
export interface RunResult {
  n: number;
  mode: "inprocess" | "processes";
  topology: "chain" | "star";
  connLimit: number;
  timeoutS: number;
  idleS: number;
  /** Seconds from begin until every router knew all N peers (null: never). */
  peersKnownS: number | null;
  /** Seconds until every router held its wanted established connections. */
  fullMeshS: number | null;
  /** Seconds until all known, full mesh and every view consistent, at one poll. */
  convergedS: number | null;
  /** Mesh bytes sent per router up to convergence (or the timeout). */
  sentToConvergence: Spread;
  /** Mesh bytes sent per router during the idle window (null: no idle window). */
  sentIdle: Spread | null;
  /** Whether the views were still consistent at the end of the idle window. */
  consistentAfterIdle: boolean | null;
  /** Established connections per router at the end. */
  connections: Spread;
  memory: MemoryReading;
  /** The last assessment (the partial state when not converged). */
  last: Assessment;
  polls: number;
  /** Things the reader must know (fd limit, ...). */
  notes: string[];
}

/** Options of {@link measure}. */
export interface MeasureOptions {
  mode: RunResult["mode"];
  topology: RunResult["topology"];
  connLimit: number;
  timeoutMs: number;
  idleMs: number;
  pollMs: number;
  notes?: string[];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs one convergence measurement on a started fleet; does not stop it. */
export async function measure(fleet: Fleet, opts: MeasureOptions): Promise<RunResult> {
  const n = fleet.n;
  const want = opts.connLimit > 0 ? Math.min(n - 1, opts.connLimit) : n - 1;
  const t0 = performance.now();
  const since = () => (performance.now() - t0) / 1000;
  await fleet.begin();
  let peersKnownS: number | null = null, fullMeshS: number | null = null;
  let convergedS: number | null = null, polls = 0;
  let snaps = await fleet.snapshot();
  let last = assess(snaps, n, want);
  for (;;) {
    polls++;
    const t = since();
    if (last.allKnown) peersKnownS ??= t;
    if (last.fullMesh) fullMeshS ??= t;
    if (last.consistent && last.fullMesh) {
      convergedS = t;
      break;
    }
    if (performance.now() - t0 > opts.timeoutMs) break;
    await sleep(opts.pollMs);
    snaps = await fleet.snapshot();
    last = assess(snaps, n, want);
  }
  const sentAtEnd = snaps.map((s) => s.sent);
  let sentIdle: Spread | null = null, consistentAfterIdle: boolean | null = null;
  if (convergedS !== null && opts.idleMs > 0) {
    await sleep(opts.idleMs);
    snaps = await fleet.snapshot();
    sentIdle = spread(snaps.map((s, i) => s.sent - sentAtEnd[i]));
    const after = assess(snaps, n, want);
    consistentAfterIdle = after.consistent && after.fullMesh;
  }
  return {
    n,
    mode: opts.mode,
    topology: opts.topology,
    connLimit: opts.connLimit,
    timeoutS: opts.timeoutMs / 1000,
    idleS: opts.idleMs / 1000,
    peersKnownS,
    fullMeshS,
    convergedS,
    sentToConvergence: spread(sentAtEnd),
    sentIdle,
    consistentAfterIdle,
    connections: spread(snaps.map((s) => s.established)),
    memory: await fleet.memory(),
    last,
    polls,
    notes: opts.notes ?? [],
  };
}
