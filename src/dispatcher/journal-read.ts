// Reading the dispatcher's journal back at start: the snapshot, then every
// record after it, each line's checksum checked and each record read by the
// caller's format (the wire's own field readers), so a number JSON holds but
// Keel cannot, or a flipped byte, is found here. A last line without its
// newline was cut by a crash and is dropped; a damaged line before it stops
// the start with a message naming it, unless `recover` is given: then the
// records before it are kept and the rest moved aside for a person to see.

import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import type { Log } from '../common/log.js';
import { ErrorCode, KeelError } from '../protocol/error-codes.js';

const LINE = /^([0-9a-f]{8}) (.*)$/s;

export interface JournalFormat<S, R> {
  /** The snapshot's state, checked; throws on anything malformed. */
  readSnapshot(value: unknown): S;
  /** One record, checked; throws on anything malformed. */
  readRecord(value: unknown): R;
}

export interface OpenOptions<S, R> {
  format: JournalFormat<S, R>;
  log: Log;
  /** Start anyway after a damaged record: keep the records before it and move the rest aside. */
  recover?: boolean;
}

export class JournalError extends KeelError {
  override readonly name = 'JournalError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.badJournal, message, options);
  }
}

export interface Replay<S, R> {
  snapshot: S | null;
  records: R[];
  /** The last seq read (from the snapshot or a record). */
  seq: number;
  /** Bytes of good whole lines at the journal's start: the rest is cut off. */
  good: number;
  /** The journal file's size as read. */
  size: number;
}

export function formatLine(json: string): string {
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

/** The JSON of one line, or why it cannot be trusted. */
function parseLine(line: string): { ok: true; value: { seq?: unknown } } | { ok: false; why: string } {
  let json = line;
  if (!line.startsWith('{')) {
    const match = LINE.exec(line);
    if (!match) return { ok: false, why: 'not a journal record' };
    json = match[2]!;
    if (crc32(json) !== Number.parseInt(match[1]!, 16)) return { ok: false, why: 'its checksum does not match' };
  }
  try {
    const value = JSON.parse(json);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? { ok: true, value } : { ok: false, why: 'not a JSON object' };
  } catch {
    return { ok: false, why: 'not valid JSON' };
  }
}

/** Reads the snapshot and the journal's records after it. Throws JournalError for a damaged one. */
export async function readJournal<S, R>(snapshotPath: string, journalPath: string, options: OpenOptions<S, R>): Promise<Replay<S, R>> {
  const { format, log } = options;
  let snapshot: { seq: number; state: S } | null = null;
  try {
    const raw = JSON.parse(await readFile(snapshotPath, 'utf8'));
    if (!Number.isSafeInteger(raw?.seq) || raw.seq < 0) throw new Error(`seq must be a whole number, got ${JSON.stringify(raw?.seq)}`);
    snapshot = { seq: raw.seq, state: format.readSnapshot(raw.state) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new JournalError(`cannot use the snapshot ${snapshotPath}: ${(error as Error).message}`, { cause: error });
    }
  }
  const text = await readFile(journalPath, 'utf8').catch(() => '');
  const records: R[] = [];
  let seq = snapshot?.seq ?? 0;
  let good = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const isLast = i === lines.length - 1;
    if (line === '') {
      if (!isLast) good += 1;
      continue;
    }
    // A last line without its newline was cut mid-write by a crash.
    if (isLast) {
      log(`journal: ignored a torn last record (${line.length} bytes)`);
      break;
    }
    const problem = check(line, seq, format);
    if (typeof problem === 'string') {
      const rest = lines.slice(i, -1).filter((l) => l !== '').length;
      const where = `${journalPath} line ${i + 1}`;
      if (!options.recover) {
        throw new JournalError(`${where} is damaged (${problem}); it and the ${rest - 1} record(s) after it cannot be trusted. `
          + `Start with --recover to keep the ${records.length} record(s) before it and move the rest aside`);
      }
      const aside = `${journalPath}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      writeFileSync(aside, lines.slice(i).join('\n'));
      log(`journal: --recover: ${where} is damaged (${problem}); kept ${records.length} record(s) before it, moved ${rest} to ${aside}`);
      break;
    }
    good += Buffer.byteLength(line) + 1;
    if (problem === null) continue;
    seq = problem.seq;
    records.push(problem.record);
  }
  return { snapshot: snapshot?.state ?? null, records, seq, good, size: Buffer.byteLength(text) };
}

/** A good line's record; null for one the snapshot already holds; a string saying what is wrong. */
function check<S, R>(line: string, after: number, format: JournalFormat<S, R>): { seq: number; record: R } | null | string {
  const parsed = parseLine(line);
  if (!parsed.ok) return parsed.why;
  const { seq } = parsed.value;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return `seq must be a whole number from 1, got ${JSON.stringify(seq) ?? String(seq)}`;
  if (seq <= after) return null;
  try {
    return { seq, record: format.readRecord(parsed.value) };
  } catch (error) {
    return (error as Error).message;
  }
}
