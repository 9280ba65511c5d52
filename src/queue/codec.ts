import { createHash } from "node:crypto";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { DICTIONARY_V1 } from "./codec-dictionary.js";

/**
 * Compact encodings for what a waiting run keeps in Redis: its run record and its archived log.
 * A record is plain JSON (first byte `{`, what every commit writes), or one format byte and raw
 * deflate with a frozen preset dictionary: 0x02 with the run-record part of dictionary 1 (small,
 * so cheap to set up: records are packed and unpacked on the hot path), 0x01 with all of it. An
 * archive is a sequence of frames, each `0x01 | 4-byte big-endian length | raw deflate
 * (dictionary 1) of a JSON array of [entryId, [field, value, …]]` — stream entries exactly as
 * XRANGE returned them.
 */
export const FORMAT_DEFLATE_V1 = 1;
export const FORMAT_RUN_V1 = 2;
const DICTIONARY = Buffer.from(DICTIONARY_V1, "utf8");
/** Where dictionary 1's run record starts (frozen with it). */
export const RUN_DICTIONARY_OFFSET = 9542;
const RUN_DICTIONARY = DICTIONARY.subarray(RUN_DICTIONARY_OFFSET);
/** An 8 KiB window holds the run dictionary and a typical record, and costs a fraction of the default's set-up. */
const RUN_DEFLATE = { dictionary: RUN_DICTIONARY, windowBits: 13, memLevel: 6 } as const;
/** sha1 of the frozen dictionary: a test pins it, so an edit cannot slip through. */
export const DICTIONARY_V1_SHA1 = createHash("sha1").update(DICTIONARY).digest("hex");

/** Stream entries as XRANGE returns them. */
export type RawEntry = [id: string, fields: string[]];

export function packRecord(json: string): Buffer {
  const body = deflateRawSync(json, RUN_DEFLATE);
  return Buffer.concat([Buffer.from([FORMAT_RUN_V1]), body]);
}

/** The JSON of a stored run record, whichever way it was stored. */
export function unpackRecord(stored: Buffer | string): string {
  if (typeof stored === "string") return stored;
  if (stored[0] === FORMAT_RUN_V1) return inflateRawSync(stored.subarray(1), { dictionary: RUN_DICTIONARY }).toString("utf8");
  if (stored[0] === FORMAT_DEFLATE_V1) return inflateRawSync(stored.subarray(1), { dictionary: DICTIONARY }).toString("utf8");
  return stored.toString("utf8");
}

/** A 16 KiB window holds dictionary 1 and a typical frame; smaller state than the default's to set up. */
const ARCHIVE_DEFLATE = { dictionary: DICTIONARY, windowBits: 14, memLevel: 7 } as const;

export function packArchiveFrame(entries: readonly RawEntry[]): Buffer {
  const body = deflateRawSync(JSON.stringify(entries), ARCHIVE_DEFLATE);
  const head = Buffer.alloc(5);
  head[0] = FORMAT_DEFLATE_V1;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

export function unpackArchive(archive: Buffer | null): RawEntry[] {
  const entries: RawEntry[] = [];
  if (!archive) return entries;
  let offset = 0;
  while (offset < archive.length) {
    const format = archive[offset];
    if (format !== FORMAT_DEFLATE_V1 || offset + 5 > archive.length) throw new Error(`archive: unknown frame format ${format} at byte ${offset}`);
    const length = archive.readUInt32BE(offset + 1);
    const body = archive.subarray(offset + 5, offset + 5 + length);
    if (body.length !== length) throw new Error(`archive: frame at byte ${offset} is cut short`);
    entries.push(...(JSON.parse(inflateRawSync(body, { dictionary: DICTIONARY }).toString("utf8")) as RawEntry[]));
    offset += 5 + length;
  }
  return entries;
}

/** Stream ids compared as numbers (`ms-seq`), as Redis orders them. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split("-");
  const [bm, bs] = b.split("-");
  const ms = BigInt(am ?? 0) - BigInt(bm ?? 0);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as ?? 0) - BigInt(bs ?? 0);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

/** The smallest stream id greater than `id`. */
export function nextStreamId(id: string): string {
  const [ms, seq] = id.split("-");
  return `${ms}-${BigInt(seq ?? 0) + 1n}`;
}

/** A short stable digest (base64url, no `:`), for set members and job ids that stand for longer names. */
export function digest(text: string, length = 12): string {
  return createHash("sha1").update(text).digest("base64url").slice(0, length);
}
