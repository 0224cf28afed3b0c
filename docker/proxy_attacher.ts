/**
 * The proxy's attaching of containers: the ones it marked at create (see
 * {@link ATTACH_LABEL}) are attached through the router when they start —
 * after a start request the proxy forwarded, on the engine's start events
 * (containers Docker restarts by itself), and those running when the proxy
 * starts — once per container start, and killed when that fails, as Weave's
 * proxy did. It remembers each container's weave address for
 * `--rewrite-inspect`.
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";
import type { ContainerInfo } from "./client.ts";
import { ATTACH_LABEL, type WeaveInterface } from "./proxy_rewrite.ts";
import type { ProxyEffects } from "./proxy_server.ts";

/** How often, and how far apart, the engine is asked whether a container that failed to attach
 * has exited (its state lags its process by a few milliseconds). */
const EXIT_CHECKS = 10;
const EXIT_CHECK_MS = 100;

/** Options of {@link ProxyAttacher}. */
export interface ProxyAttacherOptions {
  effects: ProxyEffects;
  log: Logger;
  /** Wait before following the event stream again; default 2000 ms. */
  retryMs?: number;
}

/** Attaches marked containers when they start. */
export class ProxyAttacher {
  readonly #o: ProxyAttacherOptions;
  /** Weave interfaces of containers attached here. */
  readonly #attached = new Map<string, WeaveInterface>();
  /** Attach jobs by `id:pid`. */
  readonly #attaching = new Map<string, Promise<string | undefined>>();

  constructor(options: ProxyAttacherOptions) {
    this.#o = options;
  }

  /** The weave address of a container attached here, if any. */
  interfaceOf(id: string): WeaveInterface | undefined {
    return this.#attached.get(id);
  }

  /** Waits for the attach jobs under way. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.#attaching.values());
  }

  /** Attaches a started container the proxy marked; an error message when that failed. */
  async afterStart(ref: string): Promise<string | undefined> {
    let info: ContainerInfo;
    try {
      info = await this.#o.effects.inspect(ref);
    } catch (e) {
      return `Cannot attach container ${ref} to weave: ${(e as Error).message}`;
    }
    return await this.#ensureAttached(info);
  }

  /**
   * Attaches a running container the proxy marked, once per process (the start request and
   * the engine's start event may both ask); kills it when that fails.
   */
  #ensureAttached(info: ContainerInfo): Promise<string | undefined> {
    if (!(ATTACH_LABEL in info.labels) || !info.running) return Promise.resolve(undefined);
    const key = `${info.id}:${info.pid}`;
    let job = this.#attaching.get(key);
    if (!job) {
      job = this.#attach(info);
      this.#attaching.set(key, job);
      // A failed attach may be asked again (by a later start); a done one is remembered.
      job.then((failure) => failure && this.#attaching.delete(key));
    }
    return job;
  }

  /** Whether the engine reports `info`'s process ended, asked for up to ~1 s. */
  async #exitedSoon(info: ContainerInfo): Promise<boolean> {
    const { effects } = this.#o;
    for (let i = 0; i < EXIT_CHECKS; i++) {
      const now = await effects.inspect(info.id).catch(() => undefined);
      if (!now) return false;
      if (!now.running || now.pid !== info.pid) return true;
      await new Promise((r) => setTimeout(r, EXIT_CHECK_MS));
    }
    return false;
  }

  async #attach(info: ContainerInfo): Promise<string | undefined> {
    const { effects, log } = this.#o;
    const cidrs = info.labels[ATTACH_LABEL].split(" ").filter((w) => w !== "");
    log.info(
      `Attaching container ${info.id} with WEAVE_CIDR "${cidrs.join(" ")}" to weave network`,
    );
    try {
      const got = await effects.attach(info, cidrs);
      const first = got[0]?.split("/");
      if (first) this.#attached.set(info.id, { ip: first[0], prefix: Number(first[1]) });
      return undefined;
    } catch (e) {
      // Without Weave's weavewait a short-lived container may be gone before it is attached;
      // the engine may still call it running for a moment after its process ended.
      if (await this.#exitedSoon(info)) {
        log.info(`Container ${info.id} exited before it could be attached`);
        return undefined;
      }
      const message = `Cannot attach container ${info.id} to weave: ${(e as Error).message}`;
      log.error(message);
      await effects.kill(info.id).catch((k) => log.warn(`Error killing ${info.id}: ${k.message}`));
      return message;
    }
  }

  /**
   * Follows the engine's start events, so containers Docker restarts by itself (restart
   * policies, a daemon restart) are attached too; first attaches the marked ones running.
   */
  async watch(signal: AbortSignal): Promise<void> {
    const { effects, log } = this.#o;
    if (!effects.events || !effects.running) return;
    const onInfo = (info: ContainerInfo) => void this.#ensureAttached(info);
    for (const id of await effects.running().catch(() => [] as string[])) {
      await effects.inspect(id).then(onInfo, () => {});
    }
    while (!signal.aborted) {
      try {
        for await (const ev of effects.events(signal)) {
          if (ev.type === "container" && ev.action === "start") {
            await effects.inspect(ev.id).then(onInfo, () => {});
          }
        }
      } catch (e) {
        if (signal.aborted) return;
        log.debug(`proxy: Docker event stream: ${(e as Error).message}`);
      }
      if (signal.aborted) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.#o.retryMs ?? 2000);
        signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
      });
    }
  }
}
