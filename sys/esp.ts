/**
 * Whether the kernel can do IPsec ESP as encrypted fastdp needs it (spec §5.4): transport-mode
 * ESP with the AEAD `rfc4106(gcm(aes))`.
 *
 * Detection asks the kernel itself over NETLINK_XFRM: it installs a throw-away security
 * association (TEST-NET-1 addresses 192.0.2.1 → 192.0.2.2, a random SPI, a zero key) and
 * deletes it at once. The kernel validates the protocol (`esp4`, CONFIG_INET_ESP) and looks up
 * the AEAD before it stores anything, so a kernel without ESP or without GCM answers with an
 * error (e.g. "Requested AEAD algorithm not found") and nothing is left behind. Reading
 * `/proc/net/xfrm_stat` is not enough: it exists whenever XFRM is built in, ESP or not.
 *
 * The probe acts in the network namespace of the calling thread.
 *
 * @module
 */

import { check, closeFd, Errno, libc, pollReadable, sysError } from "./libc.ts";
import {
  decodeEnvelope,
  ipv4Bytes,
  NLM_F_ACK,
  NLM_F_REQUEST,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  parseError,
  rtAttr,
} from "./netlink/codec.ts";

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_XFRM = 6;
const SOL_NETLINK = 270;
const NETLINK_EXT_ACK = 11;
const MSG_DONTWAIT = 0x40;
const AF_INET = 2;

/** XFRM message types. */
export const XFRM_MSG_NEWSA = 16;
/** Deletes a security association. */
export const XFRM_MSG_DELSA = 17;
/** XFRMA_ALG_AEAD attribute (struct xfrm_algo_aead). */
export const XFRMA_ALG_AEAD = 18;
/** IP protocol number of ESP. */
export const IPPROTO_ESP = 50;
/** `struct xfrm_usersa_info` size on x86_64. */
export const XFRM_USERSA_INFO_SIZE = 224;
/** `struct xfrm_usersa_id` size. */
export const XFRM_USERSA_ID_SIZE = 24;
/** The AEAD encrypted fastdp uses. */
export const ESP_AEAD = "rfc4106(gcm(aes))";
const ALG_NAME_SIZE = 64;

/** A transport-mode ESP security association with an AEAD. */
export interface EspSaSpec {
  src: string;
  dst: string;
  spi: number;
  /** Key bytes (for rfc4106: 16/24/32 bytes of AES key then 4 bytes of salt). */
  key: Uint8Array;
  /** ICV length in bits (128 for Weave). */
  icvBits: number;
  /** AEAD name; default {@link ESP_AEAD}. */
  aead?: string;
}

function header(bytes: Uint8Array, type: number, flags: number, seq: number): DataView {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(0, bytes.length, true);
  view.setUint16(4, type, true);
  view.setUint16(6, flags, true);
  view.setUint32(8, seq >>> 0, true);
  return view;
}

function checkSpi(spi: number, what: string): void {
  if (!Number.isInteger(spi) || spi < 256 || spi > 0xffffffff) {
    throw new RangeError(`Cannot encode ${what}: SPI ${spi} is not in 256..4294967295`);
  }
}

/**
 * Encodes XFRM_MSG_NEWSA (request + ack) for `sa`, as `ip xfrm state add src S dst D proto esp
 * spi N mode transport aead NAME KEY ICV` sends it: selector zero, lifetimes unlimited.
 *
 * @example
 * ```ts
 * import { xfrmNewSaMessage } from "./esp.ts";
 * const msg = xfrmNewSaMessage(
 *   { src: "192.0.2.1", dst: "192.0.2.2", spi: 0x1234, key: new Uint8Array(36), icvBits: 128 },
 *   1,
 * );
 * msg.length; // 352
 * ```
 */
export function xfrmNewSaMessage(sa: EspSaSpec, seq: number): Uint8Array {
  checkSpi(sa.spi, "XFRM new SA");
  const name = new TextEncoder().encode(sa.aead ?? ESP_AEAD);
  if (name.length >= ALG_NAME_SIZE) {
    throw new RangeError(`Cannot encode XFRM new SA: algorithm name "${sa.aead}" is too long`);
  }
  const alg = new Uint8Array(ALG_NAME_SIZE + 8 + sa.key.length);
  const algView = new DataView(alg.buffer);
  alg.set(name, 0);
  algView.setUint32(ALG_NAME_SIZE, sa.key.length * 8, true);
  algView.setUint32(ALG_NAME_SIZE + 4, sa.icvBits, true);
  alg.set(sa.key, ALG_NAME_SIZE + 8);
  const attr = { type: XFRMA_ALG_AEAD, value: alg };
  const bytes = new Uint8Array(NLMSG_HDRLEN + XFRM_USERSA_INFO_SIZE + rtAttr.encodingLength(attr));
  const view = header(bytes, XFRM_MSG_NEWSA, NLM_F_REQUEST | NLM_F_ACK, seq);
  const info = NLMSG_HDRLEN;
  // struct xfrm_selector sel (56 bytes) stays zero.
  bytes.set(ipv4Bytes(sa.dst), info + 56); // id.daddr
  view.setUint32(info + 72, sa.spi); // id.spi, big-endian
  bytes[info + 76] = IPPROTO_ESP; // id.proto
  bytes.set(ipv4Bytes(sa.src), info + 80); // saddr
  bytes.fill(0xff, info + 96, info + 128); // lft: soft/hard byte and packet limits = XFRM_INF
  view.setUint16(info + 212, AF_INET, true); // family; mode 0 = transport
  rtAttr.encode(attr, bytes, info + XFRM_USERSA_INFO_SIZE);
  return bytes;
}

/**
 * Encodes XFRM_MSG_DELSA (request + ack) for the ESP SA `spi` towards `dst`.
 *
 * @example
 * ```ts
 * import { xfrmDelSaMessage } from "./esp.ts";
 * xfrmDelSaMessage({ dst: "192.0.2.2", spi: 0x1234 }, 1).length; // 40
 * ```
 */
export function xfrmDelSaMessage(sa: { dst: string; spi: number }, seq: number): Uint8Array {
  checkSpi(sa.spi, "XFRM delete SA");
  const bytes = new Uint8Array(NLMSG_HDRLEN + XFRM_USERSA_ID_SIZE);
  const view = header(bytes, XFRM_MSG_DELSA, NLM_F_REQUEST | NLM_F_ACK, seq);
  bytes.set(ipv4Bytes(sa.dst), NLMSG_HDRLEN);
  view.setUint32(NLMSG_HDRLEN + 16, sa.spi);
  view.setUint16(NLMSG_HDRLEN + 20, AF_INET, true);
  bytes[NLMSG_HDRLEN + 22] = IPPROTO_ESP;
  return bytes;
}

/** Sends `message` on an XFRM netlink socket and waits for its ack; throws SysError on error. */
function xfrmRequest(fd: number, message: Uint8Array<ArrayBuffer>, op: string): void {
  const c = libc();
  const kernel = new Uint8Array(12);
  kernel[0] = AF_NETLINK;
  check(op, c.sendto(fd, message, BigInt(message.length), 0, kernel, 12));
  const buffer = new Uint8Array(8192);
  const seq = new DataView(message.buffer).getUint32(8, true);
  for (;;) {
    if (!pollReadable(fd, 2000)) throw sysError(op, Errno.ETIMEDOUT, "no netlink reply");
    const n = check(op, c.recv(fd, buffer, BigInt(buffer.length), MSG_DONTWAIT));
    for (let at = 0; at + NLMSG_HDRLEN <= n;) {
      const { value: env, offset } = decodeEnvelope(buffer.subarray(0, n), at);
      at = offset;
      if (env.header.seq !== seq || env.header.type !== NLMSG_ERROR) continue;
      const e = parseError(env.payload, env.header.flags);
      if (e.errno !== 0) throw sysError(op, e.errno, e.message);
      return;
    }
  }
}

/** The outcome of {@link probeEsp}. */
export interface EspProbe {
  supported: boolean;
  /** Why not (the kernel's answer), or what was checked. */
  reason: string;
}

/**
 * Asks the kernel whether it accepts an ESP transport SA with `rfc4106(gcm(aes))`, by adding
 * and deleting one (see the module comment). Never throws.
 *
 * @example
 * ```ts ignore
 * import { probeEsp } from "./esp.ts";
 * probeEsp(); // { supported: false, reason: "… Requested AEAD algorithm not found …" }
 * ```
 */
export function probeEsp(): EspProbe {
  let fd = -1;
  try {
    fd = check(
      "open XFRM netlink socket",
      libc().socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_XFRM),
    );
    libc().setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, Uint8Array.of(1, 0, 0, 0), 4);
    const spi = 0x100 + Math.floor(Math.random() * 0x0fff_0000);
    const sa = { src: "192.0.2.1", dst: "192.0.2.2", spi, key: new Uint8Array(36), icvBits: 128 };
    xfrmRequest(fd, xfrmNewSaMessage(sa, 1) as Uint8Array<ArrayBuffer>, "add probe ESP SA");
    xfrmRequest(fd, xfrmDelSaMessage(sa, 2) as Uint8Array<ArrayBuffer>, "delete probe ESP SA");
    return { supported: true, reason: `kernel accepted an ESP SA with ${ESP_AEAD}` };
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    return { supported: false, reason };
  } finally {
    if (fd >= 0) closeFd(fd);
  }
}

let cached: EspProbe | undefined;

/**
 * True when the kernel can do ESP with `rfc4106(gcm(aes))`; probed once per process (in the
 * namespace current at the first call), then cached.
 *
 * @example
 * ```ts ignore
 * import { espSupported } from "./esp.ts";
 * if (!espSupported()) log.info("no IPsec ESP: encrypted connections use sleeve");
 * ```
 */
export function espSupported(): boolean {
  cached ??= probeEsp();
  return cached.supported;
}
