// Secrets end to end: a protected branch's push and land builds get the
// secret in their job's environment, masked in the log (whole, split across
// output chunks, base64 and URL-encoded); a try build and an unprotected
// branch's build run without it (checked in the job's own environment) and
// their reports say so; and the value is nowhere on disk: not in the
// journal, the result files, the runner's folder or the observer's. A
// patch's build (code from email) runs without it too.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gateWorld } from '../helpers/gate.js';
import { applications, patchWorld } from '../helpers/patches.js';
import { tempDir } from '../helpers/temp.js';

const TOKEN = 'Tok/3n+Secr3t=16';
const FORMS = [TOKEN, Buffer.from(TOKEN).toString('base64'), encodeURIComponent(TOKEN)];

/** Every file under `dir` that holds one of `needles`. */
function filesHolding(dir: string, needles: string[]): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const path = join(dir, entry);
    if (!statSync(path, { throwIfNoEntry: false })?.isFile()) continue;
    const text = readFileSync(path).toString('latin1');
    if (needles.some((needle) => text.includes(needle))) found.push(path);
  }
  return found;
}

test('a secret reaches protected push and land builds, masked in the log; never a try or an unprotected build; and is on no disk', async (t) => {
  const secrets = join(tempDir(t, 'keel-secrets-'), 'secrets');
  writeFileSync(secrets, `# for deploys\nDEPLOY_TOKEN=${TOKEN}\n`, { mode: 0o600 });
  const g = await gateWorld(t, { dispatcherFlags: ['--secrets', secrets, '--protected', 'main,release/*'] });
  const seen = join(g.control, 'seen');
  const deploy = [
    '#!/bin/sh',
    `echo $$ >> '${g.control}/pids'`,
    'if [ -n "$DEPLOY_TOKEN" ]; then s=set; else s=unset; fi',
    `echo "$KEEL_SUBJECT $KEEL_COMMIT $s $(printf %s "$DEPLOY_TOKEN" | sha256sum | cut -c1-64)" >> '${seen}'`,
    '[ "$s" = set ] || exit 0',
    'echo "whole: $DEPLOY_TOKEN"',
    // The two halves go out as separate writes, a moment apart, so they reach the runner as separate chunks.
    'printf "split: %s" "${DEPLOY_TOKEN%????????}"',
    'sleep 0.3',
    'printf "%s end\\n" "${DEPLOY_TOKEN#????????}"',
    'echo "base64: $(printf %s "$DEPLOY_TOKEN" | base64)"',
    'echo "url: $(node -e \'process.stdout.write(encodeURIComponent(process.env.DEPLOY_TOKEN))\')"',
    '',
  ].join('\n');
  const keelJson = JSON.stringify({ jobs: { deploy: { run: './deploy.sh', secrets: ['DEPLOY_TOKEN', 'NOT_THERE'] } } });
  const main = g.moveMain({ 'keel.json': keelJson, 'deploy.sh': deploy });
  const pushed = await g.result(main);
  assert.equal(pushed.status, 'passed', g.logs());

  g.branch('idea', { 'idea.txt': 'idea\n' });
  const tried = await g.d.keel('try', 'idea', '--wait');
  assert.equal(tried.code, 0, tried.stdout + tried.stderr + g.logs());
  g.branch('ship', { 'ship.txt': 'ship\n' });
  const landed = await g.d.keel('land', 'ship', '--wait');
  assert.equal(landed.code, 0, landed.stdout + landed.stderr + g.logs());
  const feature = g.branch('feature', { 'feature.txt': 'feature\n' });
  const built = await g.d.keel('build', 'feature');
  assert.equal(built.code, 0, built.stdout + built.stderr);

  const hash = createHash('sha256').update(TOKEN).digest('hex');
  const empty = createHash('sha256').update('').digest('hex');
  // One line per run of the deploy job: subject, commit, whether DEPLOY_TOKEN was set, and its hash.
  const runs = () => readFileSync(seen, 'utf8').trim().split('\n').map((line) => line.split(' '));
  await g.until(() => runs().some(([, commit]) => commit === feature), 'the unprotected branch built');
  const of = (subject: string, commit?: string) => runs().find(([kind, sha]) => kind === subject && (commit === undefined || sha === commit))!;
  assert.deepEqual(of('push', main).slice(2), ['set', hash], 'the protected push has it, exactly');
  assert.deepEqual(of('land').slice(2), ['set', hash], 'the land onto main has it');
  assert.deepEqual(of('try').slice(2), ['unset', empty], 'the try does not');
  assert.deepEqual(of('push', feature).slice(2), ['unset', empty], 'the unprotected branch does not');

  const log = readFileSync(join(g.results, `${main}.log`), 'utf8');
  assert.match(log, /whole: \[secret DEPLOY_TOKEN\]\n/);
  assert.match(log, /split: \[secret DEPLOY_TOKEN\] end\n/, 'masked although it came in two chunks');
  assert.match(log, /base64: \[secret DEPLOY_TOKEN\]\n/);
  assert.match(log, /url: \[secret DEPLOY_TOKEN\]\n/);
  const report = g.report(main);
  assert.match(report, /secrets: +DEPLOY_TOKEN given; NOT_THERE withheld: the dispatcher has no secret NOT_THERE/);
  assert.match(g.report(of('try')[1]!), /secrets: +DEPLOY_TOKEN, NOT_THERE withheld: try builds never get secrets/);
  const unprotected = await g.result(feature);
  assert.equal(unprotected.jobs[0].secrets.reason, 'branch feature is not protected (--protected main,release/*)');

  await g.stop(g.d);
  for (const dir of [g.results, g.state, g.tmp]) {
    assert.deepEqual(filesHolding(dir, FORMS).filter((path) => path !== secrets), [], `no secret under ${dir}`);
  }
});

test('a patch build (code from email) gets no secret, though it is applied onto a protected branch; its `when` knows it', async (t) => {
  const secrets = join(tempDir(t, 'keel-secrets-'), 'secrets');
  writeFileSync(secrets, `DEPLOY_TOKEN=${TOKEN}\n`, { mode: 0o600 });
  const p = await patchWorld(t, { dispatcherFlags: ['--secrets', secrets, '--protected', 'main'] });
  const seen = join(p.control, 'seen');
  const deploy = `if [ -n "$DEPLOY_TOKEN" ]; then s=set; else s=unset; fi; echo "$KEEL_SUBJECT $KEEL_COMMIT $s" >> '${seen}'`;
  // A patch build's `when`: its subject is `patch`, its branch the trunk it follows, its paths compared with its base.
  const patchOnly = { run: 'true', when: { subjects: ['patch'], branches: ['main'], paths: ['src.txt'] } };
  const keelJson = JSON.stringify({ jobs: { tests: { run: 'sh tests/run.sh' }, deploy: { run: deploy, secrets: ['DEPLOY_TOKEN'] }, patchOnly } });
  const main = p.moveMain({ 'keel.json': keelJson });
  const pushed = await p.result(main);
  assert.equal(pushed.status, 'passed', p.logs());
  assert.equal(pushed.jobs.find((j: { name: string }) => j.name === 'patchOnly').message, 'when.subjects: a push build is not one of patch');
  const mbox = p.series('topic', [{ 'src.txt': 'one\ntwo\nthree\nfour\n' }]);
  const sent = await p.d.keel('patch', mbox);
  assert.equal(sent.code, 0, sent.stderr);
  const record = await p.waitPatch('P-1', (r) => r.state !== 'open', 'to be tested');
  assert.equal(record.state, 'passed', record.message);
  const applied = applications(record)[0]!.applied!;
  const lines = readFileSync(seen, 'utf8').trim().split('\n');
  assert.ok(lines.includes(`push ${main} set`), lines.join('\n'));
  assert.ok(lines.includes(`patch ${applied} unset`), lines.join('\n'));
  const built = p.readResult(applied, 'patches/P-1');
  const job = built.jobs.find((j: { name: string }) => j.name === 'deploy');
  assert.deepEqual(job.secrets, { granted: [], withheld: ['DEPLOY_TOKEN'], reason: 'patch builds never get secrets' });
  assert.equal(built.jobs.find((j: { name: string }) => j.name === 'patchOnly').status, 'passed', 'a patch onto main that changes src.txt');
});
