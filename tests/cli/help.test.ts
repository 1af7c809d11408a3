// Every command's --help, as a new user reads it: it works (keel demo too),
// says which token the command needs, tells cancel from retry, names the
// observer's flags and status's exit codes; a typo'd flag or command gets a
// suggestion.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli, runEntry } from '../helpers/e2e.js';

const help = async (...args: string[]) => {
  const result = await runCli([...args, '--help']);
  assert.equal(result.code, 0, `${args.join(' ')} --help: ${result.stderr}`);
  assert.equal(result.stderr, '');
  return result.stdout;
};

test('every command has --help, exit 0', async () => {
  for (const command of [['dispatcher'], ['runner'], ['observer'], ['status'], ['token'], ['admin'], ['cancel'], ['retry'], ['build'], ['notify'], ['demo'], ['runner', 'pause'],
    ['logs'], ['land'], ['try'], ['queue'], ['patch'], ['patches']]) {
    assert.match(await help(...command), /^usage: keel /, command.join(' '));
  }
  assert.match((await runCli(['help'])).stdout, /^usage: keel <command>/);
});

test('--token-file says which token each command needs', async () => {
  for (const command of ['status', 'notify', 'logs', 'queue', 'patches']) assert.match(await help(command), /--token-file FILE {7}the secret \(or KEEL_TOKEN\) when the dispatcher has one: a client token/, command);
  for (const command of [['cancel'], ['retry'], ['build'], ['admin'], ['runner', 'pause'], ['land'], ['try']]) {
    assert.match(await help(...command), /--token-file FILE {7}the secret \(or KEEL_TOKEN\) when the dispatcher has one: an admin token/, command.join(' '));
  }
  assert.match(await help('patch'), /--token-file FILE {7}the secret \(or KEEL_TOKEN\) when the dispatcher has one: a submitter token/);
  assert.match(await help('runner'), /--token-file FILE {7}a runner token \(keel token runner\), or the master/);
  assert.match(await help('observer'), /--token-file FILE {7}an observer token \(keel token observer\), or the master/);
  assert.match(await help('dispatcher'), /--token-file FILE {7}the master secret/);
});

test('cancel and retry say different things; observer and status say all their flags', async () => {
  const cancel = await help('cancel');
  const retry = await help('retry');
  assert.notEqual(cancel, retry);
  assert.match(cancel, /^usage: keel cancel SHA/);
  assert.match(cancel, /--branch NAME/);
  assert.match(retry, /^usage: keel retry SHA \[--job NAME\]/);
  const observer = await help('observer');
  const synopsis = observer.slice(0, observer.indexOf('\n\n'));
  for (const flag of ['--project NAME', '--supersede', '--token-file FILE', '--branch NAME', '--tls-ca FILE']) assert.ok(synopsis.includes(flag), `the observer's usage line names ${flag}`);
  const status = await help('status');
  assert.match(status, /^usage: keel status \[SHA \| --branch NAME \[--limit N\]\] \[--project NAME\]/);
  assert.match(status, /^exit status: 0 for the overview/m);
  assert.match(status, /^1 for a build that failed/m);
});

test('a typo\'d flag or command gets a suggestion', async () => {
  const slot = await runEntry('runner/main.js', ['--slot', '2']);
  assert.equal(slot.code, 2);
  assert.equal(slot.stderr, "keel: Unknown option '--slot': did you mean --slots?\n");
  const json = await runCli(['status', '--jsn']);
  assert.equal(json.stderr, "keel: Unknown option '--jsn': did you mean --json?\n");
  const far = await runCli(['status', '--frobnicate']);
  assert.equal(far.stderr, "keel: Unknown option '--frobnicate'\n");
  const command = await runCli(['stauts']);
  assert.equal(command.code, 2);
  assert.match(command.stderr, /^keel: unknown command "stauts": did you mean status\?\n/);
});
