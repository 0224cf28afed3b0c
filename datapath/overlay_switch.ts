/**
 * The overlay switch (spec §5.1): advertises our overlays in preference order
 * as the `Overlays` feature and, per connection, runs every overlay both
 * peers have, using the preferred one that works.
 *
 * The common list is the overlays the remote also advertised, in *our* order
 * (Weave advertises `fastdp sleeve`; both sides must compute the same list,
 * because control messages name their overlay by its index in it). Each
 * sub-connection's control messages travel as TCP tag 7 with body
 * `[index][subTag][payload]`. A remote without the `Overlays` feature gets
 * plain sleeve with its control messages as bare tags 1–3 (compat mode).
 *
 * The connection is established when its first sub-connection is; a
 * sub-connection that fails is stopped and dropped, and the connection fails
 * with "no working forwarders" once none is left.
 *
 * Data: the switch is a {@link NetworkOverlay}. Each connection forwards over
 * the first sub-connection (in our order) that is established and healthy,
 * else the first working one; the choice is re-evaluated on every forward (a
 * loop over at most a few sub-connections), on `attrs()` and when a
 * sub-connection is established or fails, and each change is logged
 * (`overlay_switch ->[name(nick)] using fastdp`). A sub-overlay that is a
 * `NetworkOverlay` gets the frame consumer; a sub-connection that is not an
 * `OverlayForwarder` can establish a connection but carries no frames.
 *
 * @module
 */
import { discardLogger, type Logger } from "../lib/log.ts";
import { formatPeerName, type PeerName } from "../lib/peer_name.ts";
import type { Overlay, OverlayConnection, OverlayConnectionParams } from "../mesh/overlay.ts";
import type {
  ForwardKey,
  ForwardOptions,
  FrameConsumer,
  NetworkOverlay,
  OverlayForwarder,
} from "./datapath.ts";

/** The TCP tag that carries sub-overlay control messages. */
export const OVERLAY_CONTROL_TAG = 7;
/** The handshake feature naming the overlays a peer offers. */
export const OVERLAYS_FEATURE = "Overlays";
/** The overlay used, unprefixed, with peers that do not send {@link OVERLAYS_FEATURE}. */
export const COMPAT_OVERLAY = "sleeve";
/**
 * The connection attribute saying why a preferred overlay is not in use
 * (`weave status connections` shows it after the others, in parentheses).
 */
export const WHY_ATTR = "why";
/** Control tags that carry sleeve messages directly in compat mode. */
const COMPAT_TAGS = new Set([1, 2, 3]);

/** One overlay under the switch, named as advertised. */
export interface NamedOverlay {
  name: string;
  /** Usually a {@link NetworkOverlay} (sleeve, fastdp); a plain Overlay carries no frames. */
  overlay: Overlay | NetworkOverlay;
}

function isNetworkOverlay(o: Overlay): o is NetworkOverlay {
  return typeof (o as Partial<NetworkOverlay>).setConsumer === "function";
}

function isForwarder(c: OverlayConnection): c is OverlayForwarder {
  return typeof (c as Partial<OverlayForwarder>).forward === "function";
}

/** Options of {@link OverlaySwitch}. */
export interface OverlaySwitchOptions {
  /** Logs `overlay_switch ->[name(nick)] using <overlay>` when the choice changes. */
  log?: Logger;
  /**
   * Overlays this router does not offer, each with why (e.g.
   * `{ fastdp: "off: kernel lacks IPsec ESP" }`), for every connection's `why` attribute.
   */
  unavailable?: Readonly<Record<string, string>>;
}

/**
 * An {@link Overlay} over an ordered list of overlays, most preferred first.
 *
 * @example
 * ```ts
 * import { OverlaySwitch } from "./overlay_switch.ts";
 * import { NullOverlay } from "../mesh/overlay.ts";
 * const sw = new OverlaySwitch([{ name: "sleeve", overlay: new NullOverlay() }]);
 * const features: Record<string, string> = {};
 * sw.addFeaturesTo(features);
 * features.Overlays; // "sleeve"
 * ```
 */
export class OverlaySwitch implements NetworkOverlay {
  readonly #overlays: readonly NamedOverlay[];
  readonly #log: Logger;
  readonly #unavailable: Readonly<Record<string, string>>;
  /** The latest connection to each peer. */
  readonly #connections = new Map<PeerName, SwitchConnection>();

  constructor(overlays: readonly NamedOverlay[], options: OverlaySwitchOptions = {}) {
    const names = overlays.map((o) => o.name);
    const bad = names.find((n, i) => n === "" || /\s/.test(n) || names.indexOf(n) !== i);
    if (overlays.length === 0 || bad !== undefined) {
      throw new TypeError(
        `Cannot create overlay switch: overlay names must be unique, non-empty words, got "${
          names.join('", "')
        }"`,
      );
    }
    if (overlays.length > 256) {
      throw new RangeError(
        `Cannot create overlay switch: ${overlays.length} overlays, at most 256`,
      );
    }
    this.#overlays = [...overlays];
    this.#log = options.log ?? discardLogger;
    this.#unavailable = options.unavailable ?? {};
  }

  /** Sets `Overlays` to our names in order, after each overlay added its own features. */
  addFeaturesTo(features: Record<string, string>): void {
    for (const { overlay } of this.#overlays) overlay.addFeaturesTo(features);
    features[OVERLAYS_FEATURE] = this.#overlays.map((o) => o.name).join(" ");
  }

  /**
   * Prepares one sub-connection per common overlay; throws when there is none
   * or when every one of them refused.
   */
  prepareConnection(params: OverlayConnectionParams): OverlayConnection {
    const peer = `${formatPeerName(params.remotePeer)}(${params.remoteNickName})`;
    const remote = params.remoteFeatures[OVERLAYS_FEATURE];
    const compat = remote === undefined;
    const common = compat
      ? this.#overlays.filter((o) => o.name === COMPAT_OVERLAY)
      : this.#overlays.filter((o) => remote.split(/\s+/).includes(o.name));
    if (common.length === 0) {
      const theirs = compat
        ? `no "${OVERLAYS_FEATURE}" feature (compat needs sleeve)`
        : `"${remote}"`;
      throw new Error(
        `Cannot prepare overlay connection to ${peer}: no overlay in common (ours "${
          this.#overlays.map((o) => o.name).join(" ")
        }", theirs ${theirs})`,
      );
    }
    // Why an overlay is not in use, for status: ours but off, or not theirs.
    // Overlays we do not offer at all come first: they are why a user would ask.
    const notes: [string, string | null][] = [
      ...Object.entries(this.#unavailable).filter(([n]) =>
        !this.#overlays.some((o) => o.name === n)
      ),
      ...this.#overlays.map((o): [string, string | null] => [
        o.name,
        this.#unavailable[o.name] ?? (common.includes(o) ? null : "not offered by peer"),
      ]),
    ];
    const conn: SwitchConnection = new SwitchConnection({
      params,
      common,
      compat,
      notes,
      log: this.#log.withPrefix(`overlay_switch ->[${peer}]`),
      onStop: () => {
        if (this.#connections.get(params.remotePeer) === conn) {
          this.#connections.delete(params.remotePeer);
        }
      },
    });
    this.#connections.set(params.remotePeer, conn);
    return conn;
  }

  /** Hands the consumer to every sub-overlay that carries frames. */
  setConsumer(consumer: FrameConsumer): void {
    for (const { overlay } of this.#overlays) {
      if (isNetworkOverlay(overlay)) overlay.setConsumer(consumer);
    }
  }

  /** The (switching) forwarder of the latest connection to `peer`. */
  forwarderTo(peer: PeerName): OverlayForwarder | undefined {
    return this.#connections.get(peer);
  }

  /** Passes the invalidation to every sub-overlay. */
  invalidateRoutes(): void {
    for (const { overlay } of this.#overlays) {
      if (isNetworkOverlay(overlay)) overlay.invalidateRoutes();
    }
  }

  /** Each overlay's diagnostics under its name. */
  diagnostics(): Record<string, unknown> {
    return Object.fromEntries(this.#overlays.map((o) => [o.name, o.overlay.diagnostics()]));
  }

  /** Stops every overlay. */
  async stop(): Promise<void> {
    await Promise.all(this.#overlays.map((o) => o.overlay.stop()));
  }
}

/** A sub-connection and what the switch knows about it. */
interface Sub {
  name: string;
  index: number;
  conn: OverlayConnection | null;
  established: boolean;
  /** Why `conn` is null. */
  lost?: "refused" | "failed";
}

interface SwitchConnectionOptions {
  params: OverlayConnectionParams;
  common: readonly NamedOverlay[];
  compat: boolean;
  /** Our overlays in our order, each with why this connection cannot use it, or null. */
  notes: readonly [string, string | null][];
  log: Logger;
  onStop: () => void;
}

/** One connection's set of sub-connections. */
class SwitchConnection implements OverlayForwarder {
  readonly #params: OverlayConnectionParams;
  readonly #compat: boolean;
  readonly #notes: readonly [string, string | null][];
  readonly #log: Logger;
  readonly #onStop: () => void;
  readonly #subs: Sub[];
  #chosen: Sub | null = null;
  #established = false;
  #stopped = false;

  constructor(opts: SwitchConnectionOptions) {
    this.#params = opts.params;
    this.#compat = opts.compat;
    this.#notes = opts.notes;
    this.#log = opts.log;
    this.#onStop = opts.onStop;
    const errors: string[] = [];
    this.#subs = opts.common.map(({ name, overlay }, index) => {
      const sub: Sub = { name, index, conn: null, established: false };
      try {
        sub.conn = overlay.prepareConnection(this.#subParams(sub));
      } catch (e) {
        sub.lost = "refused";
        errors.push(`${name}: ${e instanceof Error ? e.message : e}`);
        this.#log.warn(`${name} refused the connection: ${e instanceof Error ? e.message : e}`);
      }
      return sub;
    });
    if (this.#subs.every((s) => s.conn === null)) {
      throw new Error(
        `Cannot prepare overlay connection: no working forwarders (${errors.join("; ")})`,
      );
    }
    this.#choose();
  }

  confirm(): void {
    for (const sub of this.#subs) if (!this.#stopped) sub.conn?.confirm();
  }

  controlMessage(tag: number, body: Uint8Array): void {
    if (this.#stopped) return;
    if (this.#compat) {
      if (COMPAT_TAGS.has(tag)) this.#subs[0].conn?.controlMessage(tag, body);
      else this.#log.debug(`ignoring control message tag ${tag} in compat mode`);
      return;
    }
    if (tag !== OVERLAY_CONTROL_TAG || body.length < 2) {
      this.#log.debug(`ignoring control message tag ${tag} with ${body.length}-byte body`);
      return;
    }
    const sub = this.#subs[body[0]];
    if (!sub) {
      this.#log.debug(`ignoring control message for overlay index ${body[0]}`);
      return;
    }
    sub.conn?.controlMessage(body[1], body.subarray(2));
  }

  /** Forwards over the chosen sub-connection; false when it cannot carry frames. */
  forward(key: ForwardKey, frame: Uint8Array, opts: ForwardOptions): boolean {
    this.#choose();
    const chosen = this.#chosen;
    const conn = chosen?.conn;
    if (conn && isForwarder(conn) && conn.forward(key, frame, opts)) return true;
    // The chosen datapath declined (e.g. fastdp cannot relay): the next working one may take it.
    for (const sub of this.#subs) {
      if (sub === chosen || !sub.conn || !sub.established || !isForwarder(sub.conn)) continue;
      if (sub.conn.forward(key, frame, opts)) return true;
    }
    return false;
  }

  /** True while some established sub-connection is healthy. */
  healthy(): boolean {
    return this.#subs.some((s) => s.conn !== null && s.established && subHealthy(s.conn));
  }

  /**
   * The chosen sub-connection's attributes, named after its overlay, and
   * `why` a preferred overlay is not used (`fastdp unhealthy`): `off: ...`
   * (not offered by us), `not offered by peer`, `refused` (it threw on
   * prepare), `failed`, `pending` (not established) or `unhealthy`.
   */
  attrs(): Record<string, string | number | boolean> {
    this.#choose();
    const chosen = this.#chosen;
    if (!chosen?.conn) return {};
    const why: string[] = [];
    for (const [name, note] of this.#notes) {
      if (name === chosen.name) break;
      const sub = this.#subs.find((s) => s.name === name);
      why.push(`${name} ${note ?? sub?.lost ?? (sub?.established ? "unhealthy" : "pending")}`);
    }
    const attrs = { ...chosen.conn.attrs(), name: chosen.name };
    return why.length ? { ...attrs, [WHY_ATTR]: why.join("; ") } : attrs;
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#onStop();
    for (const sub of this.#subs) {
      const conn = sub.conn;
      sub.conn = null;
      conn?.stop();
    }
  }

  #subParams(sub: Sub): OverlayConnectionParams {
    return {
      ...this.#params,
      sendControlMessage: (tag, body) => {
        if (this.#stopped) return;
        if (this.#compat) return this.#params.sendControlMessage(tag, body);
        const wrapped = new Uint8Array(2 + body.length);
        wrapped[0] = sub.index;
        wrapped[1] = tag;
        wrapped.set(body, 2);
        this.#params.sendControlMessage(OVERLAY_CONTROL_TAG, wrapped);
      },
      onEstablished: () => this.#onSubEstablished(sub),
      onError: (error) => this.#onSubError(sub, error),
    };
  }

  #onSubEstablished(sub: Sub): void {
    if (this.#stopped || !sub.conn || sub.established) return;
    sub.established = true;
    this.#choose();
    if (this.#established) return;
    this.#established = true;
    this.#params.onEstablished();
  }

  #onSubError(sub: Sub, error: Error): void {
    if (this.#stopped || !sub.conn) return;
    this.#log.info(`${sub.name} failed: ${error.message}`);
    const conn = sub.conn;
    sub.conn = null;
    sub.lost = "failed";
    sub.established = false;
    conn.stop();
    if (this.#subs.some((s) => s.conn !== null)) {
      this.#choose();
      return;
    }
    this.stop();
    const peer = `${formatPeerName(this.#params.remotePeer)}(${this.#params.remoteNickName})`;
    this.#params.onError(new Error(`no working forwarders to ${peer}`, { cause: error }));
  }

  /**
   * Picks the first established and healthy sub-connection, else the first
   * working one; logs a change. Allocation-free: it runs on every forward.
   */
  #choose(): void {
    let best: Sub | null = null;
    let firstWorking: Sub | null = null;
    const subs = this.#subs;
    for (let i = 0; i < subs.length; i++) {
      const s = subs[i];
      if (s.conn === null) continue;
      firstWorking ??= s;
      if (s.established && subHealthy(s.conn)) {
        best = s;
        break;
      }
    }
    best ??= firstWorking;
    if (best === this.#chosen) return;
    this.#chosen = best;
    if (best) this.#log.info(`using ${best.name}`);
  }
}

/** A sub-connection without a health signal counts as healthy once established. */
function subHealthy(conn: OverlayConnection): boolean {
  return !isForwarder(conn) || conn.healthy();
}
