#!/usr/bin/env node
// keel: one executable for every role and query.
//   keel dispatcher|runner|observer [flags]   start a long-running process
//   keel status [sha] [--json]                 ask the dispatcher
//   keel logs SHA [--job ID] [--follow]        a build's log, live
//   keel token ROLE, keel admin ...            secrets and admins
//   keel notify                                observers scan now (post-receive hook)
//   keel demo [--repo PATH]                    all three on a sample repo (npm start)

import { isEntry } from '../common/entry.js';
import { TokenError } from '../common/auth.js';
import { ConfigError, TimeoutError } from '../common/errors.js';
import { main as dispatcher } from '../dispatcher/main.js';
import { main as observer } from '../observer/main.js';
import { main as runner } from '../runner/main.js';
import { admin } from './admin.js';
import { buildControl } from './build-control.js';
import { RefusedError, UnreachableError } from './client.js';
import { demo } from './demo.js';
import { logs } from './logs.js';
import { notify } from './notify.js';
import { status } from './status.js';
import { token } from './token.js';

const USAGE = `usage: keel <command> [flags]

commands:
  dispatcher   start the dispatcher (keel dispatcher --help)
  runner       start a runner (keel runner --help)
  observer     watch a clone and report new commits (keel observer --help)
  status       show builds: keel status [SHA] [--json], keel status --branch NAME [--limit N]
  logs         a build's log: keel logs SHA [--job ID] [--follow]
  token        print the secret for a role: keel token runner|observer|client|admin
  admin        who may act as admin: keel admin list | add NAME | remove NAME
  cancel       stop a queued or running build: keel cancel SHA
  retry        run a finished build again: keel retry SHA [--job NAME]
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
    case 'notify': return notify(rest, process.env);
    case 'demo': return demo(rest);
    case 'help': case '--help': case '-h': console.log(USAGE); return 0;
    case undefined: console.error(USAGE); return 2;
    default: console.error(`keel: unknown command "${command}"\n${USAGE}`); return 2;
  }
}

if (isEntry(import.meta.url)) {
  run(process.argv.slice(2)).then(
    (code) => {
      if (code !== null) process.exitCode = code;
    },
    (error: Error) => {
      process.stderr.write(`keel: ${error.message}\n`);
      // Bad usage, a secret that does not fit, a refusal or no dispatcher: the question could not be asked.
      const usage = [ConfigError, TokenError, RefusedError, UnreachableError, TimeoutError].some((kind) => error instanceof kind);
      process.exitCode = usage ? 2 : 1;
    },
  );
}
