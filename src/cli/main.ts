#!/usr/bin/env node
// keel: one executable for every role and query.
//   keel dispatcher|runner|observer [flags]   start a long-running process
//   keel status [sha] [--json]                 ask the dispatcher
//   keel logs SHA [--job ID] [--follow]        a build's log, live
//   keel token ROLE, keel admin ...            secrets and admins
//   keel land|try BRANCH, keel queue           the gate: land only what passes
//   keel notify                                observers scan now (post-receive hook)
//   keel demo [--repo PATH]                    all three on a sample repo (npm start)

import { runAsEntry } from '../common/entry.js';
import { main as dispatcher } from '../dispatcher/main.js';
import { main as observer } from '../observer/main.js';
import { main as runner } from '../runner/main.js';
import { admin } from './admin.js';
import { build } from './build.js';
import { buildControl } from './build-control.js';
import { demo } from './demo.js';
import { land } from './land.js';
import { logs } from './logs.js';
import { notify } from './notify.js';
import { patch } from './patch.js';
import { patches } from './patches.js';
import { queue } from './queue.js';
import { status } from './status.js';
import { token } from './token.js';

const USAGE = `usage: keel <command> [flags]

commands:
  dispatcher   start the dispatcher (keel dispatcher --help)
  runner       start a runner (keel runner --help)
  observer     watch a clone and report new commits (keel observer --help)
  status       show builds: keel status [SHA] [--json], keel status --branch NAME [--limit N]
  logs         a build's log: keel logs SHA [--job ID] [--follow]
  token        print the secret for a role: keel token runner|observer|client|admin|submitter [NAME]
  admin        who may act as admin: keel admin list | add NAME | remove NAME
  cancel       stop a queued or running build, or a land request: keel cancel SHA|L-17
  build        build a branch's head now, without a push: keel build BRANCH
  retry        run a finished build again: keel retry SHA [--job NAME]
  land         merge a branch, test the merge, land it only if it passes: keel land BRANCH [--into main]
  try          test the merge of a branch without landing it: keel try BRANCH [--into main]
  queue        the land queue of every target: keel queue [--json]
  patch        test a patch series from email: keel patch FILE|- [--base REF]; keel patch show|retest|close|flag P-12
  patches      the patches and how they fare: keel patches [--state S] [--flag F] [--broken-by-trunk] [--json]
  notify       make observers look for new commits now (for a post-receive hook)
  demo         run all three on a sample repository (what npm start does)`;

async function run(argv: string[]): Promise<number | null> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'dispatcher': await dispatcher(rest); return null;
    case 'runner': await runner(rest); return null;
    case 'observer': await observer(rest); return null;
    case 'status': return status(rest, process.env);
    case 'logs': return logs(rest, process.env);
    case 'token': return token(rest, process.env);
    case 'admin': return admin(rest, process.env);
    case 'cancel': case 'retry': return buildControl(command, rest, process.env);
    case 'build': return build(rest, process.env);
    case 'land': case 'try': return land(command, rest, process.env);
    case 'queue': return queue(rest, process.env);
    case 'patch': return patch(rest, process.env);
    case 'patches': return patches(rest, process.env);
    case 'notify': return notify(rest, process.env);
    case 'demo': return demo(rest, process.env);
    case 'help': case '--help': case '-h': console.log(USAGE); return 0;
    case undefined: console.error(USAGE); return 2;
    default: console.error(`keel: unknown command "${command}"\n${USAGE}`); return 2;
  }
}

// A query that fails (bad usage, a secret that does not fit, a refusal, no
// dispatcher) could not be asked: one line and exit 2, as for a role that
// cannot start.
runAsEntry(import.meta.url, run);
