#!/usr/bin/env node
// keel: one executable for every role and query.
//   keel dispatcher|runner|observer [flags]   start a long-running process
//   keel status [sha] [--json]                 ask the dispatcher
//   keel token ROLE, keel admin ...            secrets and admins
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
  status       show builds: keel status [SHA] [--json]
  token        print the secret for a role: keel token runner|observer|client|admin
  admin        who may act as admin: keel admin list | add NAME | remove NAME
  cancel       stop builds: keel cancel SHA, or --branch NAME, --queued, --all
  build        build now, without a push: keel build BRANCH|SHA
  retry        run a finished build again: keel retry SHA [--job NAME]
  notify       make observers look for new commits now (for a post-receive hook)
  demo         run all three on a sample repository (what npm start does)`;

const COMMANDS = ['dispatcher', 'runner', 'observer', 'status', 'token', 'admin', 'cancel', 'build', 'retry', 'notify', 'demo', 'help'];

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
    case 'token': return (await import('./token.js')).token(rest, env);
    case 'admin': return (await import('./admin.js')).admin(rest, env);
    case 'cancel': case 'retry': return (await import('./build-control.js')).buildControl(command, rest, env);
    case 'build': return (await import('./build.js')).build(rest, env);
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
