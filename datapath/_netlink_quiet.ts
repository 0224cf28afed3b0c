/**
 * Netlink changes that treat "already done" as success, for idempotent plumbing.
 *
 * @module
 */
import { deleteLink, ExistsError, type Netlink, NotFoundError } from "../sys/mod.ts";

/** Runs `fn`; an ExistsError (the thing is there already) counts as success. */
export function ignoreExists(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ExistsError)) throw e;
  }
}

/** Deletes link `ref`; one already gone counts as success. */
export function deleteQuietly(nl: Netlink, ref: string | number): void {
  try {
    deleteLink(nl, ref);
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
}
