/**
 * A small, pure reader for classic libpcap files, enough to replay the golden
 * Weave captures in tests: the file and record headers (both byte orders,
 * micro- and nanosecond magics), the link layer (Ethernet, Linux cooked SLL
 * and SLL2), IPv4 with fragment reassembly, TCP and UDP.
 *
 * Everything takes bytes and returns plain data; nothing here touches the
 * file system or the network. Malformed input throws `RangeError` (too
 * short) or `SyntaxError` (impossible field values) naming the record.
 *
 * @module
 */

/** Link type of Ethernet captures. */
export const LINKTYPE_ETHERNET = 1;
/** Link type of Linux cooked captures, version 1. */
export const LINKTYPE_LINUX_SLL = 113;
/** Link type of Linux cooked captures, version 2. */
export const LINKTYPE_LINUX_SLL2 = 276;
/** EtherType of IPv4. */
export const ETHERTYPE_IPV4 = 0x0800;
/** IP protocol number of TCP. */
export const IPPROTO_TCP = 6;
/** IP protocol number of UDP. */
export const IPPROTO_UDP = 17;

const FILE_HEADER_SIZE = 24;
const RECORD_HEADER_SIZE = 16;
const MAGIC_MICRO = 0xa1b2c3d4;
const MAGIC_NANO = 0xa1b23c4d;

/** The global header of a pcap file. */
export interface PcapHeader {
  /** True when the file was written little-endian. */
  littleEndian: boolean;
  /** True when record timestamps carry nanoseconds instead of microseconds. */
  nanosecond: boolean;
  versionMajor: number;
  versionMinor: number;
  snapLength: number;
  /** Link type (lower 16 bits of the network field). */
  linkType: number;
}

/** One captured packet record. */
export interface PcapRecord {
  /** Position of the record in the file, from 0. */
  index: number;
  /** Capture time in nanoseconds since the Unix epoch (exact). */
  timestampNs: bigint;
  /** Capture time in seconds since the Unix epoch (microsecond precision). */
  time: number;
  /** Length of the packet on the wire. */
  originalLength: number;
  /** The captured bytes (a view into the file). */
  data: Uint8Array;
}

/** A parsed pcap file. */
export interface PcapFile {
  header: PcapHeader;
  records: PcapRecord[];
}

/**
 * Parses a classic pcap file.
 *
 * @example
 * ```ts
 * import { readPcap } from "./pcap.ts";
 * const empty = new Uint8Array(24);
 * new DataView(empty.buffer).setUint32(0, 0xa1b2c3d4, true);
 * readPcap(empty).records.length; // 0
 * ```
 */
export function readPcap(bytes: Uint8Array): PcapFile {
  const header = readPcapHeader(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = header.littleEndian;
  const records: PcapRecord[] = [];
  let offset = FILE_HEADER_SIZE;
  while (offset < bytes.length) {
    const index = records.length;
    if (bytes.length - offset < RECORD_HEADER_SIZE) {
      throw new RangeError(
        `Cannot read pcap record ${index}: header needs ${RECORD_HEADER_SIZE} bytes, ${
          bytes.length - offset
        } left`,
      );
    }
    const seconds = view.getUint32(offset, le);
    const fraction = view.getUint32(offset + 4, le);
    const capturedLength = view.getUint32(offset + 8, le);
    const originalLength = view.getUint32(offset + 12, le);
    checkRecordHeader(index, fraction, capturedLength, originalLength, header.nanosecond);
    const start = offset + RECORD_HEADER_SIZE;
    if (bytes.length - start < capturedLength) {
      throw new RangeError(
        `Cannot read pcap record ${index}: ${capturedLength} bytes declared, ${
          bytes.length - start
        } left`,
      );
    }
    const nanos = header.nanosecond ? fraction : fraction * 1000;
    records.push({
      index,
      timestampNs: BigInt(seconds) * 1_000_000_000n + BigInt(nanos),
      time: seconds + Math.round(nanos / 1000) / 1e6,
      originalLength,
      data: bytes.subarray(start, start + capturedLength),
    });
    offset = start + capturedLength;
  }
  return { header, records };
}

/** Parses the 24-byte global header; throws on a short file or an unknown magic. */
export function readPcapHeader(bytes: Uint8Array): PcapHeader {
  if (bytes.length < FILE_HEADER_SIZE) {
    throw new RangeError(
      `Cannot read pcap header: need ${FILE_HEADER_SIZE} bytes, have ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let littleEndian: boolean | undefined;
  let nanosecond = false;
  for (const le of [true, false]) {
    const magic = view.getUint32(0, le);
    if (magic === MAGIC_MICRO || magic === MAGIC_NANO) {
      littleEndian = le;
      nanosecond = magic === MAGIC_NANO;
    }
  }
  if (littleEndian === undefined) {
    throw new SyntaxError(
      `Cannot read pcap header: magic 0x${hex32(view.getUint32(0))} is not a classic pcap magic`,
    );
  }
  return {
    littleEndian,
    nanosecond,
    versionMajor: view.getUint16(4, littleEndian),
    versionMinor: view.getUint16(6, littleEndian),
    snapLength: view.getUint32(16, littleEndian),
    linkType: view.getUint32(20, littleEndian) & 0xffff,
  };
}

function checkRecordHeader(
  index: number,
  fraction: number,
  capturedLength: number,
  originalLength: number,
  nanosecond: boolean,
): void {
  const limit = nanosecond ? 1_000_000_000 : 1_000_000;
  if (fraction >= limit) {
    throw new SyntaxError(
      `Cannot read pcap record ${index}: sub-second part ${fraction} is not below ${limit}`,
    );
  }
  if (capturedLength > originalLength) {
    throw new SyntaxError(
      `Cannot read pcap record ${index}: captured length ${capturedLength} exceeds original length ${originalLength}`,
    );
  }
}

/** The network-layer payload of a link-layer frame. */
export interface LinkPayload {
  etherType: number;
  payload: Uint8Array;
}

/**
 * Strips the link-layer header of one record; supports Ethernet (with
 * 802.1Q tags), Linux SLL and SLL2.
 *
 * @example
 * ```ts
 * import { LINKTYPE_ETHERNET, stripLinkLayer } from "./pcap.ts";
 * const frame = new Uint8Array(14 + 20);
 * frame[12] = 0x08; // IPv4
 * stripLinkLayer(LINKTYPE_ETHERNET, frame).etherType; // 0x0800
 * ```
 */
export function stripLinkLayer(linkType: number, data: Uint8Array): LinkPayload {
  switch (linkType) {
    case LINKTYPE_ETHERNET: {
      let offset = 12;
      need(data, offset + 2, "read Ethernet header");
      let etherType = readU16(data, offset);
      while (etherType === 0x8100 || etherType === 0x88a8) {
        offset += 4;
        need(data, offset + 2, "read 802.1Q tag");
        etherType = readU16(data, offset);
      }
      return { etherType, payload: data.subarray(offset + 2) };
    }
    case LINKTYPE_LINUX_SLL:
      need(data, 16, "read Linux SLL header");
      return { etherType: readU16(data, 14), payload: data.subarray(16) };
    case LINKTYPE_LINUX_SLL2:
      need(data, 20, "read Linux SLL2 header");
      return { etherType: readU16(data, 0), payload: data.subarray(20) };
    default:
      throw new TypeError(`Cannot strip link layer: link type ${linkType} is not supported`);
  }
}

/** A parsed IPv4 header with its payload (one fragment or a whole datagram). */
export interface Ipv4Packet {
  src: string;
  dst: string;
  protocol: number;
  identification: number;
  dontFragment: boolean;
  moreFragments: boolean;
  /** Offset of this fragment's payload in the datagram, in bytes. */
  fragmentOffset: number;
  ttl: number;
  headerLength: number;
  totalLength: number;
  payload: Uint8Array;
}

/**
 * Parses an IPv4 header; trailing link-layer padding beyond the total
 * length is dropped. Throws when the packet is shorter than it claims.
 *
 * @example
 * ```ts
 * import { parseIpv4 } from "./pcap.ts";
 * const p = new Uint8Array(20);
 * p[0] = 0x45; p[3] = 20; p[9] = 17; p[12] = 192; p[15] = 1;
 * parseIpv4(p).src; // "192.0.0.1"
 * ```
 */
export function parseIpv4(bytes: Uint8Array): Ipv4Packet {
  need(bytes, 20, "parse IPv4 header");
  const version = bytes[0] >> 4;
  if (version !== 4) {
    throw new SyntaxError(`Cannot parse IPv4 header: version is ${version}, expected 4`);
  }
  const headerLength = (bytes[0] & 0x0f) * 4;
  const totalLength = readU16(bytes, 2);
  if (headerLength < 20 || totalLength < headerLength) {
    throw new SyntaxError(
      `Cannot parse IPv4 header: header length ${headerLength}, total length ${totalLength}`,
    );
  }
  need(bytes, totalLength, "parse IPv4 packet");
  const flagsAndOffset = readU16(bytes, 6);
  return {
    src: formatIpv4(bytes, 12),
    dst: formatIpv4(bytes, 16),
    protocol: bytes[9],
    identification: readU16(bytes, 4),
    dontFragment: (flagsAndOffset & 0x4000) !== 0,
    moreFragments: (flagsAndOffset & 0x2000) !== 0,
    fragmentOffset: (flagsAndOffset & 0x1fff) * 8,
    ttl: bytes[8],
    headerLength,
    totalLength,
    payload: bytes.subarray(headerLength, totalLength),
  };
}

/** A whole IPv4 datagram, reassembled when it arrived in fragments. */
export interface Ipv4Datagram extends Ipv4Packet {
  /** Number of fragments it was built from (1 when not fragmented). */
  fragmentCount: number;
  /** Capture time of the packet that completed it. */
  time: number;
  /** Index of the pcap record that completed it. */
  recordIndex: number;
}

interface PendingDatagram {
  first?: Ipv4Packet;
  pieces: { offset: number; bytes: Uint8Array }[];
  totalSize?: number;
}

/**
 * Collects IPv4 fragments, in any order and with duplicates, and hands back
 * each datagram once all its bytes have arrived.
 *
 * @example
 * ```ts
 * import { Ipv4Reassembler, parseIpv4 } from "./pcap.ts";
 * const whole = new Uint8Array(20);
 * whole[0] = 0x45;
 * whole[3] = 20;
 * new Ipv4Reassembler().push(parseIpv4(whole), 0, 0)?.fragmentCount; // 1
 * ```
 */
export class Ipv4Reassembler {
  #pending = new Map<string, PendingDatagram>();

  /** Number of datagrams still missing fragments. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Adds one packet; returns the complete datagram or `null` while fragments are missing. */
  push(packet: Ipv4Packet, time: number, recordIndex: number): Ipv4Datagram | null {
    if (!packet.moreFragments && packet.fragmentOffset === 0) {
      return { ...packet, fragmentCount: 1, time, recordIndex };
    }
    const key = `${packet.src}>${packet.dst}/${packet.protocol}#${packet.identification}`;
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = { pieces: [] };
      this.#pending.set(key, pending);
    }
    if (packet.fragmentOffset === 0) pending.first = packet;
    if (!packet.moreFragments) pending.totalSize = packet.fragmentOffset + packet.payload.length;
    pending.pieces.push({ offset: packet.fragmentOffset, bytes: packet.payload });
    const payload = assemble(pending);
    if (!payload || !pending.first) return null;
    this.#pending.delete(key);
    const unique = new Set(pending.pieces.map((p) => p.offset)).size;
    return {
      ...pending.first,
      moreFragments: false,
      totalLength: pending.first.headerLength + payload.length,
      payload,
      fragmentCount: unique,
      time,
      recordIndex,
    };
  }
}

function assemble(pending: PendingDatagram): Uint8Array | null {
  if (pending.totalSize === undefined) return null;
  const reach = Math.max(...pending.pieces.map((p) => p.offset + p.bytes.length));
  if (reach > pending.totalSize) {
    throw new SyntaxError(
      `Cannot reassemble IPv4 datagram: fragments reach byte ${reach}, last fragment ends at ${pending.totalSize}`,
    );
  }
  const pieces = [...pending.pieces].sort((a, b) => a.offset - b.offset);
  let covered = 0;
  for (const piece of pieces) {
    if (piece.offset > covered) return null;
    covered = Math.max(covered, piece.offset + piece.bytes.length);
  }
  if (covered < pending.totalSize) return null;
  const out = new Uint8Array(pending.totalSize);
  for (const piece of pieces) out.set(piece.bytes, piece.offset);
  return out;
}

/** A parsed TCP segment. */
export interface TcpSegment {
  srcPort: number;
  dstPort: number;
  /** Sequence number (u32). */
  seq: number;
  /** Acknowledgement number (u32). */
  ack: number;
  syn: boolean;
  ackFlag: boolean;
  fin: boolean;
  rst: boolean;
  psh: boolean;
  window: number;
  payload: Uint8Array;
}

/**
 * Parses a TCP header (options skipped) and its payload.
 *
 * @example
 * ```ts
 * import { parseTcp } from "./pcap.ts";
 * const s = new Uint8Array(20);
 * s[1] = 80; s[12] = 0x50; s[13] = 0x02;
 * parseTcp(s).syn; // true
 * ```
 */
export function parseTcp(bytes: Uint8Array): TcpSegment {
  need(bytes, 20, "parse TCP header");
  const dataOffset = (bytes[12] >> 4) * 4;
  if (dataOffset < 20) {
    throw new SyntaxError(`Cannot parse TCP header: data offset ${dataOffset} is below 20`);
  }
  need(bytes, dataOffset, "parse TCP options");
  const flags = bytes[13];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    srcPort: readU16(bytes, 0),
    dstPort: readU16(bytes, 2),
    seq: view.getUint32(4),
    ack: view.getUint32(8),
    fin: (flags & 0x01) !== 0,
    syn: (flags & 0x02) !== 0,
    rst: (flags & 0x04) !== 0,
    psh: (flags & 0x08) !== 0,
    ackFlag: (flags & 0x10) !== 0,
    window: readU16(bytes, 14),
    payload: bytes.subarray(dataOffset),
  };
}

/** A parsed UDP datagram. */
export interface UdpDatagram {
  srcPort: number;
  dstPort: number;
  /** The UDP length field (header + payload). */
  length: number;
  checksum: number;
  payload: Uint8Array;
}

/**
 * Parses a UDP header; the payload is cut to the header's length field.
 *
 * @example
 * ```ts
 * import { parseUdp } from "./pcap.ts";
 * parseUdp(new Uint8Array([0x1a, 0x7f, 0x1a, 0x7f, 0, 9, 0, 0, 0xaa])).payload; // [0xaa]
 * ```
 */
export function parseUdp(bytes: Uint8Array): UdpDatagram {
  need(bytes, 8, "parse UDP header");
  const length = readU16(bytes, 4);
  if (length < 8) throw new SyntaxError(`Cannot parse UDP header: length ${length} is below 8`);
  need(bytes, length, "parse UDP datagram");
  return {
    srcPort: readU16(bytes, 0),
    dstPort: readU16(bytes, 2),
    length,
    checksum: readU16(bytes, 6),
    payload: bytes.subarray(8, length),
  };
}

/** One IPv4 datagram of a capture with its transport layer parsed. */
export interface CapturedPacket {
  time: number;
  recordIndex: number;
  ip: Ipv4Datagram;
  tcp?: TcpSegment;
  udp?: UdpDatagram;
}

/**
 * Decodes a whole pcap file into IPv4 datagrams (fragments reassembled, in
 * order of completion) with TCP/UDP parsed; non-IPv4 frames are skipped.
 * Errors name the record they came from.
 *
 * @example
 * ```ts
 * import { decodeCapture } from "./pcap.ts";
 * const empty = new Uint8Array(24);
 * new DataView(empty.buffer).setUint32(0, 0xa1b2c3d4, true);
 * decodeCapture(empty).filter((p) => p.udp?.dstPort === 6783).length; // 0
 * ```
 */
export function decodeCapture(bytes: Uint8Array): CapturedPacket[] {
  const file = readPcap(bytes);
  const reassembler = new Ipv4Reassembler();
  const out: CapturedPacket[] = [];
  for (const record of file.records) {
    try {
      const link = stripLinkLayer(file.header.linkType, record.data);
      if (link.etherType !== ETHERTYPE_IPV4) continue;
      const ip = reassembler.push(parseIpv4(link.payload), record.time, record.index);
      if (!ip) continue;
      const packet: CapturedPacket = { time: ip.time, recordIndex: record.index, ip };
      if (ip.protocol === IPPROTO_TCP) packet.tcp = parseTcp(ip.payload);
      if (ip.protocol === IPPROTO_UDP) packet.udp = parseUdp(ip.payload);
      out.push(packet);
    } catch (cause) {
      throw new Error(`Cannot decode pcap record ${record.index}: ${(cause as Error).message}`, {
        cause,
      });
    }
  }
  return out;
}

/** Formats the 4 bytes at `offset` as a dotted quad. */
export function formatIpv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

function need(bytes: Uint8Array, length: number, action: string): void {
  if (bytes.length < length) {
    throw new RangeError(`Cannot ${action}: need ${length} bytes, have ${bytes.length}`);
  }
}

function readU16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] << 8) | bytes[offset + 1];
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, "0");
}
