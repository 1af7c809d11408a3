// How a log's text becomes what the log page shows, as pure functions with
// no DOM, so Node's tests import this very file (tests/web/log-view.test.ts)
// and the browser loads it as a module from /assets/log-view.js:
//   - ANSI colours and styles (SGR: ESC [ ... m) become classes (the 16
//     colours) or colours (256 and 24-bit), every other escape sequence is
//     dropped, and a carriage return keeps what was written after it, as a
//     terminal's progress line does;
//   - GitLab-style section markers (section_start:<unix time>:<name>[...]
//     and section_end:<unix time>:<name>) are found, for folding;
//   - text arriving in pieces is cut into whole lines, with byte offsets;
//   - times since the job started, from the server's marks.
// Text is only ever returned as text: the page puts it in with textContent.

/** @typedef {{ fg: string | null, bg: string | null, bold: boolean, dim: boolean, italic: boolean, underline: boolean, inverse: boolean }} Style */
/** @typedef {{ text: string, classes: string[], color: string | null, background: string | null }} Segment */

export function plainStyle() {
  return { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false, inverse: false };
}

// CSI with parameters and a final byte; OSC up to BEL or ST; ESC, intermediates and a final byte (charsets);
// any other two-byte escape, or a lone ESC.
// eslint-disable-next-line no-control-regex
const ESCAPE = /\u001b\[([0-?]*)([ -/]*)([@-~])|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[ -/]+[0-~]|\u001b[@-Z\\-_]?/g;
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0008\u000b-\u001a\u001c-\u001f\u007f]/g;

/** The 256-colour palette's colour `n` as rgb(), for 16 and above. */
function palette(n) {
  if (n < 16) return null;
  if (n >= 232) {
    const grey = 8 + (n - 232) * 10;
    return `rgb(${grey}, ${grey}, ${grey})`;
  }
  const i = n - 16;
  const level = (v) => (v === 0 ? 0 : 55 + v * 40);
  return `rgb(${level(Math.floor(i / 36))}, ${level(Math.floor(i / 6) % 6)}, ${level(i % 6)})`;
}

/** An extended colour (38;5;n or 38;2;r;g;b) from `codes` at `i`: [value, codes used]. */
function extended(codes, i) {
  if (codes[i + 1] === 5 && codes[i + 2] !== undefined) {
    const n = codes[i + 2];
    return [n < 16 ? `c${n}` : palette(n), 2];
  }
  if (codes[i + 1] === 2 && codes[i + 4] !== undefined) {
    const [r, g, b] = codes.slice(i + 2, i + 5).map((v) => Math.min(255, v));
    return [`rgb(${r}, ${g}, ${b})`, 4];
  }
  return [null, 0];
}

/** Applies one SGR sequence's codes to `style` (changed in place). */
export function applySgr(style, parameters) {
  const codes = parameters === '' ? [0] : parameters.split(/[;:]/).map((p) => (p === '' ? 0 : Number(p)));
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i];
    if (code === 0) Object.assign(style, plainStyle());
    else if (code === 1) style.bold = true;
    else if (code === 2) style.dim = true;
    else if (code === 3) style.italic = true;
    else if (code === 4) style.underline = true;
    else if (code === 7) style.inverse = true;
    else if (code === 22) style.bold = style.dim = false;
    else if (code === 23) style.italic = false;
    else if (code === 24) style.underline = false;
    else if (code === 27) style.inverse = false;
    else if (code >= 30 && code <= 37) style.fg = `c${code - 30}`;
    else if (code >= 90 && code <= 97) style.fg = `c${code - 90 + 8}`;
    else if (code >= 40 && code <= 47) style.bg = `c${code - 40}`;
    else if (code >= 100 && code <= 107) style.bg = `c${code - 100 + 8}`;
    else if (code === 39) style.fg = null;
    else if (code === 49) style.bg = null;
    else if (code === 38 || code === 48) {
      const [value, used] = extended(codes, i);
      if (code === 38) style.fg = value;
      else style.bg = value;
      i += used;
    }
  }
  return style;
}

function segmentOf(text, style) {
  const classes = [];
  let color = null;
  let background = null;
  const [fg, bg] = style.inverse ? [style.bg ?? 'c-bg', style.fg ?? 'c-fg'] : [style.fg, style.bg];
  if (fg !== null) {
    if (fg.startsWith('c')) classes.push(`fg-${fg.slice(1)}`);
    else color = fg;
  }
  if (bg !== null) {
    if (bg.startsWith('c')) classes.push(`bg-${bg.slice(1)}`);
    else background = bg;
  }
  if (style.bold) classes.push('bold');
  if (style.dim) classes.push('dim');
  if (style.italic) classes.push('italic');
  if (style.underline) classes.push('underline');
  return { text, classes, color, background };
}

/** What is left of a line after carriage returns: the text written after the last one (a trailing CR, as of CRLF, is not one). */
export function afterCarriageReturns(line) {
  const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
  const cr = trimmed.lastIndexOf('\r');
  return cr === -1 ? trimmed : trimmed.slice(cr + 1);
}

/** One line (no newline) as styled segments; `style` carries over from line to line and is updated. */
export function renderAnsi(line, style) {
  const segments = [];
  let at = 0;
  const text = afterCarriageReturns(line);
  ESCAPE.lastIndex = 0;
  for (let match = ESCAPE.exec(text); match !== null; match = ESCAPE.exec(text)) {
    if (match.index > at) segments.push(segmentOf(text.slice(at, match.index).replace(CONTROLS, ''), style));
    if (match[3] === 'm' && match[2] === '') applySgr(style, match[1]);
    at = match.index + match[0].length;
  }
  if (at < text.length) segments.push(segmentOf(text.slice(at).replace(CONTROLS, ''), style));
  return segments.filter((segment) => segment.text !== '');
}

/** The line as plain text: what search and copy see. */
export function plainText(line) {
  return renderAnsi(line, plainStyle()).map((segment) => segment.text).join('');
}

// eslint-disable-next-line no-control-regex
const SECTION = /section_(start|end):(\d{1,15}):([A-Za-z0-9_.-]{1,100})(\[[^\]]*\])?\r?(?:\u001b\[0K)?/;

/**
 * A GitLab section marker on this line: { kind, time (unix seconds), name,
 * collapsed, rest (the text after the marker: a start's header) }, or null.
 */
export function sectionMarker(line) {
  // eslint-disable-next-line no-control-regex
  const match = SECTION.exec(line.replace(/^(?:\u001b\[0K)+/, ''));
  if (!match) return null;
  return {
    kind: match[1],
    time: Number(match[2]),
    name: match[3],
    collapsed: /collapsed=true/.test(match[4] ?? ''),
    rest: line.slice(line.indexOf(match[0]) + match[0].length),
  };
}

/** Cuts text arriving in pieces into whole lines, each with the byte offset it starts at. */
export class Lines {
  constructor(offset = 0) {
    this.offset = offset;
    this.partial = '';
    this.partialBytes = 0;
  }

  /** The whole lines `text` completes: [{ text, offset }]. */
  push(text) {
    const lines = [];
    const pieces = text.split('\n');
    const last = pieces.pop();
    for (const piece of pieces) {
      const line = this.partial + piece;
      lines.push({ text: line, offset: this.offset });
      this.offset += this.partialBytes + byteLength(piece) + 1;
      this.partial = '';
      this.partialBytes = 0;
    }
    this.partial += last;
    this.partialBytes += byteLength(last);
    return lines;
  }

  /** The last line, if it did not end with a newline (the log ended). */
  flush() {
    if (this.partial === '') return [];
    const line = { text: this.partial, offset: this.offset };
    this.offset += this.partialBytes;
    this.partial = '';
    this.partialBytes = 0;
    return [line];
  }
}

const encoder = new TextEncoder();
export function byteLength(text) {
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  return ascii ? text.length : encoder.encode(text).length;
}

/** The time of the last mark at or before `offset`; marks are [offset, ms, ...] in order. Null before the first. */
export function timeAt(marks, offset) {
  let low = 0;
  let high = marks.length / 2 - 1;
  let found = null;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (marks[2 * middle] <= offset) {
      found = marks[2 * middle + 1];
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}

/** Time since the job started as a log shows it: 0.4s, 12s, 1:02, 1:02:03. */
export function formatElapsed(ms) {
  if (ms === null || ms === undefined) return '';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const two = (n) => String(n).padStart(2, '0');
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}:${two(seconds % 60)}`;
  return `${Math.floor(minutes / 60)}:${two(minutes % 60)}:${two(seconds % 60)}`;
}
