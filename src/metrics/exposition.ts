import { crc32Combine, GZIP_HEADER, gzipTrailer, compressSegment, type Segment } from './gzip-segments.js';
import { MOVING, type SegmentCache } from './segment-cache.js';

/**
 * The Prometheus text format (0.0.4) and OpenMetrics 1.0, written directly: at hundreds of
 * thousands of series per scrape this is several times faster than a metrics library (npm run
 * bench; docs/benchmarks.md).
 */

export type ExpositionFormat = 'text' | 'openmetrics';

export const CONTENT_TYPES: Record<ExpositionFormat, string> = {
  text: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

const NEEDS_ESCAPE = /[\\"\n]/;

export function escapeLabelValue(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `name="value",...` for the given pairs, values escaped. */
export function labelText(pairs: ReadonlyArray<readonly [string, string]>): string {
  let out = '';
  for (const [name, value] of pairs) out += `${out === '' ? '' : ','}${name}="${escapeLabelValue(value)}"`;
  return out;
}

export function formatValue(value: number): string {
  if (Number.isFinite(value)) return String(value);
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? '+Inf' : '-Inf';
}

export type MetricType = 'gauge' | 'counter';

export interface FamilySpec {
  /** Full sample name; counters end in _total. */
  name: string;
  type: MetricType;
  help: string;
}

function familyHeader(spec: FamilySpec, format: ExpositionFormat): string {
  const { name, help } = spec;
  let type: string = spec.type;
  let family = name;
  if (format === 'openmetrics' && type === 'counter') {
    // OpenMetrics names a counter family without its _total suffix. A counter whose samples do
    // not end in _total (the nss_* compat families keep v0.16.0's names) is not a valid
    // OpenMetrics counter: it is declared unknown there, so its sample names stay as they are.
    if (name.endsWith('_total')) family = name.slice(0, -'_total'.length);
    else type = 'unknown';
  }
  const escapedHelp = help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return `# HELP ${family} ${escapedHelp}\n# TYPE ${family} ${type}\n`;
}

/**
 * Receives the exposition chunk by chunk. It calls `written` once the chunk's bytes have been
 * taken (or with an error when they never will be): until then the writer does not reuse them.
 */
export type ChunkSink = (chunk: Uint8Array, written: (err?: Error | null) => void) => void;

/**
 * Bytes gathered before a chunk is handed on: large enough to keep per-write costs low. Node's
 * gzip stream pays a thread hop per write: 67 MB took ~150 ms to compress in 64 KiB writes and
 * ~85 ms in 256 KiB ones (gzip level 1, 2 cores). Pages of a chunk are only touched as they fill.
 */
const CHUNK_BYTES = 256 * 1024;
/**
 * Chunks handed on and not yet written before the writer waits: enough to keep the socket or
 * gzip busy while the next chunk is filled. The same few buffers are reused for the whole
 * answer, so a large exposition leaves no garbage of its size behind.
 */
const CHUNKS_IN_FLIGHT = 4;
/**
 * Chunks of finished answers, kept for the next ones (at most CHUNKS_IN_FLIGHT): a sidecar
 * scraped again and again would otherwise take a fresh 256 KiB from malloc for every answer,
 * and the freed ones fragment the heap (npm run footprint). Only the pages an answer wrote are resident.
 */
const KEPT_CHUNKS: Buffer[] = [];
/** The chunk of a writer that has ended: the kept ones are no longer its own. */
const ENDED = Buffer.alloc(0);
/** Room for the longest value formatValue writes (e.g. -1.2345678901234567e-308). */
const MAX_VALUE_BYTES = 32;
/** A line's bytes beside its name and labels: the value, `} `, and the newline. */
const MAX_LINE_EXTRA = MAX_VALUE_BYTES + 3;
/**
 * Compressed bytes of a gzipped answer gathered before they are handed on: its segments are
 * small, and each write to the socket has its cost.
 */
const GZIP_OUT_BYTES = 128 * 1024;
const CLOSE_LABELS = 0x7d; // }
const SPACE = 0x20;
const NEWLINE = 0x0a;
const ZERO = 0x30;

/** The second label part of a sample whose labels are all in the first. */
export const NO_LABELS = new Uint8Array(0);

/** Writes formatValue(value) as ASCII at `at`; returns where it ends. */
function writeValue(chunk: Uint8Array, at: number, value: number): number {
  if (value >= 0 && value <= Number.MAX_SAFE_INTEGER && Number.isInteger(value)) {
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    let rest = value;
    for (let i = at + digits - 1; i >= at; i--) {
      chunk[i] = ZERO + (rest % 10);
      rest = Math.floor(rest / 10);
    }
    return at + digits;
  }
  const text = formatValue(value);
  for (let i = 0; i < text.length; i++) chunk[at + i] = text.charCodeAt(i);
  return at + text.length;
}

/** Writes one sample line at `at` (the chunk has room for it); returns where it ends. */
function writeLine(chunk: Buffer, at: number, prefix: Uint8Array, labels: Uint8Array, moreLabels: Uint8Array, value: number): number {
  chunk.set(prefix, at);
  at += prefix.length;
  chunk.set(labels, at);
  at += labels.length;
  if (moreLabels.length !== 0) {
    chunk.set(moreLabels, at);
    at += moreLabels.length;
  }
  chunk[at++] = CLOSE_LABELS;
  chunk[at++] = SPACE;
  at = writeValue(chunk, at, value);
  chunk[at++] = NEWLINE;
  return at;
}

/** Where renderBlock writes; it grows to the largest block and is reused. */
let blockText: Buffer = Buffer.alloc(0);

/** The lines of one block, in a buffer that the next call overwrites. */
function renderBlock(
  prefix: Uint8Array,
  labels: readonly Uint8Array[],
  moreLabels: readonly Uint8Array[],
  from: number,
  to: number,
  values: ReadonlyArray<number | undefined>,
): Uint8Array {
  let room = 0;
  for (let i = from; i < to; i++) if (values[i - from] !== undefined) room += prefix.length + labels[i]!.length + moreLabels[i]!.length + MAX_LINE_EXTRA;
  if (blockText.length < room) blockText = Buffer.allocUnsafe(Math.max(room, blockText.length * 2));
  let at = 0;
  for (let i = from; i < to; i++) {
    const v = values[i - from];
    if (v !== undefined) at = writeLine(blockText, at, prefix, labels[i]!, moreLabels[i]!, v);
  }
  return blockText.subarray(0, at);
}

/** Label text as the bytes that go between a sample's braces; build once, write many times. */
export function labelBytes(labels: string): Uint8Array {
  return Buffer.from(labels, 'utf8');
}

interface Complete {
  bytes: Uint8Array;
  /** The reusable buffer `bytes` lies in; undefined for one-off text. */
  buffer?: Buffer;
}

/**
 * Writes an exposition family by family, sample by sample, into byte chunks handed to a sink,
 * so that an answer of hundreds of thousands of series is never held as one string or one
 * array of lines, and no per-line string is made.
 *
 * Given a SegmentCache, it writes one gzip member instead (gzip-segments.ts): blocks of
 * per-object families come from the cache where unchanged, and all other text is compressed
 * in segments as it fills.
 */
export class ExpositionWriter {
  readonly #format: ExpositionFormat;
  readonly #sink: ChunkSink;
  readonly #segments: SegmentCache | undefined;
  /** Gzipped answers: the CRC-32 and length of the text so far, and compressed bytes not yet handed on. */
  #crc = 0;
  #length = 0;
  #gzipStarted = false;
  #out: Uint8Array[] = [];
  #outBytes = 0;
  #familyName = '';
  #chunk: Buffer = KEPT_CHUNKS.pop() ?? Buffer.allocUnsafe(CHUNK_BYTES);
  #used = 0;
  /** Chunks that are complete and not yet handed to the sink, in order. */
  #complete: Complete[] = [];
  #spare: Buffer[] = [];
  #inFlight = 0;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;
  /** HELP and TYPE of the current family, written with its first sample. */
  #header: Uint8Array | undefined;
  #samplePrefix: Uint8Array = NO_LABELS;

  /** With `segments`, the sink gets a gzip member (the caller sets Content-Encoding). */
  constructor(format: ExpositionFormat, sink: ChunkSink, segments?: SegmentCache) {
    this.#format = format;
    this.#sink = sink;
    this.#segments = segments;
    segments?.beginAnswer();
  }

  /** Starts a family; a family that gets no sample writes nothing. */
  family(spec: FamilySpec): void {
    this.#familyName = spec.name;
    this.#header = Buffer.from(familyHeader(spec, this.#format), 'utf8');
    this.#samplePrefix = Buffer.from(`${spec.name}{`, 'utf8');
  }

  /**
   * One sample of the current family. Its label text is `labels` followed by `moreLabels`
   * (from labelBytes(), or NO_LABELS), so that a shared part is kept once.
   */
  sample(labels: Uint8Array, moreLabels: Uint8Array, value: number): void {
    if (this.#header !== undefined) {
      this.#append(this.#header);
      this.#header = undefined;
    }
    const length = this.#samplePrefix.length + labels.length + moreLabels.length + MAX_LINE_EXTRA;
    if (this.#used + length > this.#chunk.length) this.#completeChunk(length);
    this.#used = writeLine(this.#chunk, this.#used, this.#samplePrefix, labels, moreLabels, value);
  }

  /** Whether block() reuses cached blocks: a gzipped answer made of compressed segments. */
  get cachesBlocks(): boolean {
    return this.#segments !== undefined;
  }

  /**
   * Samples of items [from, to) of a per-object level, `values[i - from]` the value of item i
   * (undefined: no sample). A gzipped answer takes the block's compressed lines from the cache
   * when its labels and values are those cached, and compresses them anew otherwise; `token`
   * (the block's, for a family whose values never change in place) is kept with them.
   */
  block(
    labels: readonly Uint8Array[],
    moreLabels: readonly Uint8Array[],
    from: number,
    to: number,
    values: ReadonlyArray<number | undefined>,
    token?: object,
  ): void {
    const segments = this.#segments;
    if (segments === undefined) {
      this.#samples(labels, moreLabels, from, to, values);
      return;
    }
    if (from >= to) return;
    const prefix = this.#samplePrefix;
    const segment = segments.block(this.#familyName, labels, moreLabels, from, to, values, token, () =>
      renderBlock(prefix, labels, moreLabels, from, to, values),
    );
    if (segment === MOVING) this.#samples(labels, moreLabels, from, to, values);
    else if (segment !== undefined) this.#emitBlock(segment);
  }

  /** Items [from, to) written as samples into the answer's running text. */
  #samples(labels: readonly Uint8Array[], moreLabels: readonly Uint8Array[], from: number, to: number, values: ReadonlyArray<number | undefined>): void {
    for (let i = from; i < to; i++) {
      const v = values[i - from];
      if (v !== undefined) this.sample(labels[i]!, moreLabels[i]!, v);
    }
  }

  /**
   * For a gzipped answer, whether the block of items [from, to) whose labels start with
   * `labels[from]` is the cached one of `token` (Labelled.blockTokens): then its cached lines are
   * written, and no value need be read.
   */
  reuseBlock(labels: readonly Uint8Array[], from: number, to: number, token: object): boolean {
    const segments = this.#segments;
    if (segments === undefined || from >= to) return false;
    const entry = segments.byToken(this.#familyName, labels[from]!, token);
    if (entry === undefined) return false;
    if (entry.segment !== undefined) this.#emitBlock(entry.segment);
    return true;
  }

  /** A block's compressed lines, after the pending text and, for a family's first lines, its HELP and TYPE. */
  #emitBlock(segment: Segment): void {
    this.#seal();
    const header = this.#header;
    if (header !== undefined) {
      this.#header = undefined;
      this.#emit(this.#segments!.header(`${this.#format}\u0000${this.#familyName}`, () => header));
    }
    this.#emit(segment);
  }

  /** Adds finished text, e.g. families rendered elsewhere. */
  text(text: string): void {
    this.#append(Buffer.from(text, 'utf8'));
  }

  #append(bytes: Uint8Array): void {
    if (this.#used + bytes.length > this.#chunk.length) {
      this.#completeChunk(0);
      if (this.#segments !== undefined) this.#emit(compressSegment(bytes));
      else this.#complete.push({ bytes });
      return;
    }
    this.#chunk.set(bytes, this.#used);
    this.#used += bytes.length;
  }

  /** Moves what the chunk holds to the complete list and starts one with room for `atLeast` bytes. */
  #completeChunk(atLeast: number): void {
    if (this.#segments !== undefined) {
      this.#seal();
      if (atLeast > this.#chunk.length) this.#chunk = Buffer.allocUnsafe(atLeast);
      return;
    }
    if (this.#used > 0) this.#complete.push({ bytes: this.#chunk.subarray(0, this.#used), buffer: this.#chunk });
    const spare = atLeast <= CHUNK_BYTES ? this.#spare.pop() : undefined;
    this.#chunk = spare ?? Buffer.allocUnsafe(Math.max(CHUNK_BYTES, atLeast));
    this.#used = 0;
  }

  /** Gzipped answers: compresses the text written so far into a segment of its own. */
  #seal(): void {
    if (this.#used === 0) return;
    this.#emit(compressSegment(this.#chunk.subarray(0, this.#used)));
    this.#used = 0;
  }

  /** Gzipped answers: adds a compressed segment after the ones before. */
  #emit(segment: Segment): void {
    if (!this.#gzipStarted) {
      this.#gzipStarted = true;
      this.#gather(GZIP_HEADER);
    }
    if (segment.length === 0) return;
    this.#crc = crc32Combine(this.#crc, segment.crc, segment.length);
    this.#length += segment.length;
    this.#gather(segment.deflated);
  }

  #gather(bytes: Uint8Array): void {
    this.#out.push(bytes);
    this.#outBytes += bytes.length;
    if (this.#outBytes >= GZIP_OUT_BYTES) this.#gathered();
  }

  /** Gzipped answers: what was gathered becomes a complete chunk. */
  #gathered(): void {
    if (this.#outBytes === 0) return;
    this.#complete.push({ bytes: this.#out.length === 1 ? this.#out[0]! : Buffer.concat(this.#out, this.#outBytes) });
    this.#out = [];
    this.#outBytes = 0;
  }

  /**
   * Hands complete chunks on. Callers await the promise it may return before writing more: it
   * settles once few enough chunks are still unwritten, which is how a slow reader holds
   * rendering back. It rejects when the sink reports a failure.
   */
  flushIfFull(): void | Promise<void> {
    if (this.#complete.length === 0) return undefined;
    return this.#handOn(CHUNKS_IN_FLIGHT - 1);
  }

  async #handOn(inFlightAfter: number): Promise<void> {
    const complete = this.#complete;
    this.#complete = [];
    for (const { bytes, buffer } of complete) {
      this.#inFlight++;
      this.#sink(bytes, (err) => {
        this.#inFlight--;
        if (err) this.#failure ??= err;
        else if (buffer?.length === CHUNK_BYTES) this.#spare.push(buffer);
        this.#wake?.();
      });
    }
    while (this.#inFlight > inFlightAfter && this.#failure === undefined) {
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
    if (this.#failure) throw this.#failure;
  }

  /** Hands on everything that is left and waits until it is written. */
  async end(): Promise<void> {
    const last = this.#chunk;
    if (this.#segments !== undefined) {
      this.#seal();
      this.#emit({ deflated: new Uint8Array(0), crc: 0, length: 0 });
      this.#gather(gzipTrailer(this.#crc, this.#length));
      this.#gathered();
    } else if (this.#used > 0) {
      this.#complete.push({ bytes: last.subarray(0, this.#used) });
    }
    this.#used = 0;
    await this.#handOn(0);
    // Every chunk is written now: the next answer may fill them.
    for (const chunk of [last, ...this.#spare]) if (chunk.length === CHUNK_BYTES && KEPT_CHUNKS.length < CHUNKS_IN_FLIGHT) KEPT_CHUNKS.push(chunk);
    this.#spare = [];
    this.#chunk = ENDED;
  }
}
