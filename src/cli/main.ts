#!/usr/bin/env node
// keel: one executable for every role and query.
//   keel dispatcher|runner|observer [flags]   start a long-running process
//   keel status [sha] [--json]                 ask the dispatcher
//   keel logs SHA [--job ID] [--follow]        a build's log, live
//   keel token ROLE, keel admin ...            secrets and admins
//   keel land|try BRANCH, keel queue           the gate: land only what passes
//   keel notify                                observers scan now (post-receive hook)
//   keel demo [--repo PATH]                    all three on a sample repo (npm start)
//
// Each command's module is loaded only when it runs: loading all of them
// (three processes' worth of code) doubled the time `keel notify` holds up a
// push in a post-receive hook.

import { runAsEntry } from '../common/entry.js';
import { suggest } from '../common/suggest.js';

const USAGE = `usage: keel <command> [flags]      (keel <command> --help for each)

commands:
  dispatcher   start the dispatcher
  runner       start a runner; keel runner pause|resume NAME: stop or restart giving it jobs
  observer     watch a clone and report new commits
  status       show builds: keel status [SHA] [--json], keel status --branch NAME [--limit N]
  logs         a build's log: keel logs SHA [--job ID] [--follow]
  token        print the secret for a role: keel token runner|observer|client|admin|submitter [NAME]
  admin        who may act as admin: keel admin list | add NAME | remove NAME
  cancel       stop builds: keel cancel SHA, or --branch NAME, --queued, --all; or a land request: keel cancel L-17
  build        build now, without a push: keel build BRANCH|SHA
  retry        run a finished build again: keel retry SHA [--job NAME]
  land         merge a branch, test the merge, land it only if it passes: keel land BRANCH [--into main]
  try          test the merge of a branch without landing it: keel try BRANCH [--into main]
  queue        the land queue of every target: keel queue [--json]
  patch        test a patch series from email: keel patch FILE|- [--base REF]; keel patch show|retest|close|flag P-12
  patches      the patches and how they fare: keel patches [--state S] [--flag F] [--broken-by-trunk] [--json]
  notify       make observers look for new commits now (for a post-receive hook)
  demo         run all three on a sample repository (what npm start does)`;

const COMMANDS = [
  'dispatcher', 'runner', 'observer', 'status', 'logs', 'token', 'admin', 'cancel', 'build', 'retry',
  'land', 'try', 'queue', 'patch', 'patches', 'notify', 'demo', 'help',
];

async function run(argv: string[]): Promise<number | null> {
  const [command, ...rest] = argv;
  const env = process.env;
  switch (command) {
    case 'dispatcher': await (await import('../dispatcher/main.js')).main(rest); return null;
    case 'runner':
      if (rest[0] === 'pause' || rest[0] === 'resume') return (await import('./runner-control.js')).runnerControl(rest, env);
      await (await import('../runner/main.js')).main(rest);
      return null;
    case 'observer': await (await import('../observer/main.js')).main(rest); return null;
    case 'status': return (await import('./status.js')).status(rest, env);
    case 'logs': return (await import('./logs.js')).logs(rest, env);
    case 'token': return (await import('./token.js')).token(rest, env);
    case 'admin': return (await import('./admin.js')).admin(rest, env);
    case 'cancel': case 'retry': return (await import('./build-control.js')).buildControl(command, rest, env);
    case 'build': return (await import('./build.js')).build(rest, env);
    case 'land': case 'try': return (await import('./land.js')).land(command, rest, env);
    case 'queue': return (await import('./queue.js')).queue(rest, env);
    case 'patch': return (await import('./patch.js')).patch(rest, env);
    case 'patches': return (await import('./patches.js')).patches(rest, env);
    case 'notify': return (await import('./notify.js')).notify(rest, env);
    case 'demo': return (await import('./demo.js')).demo(rest, env);
    case 'help': case '--help': case '-h': console.log(USAGE); return 0;
    case undefined: console.error(USAGE); return 2;
    default: {
      const near = suggest(command, COMMANDS);
      console.error(`keel: unknown command "${command}"${near ? `: did you mean ${near}?` : ''}\n${USAGE}`);
      return 2;
    }
  }
}

// A query that fails (bad usage, a secret that does not fit, a refusal, no
// dispatcher) could not be asked: one line and exit 2, as for a role that
// cannot start.
runAsEntry(import.meta.url, run);
