// The systemd units in contrib/systemd pass `systemd-analyze verify`, as
// templates and as instances: syntax, keys systemd knows, an ExecStart it
// can run. Runs where systemd-analyze is; says so in one line where not.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readUnits, UNITS_DIR } from '../helpers/systemd-units.js';
import { tempDir } from '../helpers/temp.js';

const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const skip = probe.error ? `systemd-analyze is not installed (${(probe.error as NodeJS.ErrnoException).code})` : null;
if (skip) console.log(`# systemd tests not run: ${skip}`);

test('every shipped unit passes systemd-analyze verify, with no warning', { skip: skip ?? false }, (t) => {
  const dir = tempDir(t, 'keel-units-');
  for (const unit of readUnits()) {
    // Node where this machine has it: verify checks that ExecStart's program exists.
    const text = readFileSync(join(UNITS_DIR, unit.file), 'utf8').replaceAll('/usr/bin/node', process.execPath);
    writeFileSync(join(dir, unit.file), text);
    const name = unit.file.endsWith('@.service') ? unit.file.replace('@.service', '@1.service') : unit.file;
    const result = spawnSync('systemd-analyze', ['verify', join(dir, name)], { encoding: 'utf8', cwd: dir });
    assert.equal(result.status, 0, `${name}: ${result.stderr}${result.stdout}`);
    assert.equal(`${result.stdout}${result.stderr}`.trim(), '', `${name} verifies without a word`);
  }
  copyFileSync(join(UNITS_DIR, 'keel-runner@.service'), join(dir, 'typo@.service'));
  writeFileSync(join(dir, 'typo@.service'), `${readFileSync(join(dir, 'typo@.service'), 'utf8')}\n[Service]\nRestrt=always\n`);
  const typo = spawnSync('systemd-analyze', ['verify', join(dir, 'typo@1.service')], { encoding: 'utf8', cwd: dir });
  assert.match(typo.stderr, /Unknown key/, 'the check does see a mistake');
});
