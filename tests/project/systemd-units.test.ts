// The systemd units in contrib/systemd (README: "Run Keel as a service"):
// each starts its role with flags the role accepts, as its own service user
// with its state folder, restarts on a crash but not on a bad setting
// (exit 2), and a runner is stopped by its own drain rather than by
// systemd's SIGTERM to every test process. `systemd-analyze verify` checks
// them in tests/integration/systemd.test.ts.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseDispatcherConfig } from '../../src/dispatcher/config.js';
import { parseObserverConfig } from '../../src/observer/config.js';
import { parseRunnerConfig } from '../../src/runner/config.js';
import { makeRepo } from '../helpers/git-repo.js';
import { execStart, readUnits } from '../helpers/systemd-units.js';
import { tempDir } from '../helpers/temp.js';

const units = readUnits();

test('the three roles are shipped, a runner and an observer as templates', () => {
  assert.deepEqual(units.map((unit) => unit.file), ['keel-dispatcher.service', 'keel-observer@.service', 'keel-runner@.service']);
});

test('each unit starts its role with flags the role accepts', async (t) => {
  const dir = tempDir(t);
  const master = join(dir, 'master.token');
  writeFileSync(master, 'a-master-secret-of-enough-characters\n', { mode: 0o600 });
  const clone = makeRepo(t);
  // Paths of the host they are for, pointed at files and folders of this test.
  const local = (words: string[]) => words.map((word) => word.replace(/^\/etc\/keel\/[a-z]+\.token$/, master).replace(/^\/var\/lib\/keel\/clones\/.*$/, clone));
  for (const unit of units) {
    const words = local(execStart(unit, 'one', 'ci.example'));
    assert.equal(words[0], '/usr/bin/node', unit.file);
    const main = words[1]!;
    const args = words.slice(2);
    if (main === '/opt/keel/dist/dispatcher/main.js') {
      const config = parseDispatcherConfig(args, {});
      assert.equal(config.state, '/var/lib/keel/state');
      assert.equal(config.results, '/var/lib/keel/test_results');
    } else if (main === '/opt/keel/dist/runner/main.js') {
      const config = parseRunnerConfig(args, {});
      assert.equal(config.name, 'ci.example-one', 'one name per instance and host');
      assert.equal(config.workdir, '/var/lib/keel-runner/one');
    } else {
      assert.equal(main, '/opt/keel/dist/observer/main.js', unit.file);
      const config = await parseObserverConfig(args, {});
      assert.equal(config.stateDir, '/var/lib/keel/observer');
    }
  }
});

test('each runs as its service user in its state folder, restarts on a crash, never on exit 2', () => {
  for (const unit of units) {
    const one = (key: string) => unit.settings.get(key)?.[0];
    const user = one('User');
    assert.ok(user === 'keel' || user === 'keel-runner', `${unit.file}: User=${user}`);
    assert.ok(one('StateDirectory')?.startsWith(user!), `${unit.file}: its state under /var/lib/${user}`);
    assert.equal(one('Restart'), 'on-failure', unit.file);
    assert.equal(one('RestartPreventExitStatus'), '2', unit.file);
    assert.equal(one('NoNewPrivileges'), 'yes', unit.file);
    assert.equal(one('WantedBy'), 'multi-user.target', unit.file);
  }
  const runner = units.find((unit) => unit.file === 'keel-runner@.service')!;
  assert.equal(runner.settings.get('KillMode')?.[0], 'mixed', 'SIGTERM to the runner alone: it drains');
  const { drainGraceMs, killGraceMs } = parseRunnerConfig([], {});
  assert.ok(Number(runner.settings.get('TimeoutStopSec')?.[0]) * 1000 > drainGraceMs + killGraceMs, 'systemd waits out the drain');
  assert.equal(units.find((unit) => unit.file === 'keel-dispatcher.service')!.settings.get('User')?.[0], 'keel');
});

test('the README shows each unit in "Run Keel as a service"', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Run Keel as a service'));
  assert.ok(section.length > 0 && readme.includes('## Run Keel as a service'));
  for (const unit of units) assert.ok(section.includes(unit.file), `${unit.file} in the README`);
});
