// Seeded generator of hostile protocol lines: mutations of the valid fixtures
// (bytes flipped, inserted, deleted; truncation; fields dropped, retyped or
// swapped; huge numbers; deep nesting; long strings; invalid UTF-8), random
// bytes, and valid JSON of the wrong shape. The same seed gives the same lines.
// Lines never contain a newline, so one generated line is one wire line.
import { fixtures } from '../protocol/fixtures.js';

/** mulberry32: a tiny, fast 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TYPES = [...new Set(fixtures.map((f) => f.message.type)), 'Hello', 'HELLO', '', 'constructor', '__proto__', 'toString', 'hasOwnProperty'];
const INVALID_UTF8 = [
  [0xff], [0xfe], [0xc3], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xf0, 0x9f, 0x98],
];
const WEIRD_VALUES: unknown[] = [
  null, true, false, 0, -1, 1.5, -0, 2 ** 53, 2 ** 53 + 2, Number.MAX_VALUE, -Number.MAX_VALUE, 1e-300, '', ' ', '0', 'null',
  '../../etc/passwd', '-x', '--upload-pack=x', 'refs/heads/$(id)', 'ext::sh', '\u0000', '\ud800', [], {}, [null], { type: 'hello' },
  { __proto__: { polluted: true } }, 'a'.repeat(300), 'HEAD', 'ff'.repeat(20),
];
const HUGE_NUMBERS = ['1e999', '-1e999', '9007199254740993', '1e308', '-0', '0.0000001', '123456789012345678901234567890', '1E+400', '-9007199254740993'];

export interface FuzzOptions {
  /** Longest line to make on purpose (the line cap is 1 MiB: stay below it unless asked). */
  maxBytes: number;
}

export class LineFuzzer {
  private readonly rng: () => number;
  private readonly bases: string[];

  constructor(seed: number, private readonly options: FuzzOptions = { maxBytes: 256 * 1024 }) {
    this.rng = mulberry32(seed);
    this.bases = fixtures.map((f) => JSON.stringify(f.message));
  }

  int(max: number): number {
    return Math.floor(this.rng() * max);
  }

  chance(p: number): boolean {
    return this.rng() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** One hostile line, without its newline. */
  next(): Buffer {
    const roll = this.int(100);
    let line: Buffer;
    if (roll < 28) line = this.byteMutation(Buffer.from(this.pick(this.bases)));
    else if (roll < 50) line = Buffer.from(this.fieldMutation());
    else if (roll < 56) line = Buffer.from(this.pick(this.bases).slice(0, this.int(this.pick(this.bases).length)));
    else if (roll < 62) line = this.randomBytes(this.int(200) + 1);
    else if (roll < 72) line = Buffer.from(this.wrongShape());
    else if (roll < 77) line = this.invalidUtf8();
    else if (roll < 81) line = Buffer.from(this.deepNesting());
    else if (roll < 85) line = Buffer.from(this.longString());
    else if (roll < 90) line = Buffer.from(this.hugeNumber());
    else if (roll < 94) line = Buffer.from(this.pick(this.bases)); // valid, maybe not allowed for the role
    else line = this.byteMutation(Buffer.from(this.fieldMutation()));
    return this.clean(line);
  }

  /** A line longer than `bytes` (for the line cap). */
  oversize(bytes: number): Buffer {
    const base = JSON.parse(this.pick(this.bases)) as Record<string, unknown>;
    const filler = this.chance(0.5) ? 'x'.repeat(bytes) : '\\u0000'.repeat(Math.ceil(bytes / 6));
    return Buffer.from(JSON.stringify({ ...base, pad: 0 }).replace('"pad":0', `"pad":"${filler}"`));
  }

  private clean(line: Buffer): Buffer {
    for (let i = 0; i < line.length; i++) if (line[i] === 0x0a) line[i] = 0x20;
    return line.length > this.options.maxBytes ? line.subarray(0, this.options.maxBytes) : line;
  }

  private byteMutation(line: Buffer): Buffer {
    let bytes = [...line];
    const edits = 1 + this.int(this.chance(0.2) ? 30 : 3);
    for (let e = 0; e < edits && bytes.length > 0; e++) {
      const at = this.int(bytes.length);
      switch (this.int(4)) {
        case 0: bytes[at] = bytes[at]! ^ (1 << this.int(8)); break;
        case 1: bytes.splice(at, 0, this.int(256)); break;
        case 2: bytes.splice(at, 1 + this.int(4)); break;
        default: bytes[at] = this.pick([0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x2c, 0x00, 0x0d, 0xff]); break;
      }
    }
    if (this.chance(0.1)) bytes = bytes.slice(0, this.int(bytes.length + 1));
    return Buffer.from(bytes);
  }

  private randomBytes(length: number): Buffer {
    const bytes = Buffer.alloc(length);
    for (let i = 0; i < length; i++) bytes[i] = this.int(256);
    return bytes;
  }

  private randomValue(depth = 0): unknown {
    const roll = this.int(depth > 2 ? 6 : 9);
    switch (roll) {
      case 0: return null;
      case 1: return this.chance(0.5);
      case 2: return this.int(2 ** 31) * (this.chance(0.5) ? -1 : 1);
      case 3: return this.rng() * 1e6;
      case 4: return this.randomText(this.int(40));
      case 5: return this.pick(WEIRD_VALUES);
      case 6: return Array.from({ length: this.int(5) }, () => this.randomValue(depth + 1));
      case 7: return Object.fromEntries(Array.from({ length: this.int(5) }, () => [this.randomText(8), this.randomValue(depth + 1)]));
      default: return this.pick(this.bases).length;
    }
  }

  private randomText(length: number): string {
    let text = '';
    for (let i = 0; i < length; i++) text += String.fromCharCode(this.chance(0.9) ? 32 + this.int(95) : this.int(0x10000));
    return text;
  }

  /** A fixture with a field dropped, retyped, added, or its type swapped. */
  private fieldMutation(): string {
    const message = JSON.parse(this.pick(this.bases)) as Record<string, unknown>;
    const keys = Object.keys(message);
    const edits = 1 + this.int(3);
    for (let e = 0; e < edits; e++) {
      const key = this.pick(keys);
      switch (this.int(6)) {
        case 0: delete message[key]; break;
        case 1: message[key] = this.randomValue(); break;
        case 2: message.type = this.pick(TYPES); break;
        case 3: message[this.randomText(6)] = this.randomValue(); break;
        case 4: message[key] = this.pick(WEIRD_VALUES); break;
        default: message.type = this.randomValue(); break;
      }
    }
    return JSON.stringify(message);
  }

  private wrongShape(): string {
    switch (this.int(8)) {
      case 0: return JSON.stringify(this.randomValue());
      case 1: return JSON.stringify([JSON.parse(this.pick(this.bases))]);
      case 2: return JSON.stringify(this.pick(this.bases));
      case 3: return this.pick(['null', 'true', '0', '""', '[]', '{}', ' ', '\r', '\t{}', '{}\r', '{"type":null}', '{"type":1}', '{"type":{}}']);
      case 4: return `${this.pick(this.bases)}${this.pick(this.bases)}`;
      case 5: return JSON.stringify({ type: this.pick(TYPES), ...(this.randomValue() as object) });
      case 6: return this.pick(this.bases).replace(/^\{/, '{"type":"hello",');
      default: return `\ufeff${this.pick(this.bases)}`;
    }
  }

  private invalidUtf8(): Buffer {
    const line = Buffer.from(this.pick(this.bases));
    const at = this.int(line.length + 1);
    return Buffer.concat([line.subarray(0, at), Buffer.from(this.pick(INVALID_UTF8)), line.subarray(at)]);
  }

  /** A value nested up to tens of thousands deep, in a field or at the top. */
  private deepNesting(): string {
    const depth = this.chance(0.85) ? 1 + this.int(200) : 2000 + this.int(10_000);
    const [open, close] = this.pick([['[', ']'], ['{"a":', '}'], ['[{"x":', '}]']] as const);
    const nested = `${open.repeat(depth)}${this.chance(0.5) ? '1' : '"x"'}${close.repeat(depth)}`;
    if (this.chance(0.2) && open !== '{"a":') return nested;
    const message = JSON.parse(this.pick(this.bases)) as Record<string, unknown>;
    const key = this.chance(0.8) ? this.pick(Object.keys(message)) : 'extra';
    message[key] = 0;
    return JSON.stringify(message).replace(`"${key}":0`, `"${key}":${nested}`);
  }

  private longString(): string {
    const message = JSON.parse(this.pick(this.bases)) as Record<string, unknown>;
    const key = this.pick(Object.keys(message));
    const length = this.chance(0.9) ? this.int(2000) : this.int(this.options.maxBytes / 8);
    message[key] = (this.chance(0.5) ? 'A' : this.pick(['\u00e9', '\u{1f680}', '\\', '"', '\u2028'])).repeat(length);
    return JSON.stringify(message);
  }

  private hugeNumber(): string {
    const message = JSON.parse(this.pick(this.bases)) as Record<string, unknown>;
    const key = this.pick(Object.keys(message));
    message[key] = 0;
    return JSON.stringify(message).replace(`"${key}":0`, `"${key}":${this.pick(HUGE_NUMBERS)}`);
  }
}
