/**
 * Writes to a TAP with a vnet header (`IFF_VNET_HDR`): frames injected in one burst (one UDP
 * drain) that continue one TCP stream are glued into one large segment and written once with
 * `gso_type` TCP, for the kernel to deliver as it delivers what a NIC's GRO glued: one trip
 * through the bridge and one skb for the container's TCP instead of ~45. Anything else is
 * written alone with an empty vnet header, as it came.
 *
 * A frame joins the pending segment when it is plain IPv4 (no options, no fragment) or IPv6
 * (no extension header) TCP with payload, only ACK (and PSH) set, its TCP checksum is valid (so
 * a damaged frame is never hidden by a checksum the kernel would compute afresh), its
 * sequence number continues the pending one, and every header byte matches but the lengths,
 * IPv4 ID and checksums (the rules of Linux's GRO: same addresses, ports, ACK, window,
 * options). A shorter payload or PSH ends the segment. The glued segment carries the
 * pseudo-header sum in its TCP checksum field with `NEEDS_CSUM`, which is how the kernel's own
 * large segments look.
 *
 * @module
 */
import {
  fold,
  get16,
  get32,
  pseudoHeaderSum,
  put16,
  setIPv4HeaderChecksum,
  sumWords,
} from "./checksum.ts";
import {
  GSO_TCPV4,
  GSO_TCPV6,
  ipOffset,
  tcpOffset,
  VNET_F_NEEDS_CSUM,
  VNET_HDR_SIZE,
} from "./segment.ts";

const TCP_ACK = 0x10;
const TCP_PSH = 0x08;
const PROTO_TCP = 6;
/** Most frames glued into one segment. */
export const MAX_COALESCED = 64;
/** Largest IP packet (the IPv4 total length field; IPv6 payload length likewise). */
const MAX_IP_PACKET = 65535;

/** Counters of a {@link TcpCoalescer}. */
export interface CoalesceStats {
  /** Frames that went out inside glued segments. */
  glued: number;
  /** Glued segments written. */
  segments: number;
  /** Writes the device refused (each counted once, whatever it held). */
  writeErrors: number;
}

/**
 * Glues and writes frames; `write` gets a vnet header and a frame, as one buffer, and returns
 * false when the device refused it.
 *
 * @example
 * ```ts ignore
 * const glue = new TcpCoalescer((bytes) => tap.write(bytes) > 0);
 * for (const f of burst) glue.add(f);
 * glue.flush();
 * ```
 */
export class TcpCoalescer {
  readonly #write: (bytes: Uint8Array) => boolean;
  /** vnet header + the pending frame (headers of the first, payloads of all). */
  readonly #buf = new Uint8Array(VNET_HDR_SIZE + 18 + MAX_IP_PACKET);
  #count = 0;
  #end = 0;
  #ip = 0;
  #tcp = 0;
  #hdrEnd = 0;
  #segment = 0;
  #nextSeq = 0;
  #closed = false;
  readonly #stats: CoalesceStats = { glued: 0, segments: 0, writeErrors: 0 };

  constructor(write: (bytes: Uint8Array) => boolean) {
    this.#write = write;
  }

  /** Counters. */
  stats(): CoalesceStats {
    return { ...this.#stats };
  }

  /** Frames waiting for {@link flush}. */
  get pending(): number {
    return this.#count;
  }

  /** Takes a frame (copied); it is written by this call or by a later add/flush. */
  add(frame: Uint8Array): void {
    const ip = ipOffset(frame);
    const tcp = ip < 0 ? -1 : tcpOffset(frame, ip);
    const glueable = tcp >= 0 && this.#glueable(frame, ip, tcp);
    if (this.#count > 0 && !(glueable && this.#continues(frame, ip, tcp))) this.flush();
    if (!glueable) return this.#writeAlone(frame);
    const hdrEnd = tcp + (frame[tcp + 12] >> 4) * 4;
    const payload = frame.length - hdrEnd;
    const buf = this.#buf;
    if (this.#count === 0) {
      buf.set(frame, VNET_HDR_SIZE);
      this.#end = VNET_HDR_SIZE + frame.length;
      [this.#ip, this.#tcp, this.#hdrEnd, this.#segment] = [ip, tcp, hdrEnd, payload];
    } else {
      buf.set(frame.subarray(hdrEnd), this.#end);
      this.#end += payload;
      buf[VNET_HDR_SIZE + tcp + 13] |= frame[tcp + 13] & TCP_PSH;
    }
    this.#count++;
    this.#nextSeq = (get32(frame, tcp + 4) + payload) >>> 0;
    if (payload < this.#segment || (frame[tcp + 13] & TCP_PSH) !== 0) this.#closed = true;
    if (this.#closed || this.#count === MAX_COALESCED) this.flush();
  }

  /** Writes the pending segment, if any. */
  flush(): void {
    const count = this.#count;
    if (count === 0) return;
    this.#count = 0;
    this.#closed = false;
    const buf = this.#buf;
    buf.fill(0, 0, VNET_HDR_SIZE);
    if (count > 1) this.#finishGlued(count);
    if (!this.#write(buf.subarray(0, this.#end))) this.#stats.writeErrors++;
  }

  #finishGlued(count: number): void {
    const buf = this.#buf;
    const frame = buf.subarray(VNET_HDR_SIZE, this.#end);
    const [ip, tcp] = [this.#ip, this.#tcp];
    const v4 = frame[ip] >> 4 === 4;
    if (v4) {
      put16(frame, ip + 2, frame.length - ip);
      setIPv4HeaderChecksum(frame, ip);
    } else {
      put16(frame, ip + 4, frame.length - ip - 40);
    }
    frame[tcp + 16] = 0;
    frame[tcp + 17] = 0;
    put16(frame, tcp + 16, fold(pseudoHeaderSum(frame, ip, PROTO_TCP, frame.length - tcp)));
    buf[0] = VNET_F_NEEDS_CSUM;
    buf[1] = v4 ? GSO_TCPV4 : GSO_TCPV6;
    put16le(buf, 2, this.#hdrEnd);
    put16le(buf, 4, this.#segment);
    put16le(buf, 6, tcp);
    put16le(buf, 8, 16);
    this.#stats.glued += count;
    this.#stats.segments++;
  }

  /** TCP with payload, only ACK/PSH, a valid checksum. */
  #glueable(frame: Uint8Array, ip: number, tcp: number): boolean {
    const flags = frame[tcp + 13];
    if ((flags & ~TCP_PSH) !== TCP_ACK) return false;
    const hdrEnd = tcp + (frame[tcp + 12] >> 4) * 4;
    const ipEnd = frame[ip] >> 4 === 4 ? ip + get16(frame, ip + 2) : ip + 40 + get16(frame, ip + 4);
    if (ipEnd !== frame.length || frame.length <= hdrEnd) return false; // padding or truncated
    const l4 = frame.length - tcp;
    return fold(pseudoHeaderSum(frame, ip, PROTO_TCP, l4) + sumWords(frame, tcp, frame.length)) ===
      0xffff;
  }

  /** The frame continues the pending segment (same headers, next sequence number, room). */
  #continues(frame: Uint8Array, ip: number, tcp: number): boolean {
    if (this.#closed || ip !== this.#ip || tcp !== this.#tcp) return false;
    const hdrEnd = tcp + (frame[tcp + 12] >> 4) * 4;
    if (hdrEnd !== this.#hdrEnd) return false;
    const payload = frame.length - hdrEnd;
    if (payload > this.#segment || this.#end - VNET_HDR_SIZE - ip + payload > MAX_IP_PACKET) {
      return false;
    }
    if (get32(frame, tcp + 4) !== this.#nextSeq) return false;
    const pending = this.#buf;
    const p = VNET_HDR_SIZE;
    for (let i = 0; i < hdrEnd; i++) {
      if (frame[i] !== pending[p + i] && !mayDiffer(i, ip, tcp, frame[ip] >> 4 === 4)) return false;
    }
    return true;
  }

  #writeAlone(frame: Uint8Array): void {
    const buf = this.#buf;
    buf.fill(0, 0, VNET_HDR_SIZE);
    buf.set(frame, VNET_HDR_SIZE);
    this.#end = VNET_HDR_SIZE + frame.length;
    if (!this.#write(buf.subarray(0, this.#end))) this.#stats.writeErrors++;
  }
}

/** Header bytes that differ between segments of one stream: lengths, ID, checksums, seq, PSH. */
function mayDiffer(i: number, ip: number, tcp: number, v4: boolean): boolean {
  if (v4) {
    const o = i - ip;
    if (o === 2 || o === 3 || o === 4 || o === 5 || o === 10 || o === 11) return true;
  } else if (i - ip === 4 || i - ip === 5) {
    return true;
  }
  const t = i - tcp;
  return (t >= 4 && t <= 7) || t === 13 || t === 16 || t === 17;
}

function put16le(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value & 0xff;
  bytes[at + 1] = value >> 8;
}
