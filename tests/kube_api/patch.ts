/**
 * PATCH bodies for the stand-in API server: JSON merge patch (RFC 7386) and
 * the part of Kubernetes' strategic merge patch that Node status needs —
 * lists whose patch merge key is `type` (`status.conditions`,
 * `status.addresses`) are merged item by item; other lists are replaced.
 * Directives (`$patch`, `$retainKeys`, …) and JSON patch are refused (415).
 *
 * @module
 */
import { ApiStatusError, type KubeObject } from "./store.ts";

const MERGE_BY_TYPE = new Set(["conditions", "addresses"]);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObject = (v: unknown): v is Record<string, Json> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** RFC 7386 merge of `patch` into `target` (strategic: lists keyed by type merged). */
export function mergePatch(target: Json, patch: Json, strategic: boolean, key = ""): Json {
  if (strategic && MERGE_BY_TYPE.has(key) && Array.isArray(patch) && Array.isArray(target)) {
    const out = [...target];
    for (const item of patch) {
      if (!isObject(item) || typeof item.type !== "string") {
        throw new ApiStatusError(422, "Invalid", `${key}: every item needs a "type"`);
      }
      const at = out.findIndex((t) => isObject(t) && t.type === item.type);
      if (at < 0) out.push(item);
      else out[at] = mergePatch(out[at], item, strategic);
    }
    return out;
  }
  if (!isObject(patch)) return patch;
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (strategic && k.startsWith("$")) {
      throw new ApiStatusError(
        415,
        "UnsupportedMediaType",
        `the stand-in ignores no directive: ${k}`,
      );
    }
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k] ?? null, v, strategic, k);
  }
  return out;
}

/** Applies a PATCH body of the given content type to `current`. */
export function applyPatch(current: KubeObject, text: string, contentType: string): KubeObject {
  const type = contentType.split(";")[0].trim();
  const strategic = type === "application/strategic-merge-patch+json";
  if (!strategic && type !== "application/merge-patch+json") {
    throw new ApiStatusError(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format: ${type}`,
    );
  }
  let patch: Json;
  try {
    patch = JSON.parse(text);
  } catch {
    throw new ApiStatusError(400, "BadRequest", "the patch is not JSON");
  }
  if (!isObject(patch)) throw new ApiStatusError(400, "BadRequest", "the patch is not an object");
  return mergePatch(current as unknown as Json, patch, strategic) as unknown as KubeObject;
}
