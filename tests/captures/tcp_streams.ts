/**
 * TCP stream reassembly for captured packets: groups segments into
 * connections by their 4-tuple, takes each direction's initial sequence
 * number from its SYN, and rebuilds the two byte streams by sequence number,
 * so retransmitted, duplicated and reordered segments give the bytes the
 * application actually read. Each stream keeps the capture time of every
 * segment that contributed new bytes, to timestamp messages found in it.
 *
 * Pure: takes {@link CapturedPacket}s from `pcap.ts`, returns data.
 *
 * @module
 */
import type { CapturedPacket, TcpSegment } from "./pcap.ts";

/** An IPv4 address and port. */
export interface Endpoint {
  ip: string;
  port: number;
}

/** A contiguous piece of a stream as it arrived. */
export interface StreamSegment {
  /** Offset of the first new byte in the stream. */
  offset: number;
  /** Number of new bytes this segment contributed. */
  length: number;
  /** Capture time of the segment. */
  time: number;
}

/** The bytes one side sent, in stream order. */
export interface TcpStream {
  from: Endpoint;
  to: Endpoint;
  /** Initial sequence number (from the SYN), or `null` when no SYN was captured. */
  isn: number | null;
  /** Stream bytes up to the first hole. */
  bytes: Uint8Array;
  /** Segments that contributed bytes, ordered by offset. */
  segments: StreamSegment[];
  /** Stream offset of the first missing byte when later bytes were captured, else `null`. */
  holeAt: number | null;
  /** Number of data segments whose bytes had all been seen already. */
  duplicates: number;
  /** True when a FIN was seen in this direction. */
  finished: boolean;
}

/** One TCP connection seen in a capture. */
export interface TcpConnection {
  /** The side that sent the SYN (first packet's sender when no SYN was captured). */
  dialler: Endpoint;
  /** The other side. */
  acceptor: Endpoint;
  /** True when the SYN was captured. */
  sawSyn: boolean;
  /** Capture time of the first packet of the connection. */
  startTime: number;
  /** Bytes the dialler sent. */
  outbound: TcpStream;
  /** Bytes the acceptor sent. */
  inbound: TcpStream;
}

interface RawSegment {
  seq: number;
  payload: Uint8Array;
  time: number;
}

interface DirectionState {
  from: Endpoint;
  to: Endpoint;
  isn: number | null;
  segments: RawSegment[];
  finished: boolean;
}

interface ConnectionState {
  dialler: Endpoint;
  acceptor: Endpoint;
  sawSyn: boolean;
  startTime: number;
  out: DirectionState;
  in: DirectionState;
}

/**
 * Groups TCP packets into connections and reassembles both directions.
 * A new SYN on a 4-tuple whose connection already had one starts a new
 * connection. Connections are returned in order of their first packet.
 *
 * @example
 * ```ts
 * import { reassembleTcp } from "./tcp_streams.ts";
 * reassembleTcp([]).length; // 0
 * ```
 */
export function reassembleTcp(packets: readonly CapturedPacket[]): TcpConnection[] {
  const open = new Map<string, ConnectionState>();
  const all: ConnectionState[] = [];
  for (const packet of packets) {
    const tcp = packet.tcp;
    if (!tcp) continue;
    const from = { ip: packet.ip.src, port: tcp.srcPort };
    const to = { ip: packet.ip.dst, port: tcp.dstPort };
    const key = connectionKey(from, to);
    let conn = open.get(key);
    const isOpeningSyn = tcp.syn && !tcp.ackFlag;
    if (!conn || (isOpeningSyn && conn.sawSyn && conn.out.isn !== tcp.seq)) {
      // A captured SYN-ACK without its SYN still tells who dialled.
      const synAck = tcp.syn && tcp.ackFlag;
      conn = synAck
        ? newConnection(to, from, false, packet.time)
        : newConnection(from, to, isOpeningSyn, packet.time);
      open.set(key, conn);
      all.push(conn);
    }
    const dir = sameEndpoint(from, conn.dialler) ? conn.out : conn.in;
    addSegment(dir, tcp, packet.time);
  }
  return all.map((c) => ({
    dialler: c.dialler,
    acceptor: c.acceptor,
    sawSyn: c.sawSyn,
    startTime: c.startTime,
    outbound: buildStream(c.out),
    inbound: buildStream(c.in),
  }));
}

function newConnection(
  from: Endpoint,
  to: Endpoint,
  sawSyn: boolean,
  time: number,
): ConnectionState {
  return {
    dialler: from,
    acceptor: to,
    sawSyn,
    startTime: time,
    out: { from, to, isn: null, segments: [], finished: false },
    in: { from: to, to: from, isn: null, segments: [], finished: false },
  };
}

function addSegment(dir: DirectionState, tcp: TcpSegment, time: number): void {
  if (tcp.syn) {
    if (dir.isn !== null && dir.isn !== tcp.seq) {
      throw new SyntaxError(
        `Cannot reassemble TCP stream ${
          describe(dir)
        }: SYN with sequence ${tcp.seq} after ISN ${dir.isn}`,
      );
    }
    dir.isn = tcp.seq;
  }
  if (tcp.fin) dir.finished = true;
  if (tcp.payload.length === 0) return;
  // Data in the SYN itself starts one past the ISN like any other data.
  const seq = tcp.syn ? (tcp.seq + 1) >>> 0 : tcp.seq;
  dir.segments.push({ seq, payload: tcp.payload, time });
}

function buildStream(dir: DirectionState): TcpStream {
  const base = dir.isn !== null
    ? (dir.isn + 1) >>> 0
    : dir.segments.reduce((min, s) => Math.min(min, s.seq), 0xffffffff);
  // Disjoint pieces sorted by offset; each byte is credited to the segment
  // that brought it first, in capture order.
  const pieces: Piece[] = [];
  let duplicates = 0;
  for (const s of dir.segments) {
    const fresh = uncovered(pieces, (s.seq - base) >>> 0, s.payload, s.time);
    if (fresh.length === 0) duplicates++;
    pieces.push(...fresh);
    pieces.sort((a, b) => a.offset - b.offset);
  }
  const chunks: Uint8Array[] = [];
  const segments: StreamSegment[] = [];
  let cursor = 0;
  let holeAt: number | null = null;
  for (const p of pieces) {
    if (p.offset > cursor) {
      holeAt = cursor;
      break;
    }
    chunks.push(p.bytes);
    segments.push({ offset: p.offset, length: p.bytes.length, time: p.time });
    cursor += p.bytes.length;
  }
  return {
    from: dir.from,
    to: dir.to,
    isn: dir.isn,
    bytes: concat(chunks, cursor),
    segments,
    holeAt,
    duplicates,
    finished: dir.finished,
  };
}

interface Piece {
  offset: number;
  bytes: Uint8Array;
  time: number;
}

/** The parts of `payload` (at stream `offset`) not yet covered by `pieces`. */
function uncovered(pieces: Piece[], offset: number, payload: Uint8Array, time: number): Piece[] {
  const end = offset + payload.length;
  const fresh: Piece[] = [];
  let at = offset;
  for (const p of pieces) {
    const pEnd = p.offset + p.bytes.length;
    if (pEnd <= at) continue;
    if (p.offset >= end) break;
    if (p.offset > at) {
      fresh.push({ offset: at, bytes: payload.subarray(at - offset, p.offset - offset), time });
    }
    at = Math.max(at, pEnd);
  }
  if (at < end) fresh.push({ offset: at, bytes: payload.subarray(at - offset), time });
  return fresh;
}

/**
 * Capture time of the segment holding stream byte `offset`, i.e. when that
 * byte first arrived; throws when the offset is outside the stream.
 *
 * @example
 * ```ts
 * import { timeAt } from "./tcp_streams.ts";
 * timeAt({ segments: [{ offset: 0, length: 10, time: 5 }] }, 9); // 5
 * ```
 */
export function timeAt(stream: Pick<TcpStream, "segments">, offset: number): number {
  let lo = 0;
  let hi = stream.segments.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = stream.segments[mid];
    if (offset < s.offset) hi = mid - 1;
    else if (offset >= s.offset + s.length) lo = mid + 1;
    else return s.time;
  }
  throw new RangeError(`Cannot find time of stream byte ${offset}: outside the stream`);
}

/** Formats an endpoint as `ip:port`. */
export function formatEndpoint(e: Endpoint): string {
  return `${e.ip}:${e.port}`;
}

function connectionKey(a: Endpoint, b: Endpoint): string {
  const x = formatEndpoint(a);
  const y = formatEndpoint(b);
  return x < y ? `${x}-${y}` : `${y}-${x}`;
}

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.ip === b.ip && a.port === b.port;
}

function describe(dir: DirectionState): string {
  return `${formatEndpoint(dir.from)}->${formatEndpoint(dir.to)}`;
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
