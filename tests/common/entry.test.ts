// The start-up wrapper seen from outside: a real process per case (the
// fixture entry-fixture.ts), its exit code and its stderr lines.
import { strict as assert } from 'node:assert';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { kill, spawnWatched } from '../helpers/processes.js';
import { stopAtEnd } from '../helpers/temp.js';

const FIXTURE = fileURLToPath(new URL('./entry-fixture.ts', import.meta.url));
const STACK_LINE = /^\s+at /;

async function run(t: TestContext, behaviour: string, debug = ''): Promise<{ code: number | null; lines: string[] }> {
  const proc = spawnWatched(['--import', 'tsx', FIXTURE, behaviour], { env: { NODE_DEBUG: debug } });
  stopAtEnd(t, () => kill(proc));
  const { code } = await proc.exited;
  return { code, lines: proc.lines };
}

test('a failure during start-up is one line, keel: <reason>, and exit 2', async (t) => {
  assert.deepEqual(await run(t, 'start-fails'), { code: 2, lines: ['keel: cannot listen on port 1'] });
  assert.deepEqual(await run(t, 'bad-flag'), { code: 2, lines: ['keel: --slots must be a whole number, got "x"'] });
  assert.deepEqual(await run(t, 'throws-while-starting'), { code: 2, lines: ['keel: socket blew up'] });
});

test('a crash after start-up is one line and exit 1; NODE_DEBUG=keel adds the stack', async (t) => {
  const crashed = 'keel: crashed: cannot read x of undefined (NODE_DEBUG=keel shows where)';
  assert.deepEqual(await run(t, 'crash'), { code: 1, lines: [crashed] });
  assert.deepEqual(await run(t, 'rejects-later'), { code: 1, lines: ['keel: crashed: write failed (NODE_DEBUG=keel shows where)'] });

  const debug = await run(t, 'crash', 'keel');
  assert.equal(debug.code, 1);
  assert.equal(debug.lines[0], crashed);
  assert.equal(debug.lines[1], 'TypeError: cannot read x of undefined');
  assert.match(debug.lines[2] ?? '', STACK_LINE);
  assert.match(debug.lines.join('\n'), /entry-fixture\.ts/);
});

test('a command that is done exits with the code its main returns', async (t) => {
  assert.deepEqual(await run(t, 'answers'), { code: 3, lines: [] });
});
