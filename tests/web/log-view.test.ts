// The log page's text handling (web/log-view.js, the very file the browser
// loads): ANSI SGR to styles, other escapes dropped, carriage returns,
// GitLab sections, lines cut from pieces with their byte offsets, times.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  Lines, afterCarriageReturns, formatElapsed, plainStyle, plainText, renderAnsi, sectionMarker, timeAt,
} from '../../web/log-view.js';

const ESC = '\u001b';
const render = (line: string) => renderAnsi(line, plainStyle());

test('SGR colours become classes, and a reset ends them', () => {
  assert.deepEqual(render(`${ESC}[31mred${ESC}[0m plain`), [
    { text: 'red', classes: ['fg-1'], color: null, background: null },
    { text: ' plain', classes: [], color: null, background: null },
  ]);
});

test('bold, bright, background, 256 and 24-bit colours', () => {
  const [bold] = render(`${ESC}[1;92;44mx`);
  assert.deepEqual(bold!.classes.sort(), ['bg-4', 'bold', 'fg-10']);
  assert.equal(render(`${ESC}[38;5;196mx`)[0]!.color, 'rgb(255, 0, 0)');
  assert.deepEqual(render(`${ESC}[38;5;3mx`)[0]!.classes, ['fg-3'], 'the first 16 of the palette are the named colours');
  assert.equal(render(`${ESC}[38;2;1;2;3mx`)[0]!.color, 'rgb(1, 2, 3)');
  assert.equal(render(`${ESC}[48;2;300;0;0mx`)[0]!.background, 'rgb(255, 0, 0)', 'components are clamped');
  assert.equal(render(`${ESC}[38;5;240mx`)[0]!.color, 'rgb(88, 88, 88)');
});

test('inverse swaps the colours, 22/23/24/27/39/49 undo their parts', () => {
  assert.deepEqual(render(`${ESC}[7mx`)[0]!.classes.sort(), ['bg--fg', 'fg--bg']);
  const style = plainStyle();
  renderAnsi(`${ESC}[1;3;4;31;42m`, style);
  renderAnsi(`${ESC}[22;23;24;39;49m`, style);
  assert.deepEqual(style, plainStyle());
});

test('the style carries over from line to line', () => {
  const style = plainStyle();
  renderAnsi(`${ESC}[33mstart`, style);
  assert.deepEqual(renderAnsi('next line', style)[0]!.classes, ['fg-3']);
});

test('other escape sequences and control characters are dropped, never shown', () => {
  const hostile = `a${ESC}[2Jb${ESC}[10;20Hc${ESC}]0;title${ESC}\\d${ESC}]8;;http://x${ESC}\\e${ESC}(Bf${ESC}[?25lg\u0007h\u0000i`;
  assert.equal(plainText(hostile), 'abcdefghi');
  assert.equal(plainText(`${ESC}[0Kclean`), 'clean');
});

test('a carriage return keeps what was written after it, as a terminal does; CRLF is a plain line end', () => {
  assert.equal(afterCarriageReturns('10%\r50%\r100%'), '100%');
  assert.equal(afterCarriageReturns('windows line\r'), 'windows line');
  assert.equal(plainText('progress 1\rprogress 2'), 'progress 2');
});

test('text stays text: markup in output is not interpreted here', () => {
  assert.equal(plainText('<script>alert(1)</script>'), '<script>alert(1)</script>');
});

test('GitLab section markers are found with their name, time, options and header', () => {
  assert.deepEqual(sectionMarker(`${ESC}[0Ksection_start:1560896352:build_step[collapsed=true]\r${ESC}[0KBuilding`), {
    kind: 'start', time: 1560896352, name: 'build_step', collapsed: true, rest: 'Building',
  });
  assert.deepEqual(sectionMarker(`${ESC}[0Ksection_end:1560896360:build_step\r${ESC}[0K`), {
    kind: 'end', time: 1560896360, name: 'build_step', collapsed: false, rest: '',
  });
  assert.equal(sectionMarker('section_start without a time'), null);
  assert.equal(sectionMarker('plain output'), null);
});

test('pieces become whole lines with the byte offset each starts at', () => {
  const lines = new Lines(100);
  assert.deepEqual(lines.push('one\ntw'), [{ text: 'one', offset: 100 }]);
  assert.deepEqual(lines.push('o\n\u00e9t\u00e9\nlast'), [{ text: 'two', offset: 104 }, { text: '\u00e9t\u00e9', offset: 108 }]);
  assert.deepEqual(lines.flush(), [{ text: 'last', offset: 114 }], 'é is two bytes');
  assert.deepEqual(lines.flush(), []);
});

test('a line\'s time is the last mark at or before its offset', () => {
  const marks = [0, 0, 50, 1200, 90, 65_000];
  assert.equal(timeAt(marks, 0), 0);
  assert.equal(timeAt(marks, 49), 0);
  assert.equal(timeAt(marks, 50), 1200);
  assert.equal(timeAt(marks, 10_000), 65_000);
  assert.equal(timeAt([10, 5], 3), null);
  assert.equal(timeAt([], 3), null);
});

test('times since the job started read as a log shows them', () => {
  assert.equal(formatElapsed(400), '0.4s');
  assert.equal(formatElapsed(12_300), '12s');
  assert.equal(formatElapsed(62_000), '1:02');
  assert.equal(formatElapsed(3_723_000), '1:02:03');
  assert.equal(formatElapsed(null), '');
});
