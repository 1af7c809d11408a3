// The log page: draws a job's log from its outline (head, gap, tail), the
// raw log's byte ranges and the live stream, and keeps the view at the end
// while the job runs unless the reader scrolls up. Lines are numbered with
// permalinks (#L120) and the time since the job started; GitLab sections
// fold; the search box asks the server, which reads the whole log. Every
// piece of the log goes into the page with textContent, never as HTML.

import { Lines, formatElapsed, plainStyle, renderAnsi, sectionMarker, timeAt } from './log-view.js';

const body = document.body;
const logBox = document.getElementById('log');
const followState = document.getElementById('follow-state');
const toBottom = document.getElementById('to-bottom');
const LOAD_BYTES = 256 * 1024;
const JUMP_BYTES = 64 * 1024;
/** A log followed for long is not kept whole in the page: past this many lines its oldest become a gap again. */
const MAX_LIVE_LINES = 20_000;

let marks = [];
let stick = true;

function atBottom() {
  return window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 40;
}

window.addEventListener('scroll', () => {
  stick = atBottom();
  toBottom.hidden = stick;
}, { passive: true });
toBottom.addEventListener('click', () => {
  stick = true;
  toBottom.hidden = true;
  window.scrollTo(0, document.documentElement.scrollHeight);
});

/** A run of lines drawn one after the other: ANSI style and open sections carry over inside it. */
class Block {
  constructor(firstLine, offset, before = null) {
    this.number = firstLine;
    this.lines = new Lines(offset);
    this.style = plainStyle();
    this.element = document.createElement('div');
    this.element.className = 'block';
    this.sections = [];
    this.shown = 0;
    logBox.insertBefore(this.element, before);
  }

  get target() {
    return this.sections.length > 0 ? this.sections[this.sections.length - 1].body : this.element;
  }

  add(text) {
    for (const line of this.lines.push(text)) this.draw(line);
  }

  end() {
    for (const line of this.lines.flush()) this.draw(line);
  }

  draw({ text, offset }) {
    const number = this.number++;
    this.shown += 1;
    const marker = sectionMarker(text);
    if (marker && marker.kind === 'end') return this.closeSection(marker, number, offset);
    const row = lineRow(number, offset, marker ? marker.rest : text, this.style);
    if (marker && marker.kind === 'start') return this.openSection(marker, row);
    this.target.append(row);
  }

  openSection(marker, row) {
    const details = document.createElement('details');
    details.className = 'section';
    details.open = !marker.collapsed;
    const summary = document.createElement('summary');
    const duration = document.createElement('span');
    duration.className = 'duration';
    summary.append(row, duration);
    const sectionBody = document.createElement('div');
    details.append(summary, sectionBody);
    this.target.append(details);
    this.sections.push({ name: marker.name, time: marker.time, body: sectionBody, duration });
  }

  /** Turns the oldest lines into a gap (which loads them again) once more than `limit` are shown. */
  trim(limit) {
    if (this.shown <= limit) return;
    let first = null;
    for (let child = this.element.firstElementChild; child && this.shown > limit * 0.9; child = this.element.firstElementChild) {
      if (this.sections.some((section) => section.body.parentElement === child) || child === this.element.lastElementChild) break;
      const rows = child.classList.contains('line') ? [child] : [...child.querySelectorAll('.line')];
      first ??= rows[0];
      this.shown -= rows.length;
      child.remove();
    }
    const next = this.element.querySelector('.line');
    if (!first || !next) return;
    const from = Number(first.dataset.o);
    const to = Number(next.dataset.o);
    const lastLine = Number(next.id.slice(1)) - 1;
    const before = gaps.find((gap) => gap.element === this.element.previousElementSibling && gap.to === from);
    if (before) {
      before.to = to;
      before.lastLine = lastLine;
      before.render();
    } else {
      gaps.push(new Gap({ from, to, firstLine: Number(first.id.slice(1)), lastLine }, this.element));
    }
  }

  closeSection(marker, number, offset) {
    const index = this.sections.map((s) => s.name).lastIndexOf(marker.name);
    const row = lineRow(number, offset, '', this.style);
    row.classList.add('section-end');
    if (index === -1) return this.target.append(row);
    const [section] = this.sections.splice(index, this.sections.length - index);
    section.body.append(row);
    section.duration.textContent = formatElapsed(Math.max(0, marker.time - section.time) * 1000);
  }
}

function lineRow(number, offset, text, style) {
  const row = document.createElement('div');
  row.className = 'line';
  row.id = `L${number}`;
  row.dataset.o = String(offset);
  const link = document.createElement('a');
  link.className = 'n';
  link.href = `#L${number}`;
  link.textContent = String(number);
  const time = document.createElement('span');
  time.className = 't';
  time.textContent = formatElapsed(timeAt(marks, offset));
  const content = document.createElement('span');
  content.className = 'c';
  for (const segment of renderAnsi(text, style)) {
    if (segment.classes.length === 0 && !segment.color && !segment.background) {
      content.append(segment.text);
      continue;
    }
    const span = document.createElement('span');
    span.className = segment.classes.join(' ');
    if (segment.color) span.style.color = segment.color;
    if (segment.background) span.style.backgroundColor = segment.background;
    span.textContent = segment.text;
    content.append(span);
  }
  row.append(link, time, content);
  return row;
}

async function fetchRange(from, to) {
  const response = await fetch(body.dataset.raw, { headers: { Range: `bytes=${from}-${to - 1}` } });
  if (response.status !== 206 && response.status !== 200) throw new Error(`the log answered ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

const decoder = new TextDecoder();

/** What is not loaded: bytes [from, to), lines firstLine..lastLine, shown as a marker that loads it. */
class Gap {
  constructor(gap, before) {
    Object.assign(this, gap);
    this.element = document.createElement('div');
    this.element.className = 'gap';
    logBox.insertBefore(this.element, before);
    this.render();
  }

  render() {
    this.element.textContent = '';
    const megabytes = ((this.to - this.from) / 1024 / 1024).toFixed(1);
    const text = document.createElement('span');
    text.textContent = `lines ${this.firstLine}–${this.lastLine} not shown (${megabytes} MB) `;
    const button = document.createElement('button');
    button.textContent = 'load';
    button.addEventListener('click', () => void this.load(this.from, LOAD_BYTES));
    this.element.append(text, button);
  }

  contains(line) {
    return line >= this.firstLine && line <= this.lastLine;
  }

  /** Loads whole lines from `at` (a line start in the gap, of line `line`), about `bytes` of them, splitting the gap. */
  async load(at, bytes, line = this.firstLine) {
    const end = Math.min(this.to, at + bytes);
    const data = await fetchRange(at, end);
    const cut = end === this.to ? data.length : data.lastIndexOf(0x0a) + 1;
    if (cut <= 0) return;
    const text = decoder.decode(data.subarray(0, cut));
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    gaps.splice(gaps.indexOf(this), 1);
    if (at > this.from) gaps.push(new Gap({ from: this.from, to: at, firstLine: this.firstLine, lastLine: line - 1 }, this.element));
    const block = new Block(line, at, this.element);
    block.add(text);
    block.end();
    if (at + cut < this.to) gaps.push(new Gap({ from: at + cut, to: this.to, firstLine: line + lines, lastLine: this.lastLine }, this.element));
    this.element.remove();
  }
}

const gaps = [];

function highlight(number) {
  const row = document.getElementById(`L${number}`);
  if (!row) return false;
  document.querySelectorAll('.line.target').forEach((other) => other.classList.remove('target'));
  for (let parent = row.parentElement; parent; parent = parent.parentElement) if (parent.tagName === 'DETAILS') parent.open = true;
  row.classList.add('target');
  row.scrollIntoView({ block: 'center' });
  stick = false;
  return true;
}

async function jumpTo(number, offset) {
  if (highlight(number)) return;
  let gap = gaps.find((g) => g.contains(number));
  if (gap && offset !== undefined) await gap.load(offset, JUMP_BYTES, number);
  else for (; gap; gap = gaps.find((g) => g.contains(number))) await gap.load(gap.from, LOAD_BYTES);
  highlight(number);
}

function follow(tail, status) {
  const block = new Block(tail.firstLine, tail.from);
  const url = new URL(body.dataset.follow, location.href);
  url.searchParams.set('from', String(tail.from));
  const events = new EventSource(url);
  let pending = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    for (const text of pending) block.add(text);
    pending = [];
    block.trim(MAX_LIVE_LINES);
    if (stick) window.scrollTo(0, document.documentElement.scrollHeight);
  };
  followState.textContent = status === 'running' || status === 'queued' ? 'following…' : '';
  events.addEventListener('log', (event) => {
    const { offset, text, time } = JSON.parse(event.data);
    if (time !== null && time !== undefined) marks.push(offset, time);
    pending.push(text);
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(flush);
    }
  });
  events.addEventListener('end', (event) => {
    events.close();
    flush();
    block.end();
    const { status: ended } = JSON.parse(event.data);
    followState.textContent = `the job ended: ${ended}`;
    const pill = document.querySelector('#job-status .status');
    if (pill) {
      pill.className = `status status-${ended}`;
      pill.textContent = ended;
    }
    body.dataset.ended = ended;
  });
  events.addEventListener('error', () => {
    if (events.readyState !== EventSource.CLOSED) followState.textContent = 'reconnecting…';
  });
  events.addEventListener('open', () => {
    if (!body.dataset.ended) followState.textContent = 'following…';
  });
}

async function start() {
  const response = await fetch(body.dataset.outline);
  if (!response.ok) {
    followState.textContent = `could not load the log (${response.status})`;
    return;
  }
  const outline = await response.json();
  marks = outline.marks;
  if (outline.head.end > 0) {
    const block = new Block(1, 0);
    block.add(decoder.decode(await fetchRange(0, outline.head.end)));
    block.end();
  }
  if (outline.gap) gaps.push(new Gap(outline.gap, null));
  follow(outline.tail, outline.status);
  const wanted = /^#L(\d+)$/.exec(location.hash);
  if (wanted) setTimeout(() => void jumpTo(Number(wanted[1])), 300);
}

document.getElementById('search').addEventListener('submit', async (event) => {
  event.preventDefault();
  const query = document.getElementById('search-text').value;
  const result = document.getElementById('search-result');
  const hits = document.getElementById('search-hits');
  hits.textContent = '';
  if (!query) return;
  const url = new URL(body.dataset.search, location.href);
  url.searchParams.set('q', query);
  const found = await (await fetch(url)).json();
  result.textContent = `${found.matches.length}${found.complete ? '' : '+'} line${found.matches.length === 1 ? '' : 's'}`;
  for (const match of found.matches) {
    const item = document.createElement('li');
    const link = document.createElement('a');
    link.href = `#L${match.line}`;
    link.textContent = `${match.line}: ${match.text}`;
    link.addEventListener('click', (click) => {
      click.preventDefault();
      history.replaceState(null, '', `#L${match.line}`);
      void jumpTo(match.line, match.offset);
    });
    item.append(link);
    hits.append(item);
  }
});

window.addEventListener('hashchange', () => {
  const wanted = /^#L(\d+)$/.exec(location.hash);
  if (wanted) void jumpTo(Number(wanted[1]));
});

void start();
