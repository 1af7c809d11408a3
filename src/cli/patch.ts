// keel patch FILE|-: send a patch series (an mbox from git format-patch, or a
// plain diff with --author and --subject) to be applied onto its base and
// tested; prints the patch id. keel patch show|retest|close|flag|unflag P-12.
// Submitting, retesting and closing need a submitter token (its own patches)
// or an admin; flags are an admin's. Exit 0 when done, 1 when the dispatcher
// did not do it (an unknown patch, another submitter's), 2 for bad usage, a
// patch refused at once (too large, binary, a path outside the repository,
// a base that cannot be found) or an unreachable dispatcher.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../common/errors.js';
import { parseFlags } from '../common/flags.js';
import { isAuthor, isBaseSpec, isSubject } from '../protocol/patch-fields.js';
import { LIMITS } from '../protocol/limits.js';
import type { Message, PatchOp } from '../protocol/messages.js';
import type { PatchRecord } from '../protocol/patch-records.js';
import { isName, isRequestId } from '../protocol/validate.js';
import { request, type RequestOptions } from './client.js';
import { adminName, parseProject, parseTarget, SUBMITTER_TARGET_USAGE, TARGET_FLAGS, type Target } from './target.js';

export const PATCH_USAGE = `usage: keel patch FILE|- [--base REF|SHA|P-N] [--author "Name <email>"] [--subject TEXT] [--project NAME] [--as NAME]
       keel patch show P-N [--json]
       keel patch retest|close P-N
       keel patch flag|unflag P-N FLAG

  FILE, -                 an mbox (git format-patch, one or more patches, a cover letter) or a plain unified diff; - reads stdin
  --base REF|SHA|P-N      what to apply it onto (default: a Based-on: line in the series, else origin's default branch)
  --author, --subject     name the commit a plain diff makes (an mbox names its own)
  --project NAME          the observer's --project it belongs to
  --as NAME               who submits or acts (default: your token's name, else "owner", or "submitter" for a submitter token)
  --json                  show: print the patch's record as JSON
${SUBMITTER_TARGET_USAGE}`;

const OPS: readonly PatchOp[] = ['retest', 'close', 'flag', 'unflag'];

export async function patch(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help')) {
    console.log(PATCH_USAGE);
    return 0;
  }
  const parsed = parseFlags({
    args: argv, strict: true, allowPositionals: true,
    options: {
      ...TARGET_FLAGS, base: { type: 'string' }, author: { type: 'string' }, subject: { type: 'string' }, project: { type: 'string' },
      as: { type: 'string' }, json: { type: 'boolean', default: false },
    },
  });
  const [first, ...rest] = parsed.positionals;
  if (first === undefined) throw new ConfigError('keel patch needs a FILE (or - for stdin), or show, retest, close, flag or unflag with a patch id');
  const target = parseTarget(parsed.values, env);
  if (first === 'show') return show(target, one(rest, 0), parsed.values.json);
  if ((OPS as readonly string[]).includes(first)) return operate(target, first as PatchOp, rest, parsed.values.as);
  if (rest.length > 0) throw new ConfigError(`keel patch takes one FILE, got "${parsed.positionals.join(' ')}"`);
  return submit(target, readPatchFile(first), parsed.values);
}

/** The file, or stdin for "-". */
function readPatchFile(path: string): Buffer {
  try {
    return readFileSync(path === '-' ? 0 : path);
  } catch (error) {
    throw new ConfigError(`cannot read the patch ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** The patch id in the positionals, and no more than `flags` more. */
function one(rest: string[], flags: number): string {
  const [id, ...more] = rest;
  if (id === undefined || !isRequestId(id) || !id.startsWith('P-') || more.length !== flags) {
    throw new ConfigError(`expected a patch id such as P-12${flags > 0 ? ' and a flag' : ''}, got "${rest.join(' ')}"`);
  }
  return id;
}

/** Submitters act as submitters; anyone else with a secret (or none) as an admin. */
function actingAs(target: Target, as: string | undefined): RequestOptions {
  const secret = target.security.secret;
  if (secret?.kind === 'role' && secret.role === 'submitter') return { security: target.security, role: 'submitter', name: as ?? secret.name ?? 'submitter' };
  return { security: target.security, role: 'admin', name: adminName(as, target) };
}

async function submit(target: Target, bytes: Buffer, values: { base?: string; author?: string; subject?: string; project?: string; as?: string }): Promise<number> {
  const { base = null, author = null, subject = null } = values;
  if (base !== null && !isBaseSpec(base)) throw new ConfigError(`--base must be a branch, a commit id or a patch id, got "${base}"`);
  if (author !== null && !isAuthor(author)) throw new ConfigError(`--author must be "Name <email>", got "${author}"`);
  if (subject !== null && !isSubject(subject)) throw new ConfigError(`--subject must be one line of at most ${LIMITS.printable} characters`);
  if (bytes.length > LIMITS.patchBytes) throw new ConfigError(`the patch is ${bytes.length} bytes; Keel takes at most ${LIMITS.patchBytes}`);
  const messages: Message[] = [{
    type: 'patch', project: parseProject(values.project), base, author, subject, bytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  }];
  // The dispatcher refuses a patch over its --max-patch-mib as soon as it hears its size; the bytes follow regardless.
  for (let at = 0; at < bytes.length; at += LIMITS.patchChunk) {
    messages.push({ type: 'patch-data', data: bytes.subarray(at, at + LIMITS.patchChunk).toString('base64') });
  }
  const reply = await request(target.address, messages, 'done', { ...actingAs(target, values.as), timeoutMs: 60_000 });
  if (!reply.ok) {
    console.error(`keel patch: ${reply.message}`);
    return 2;
  }
  console.log(reply.message);
  return 0;
}

async function operate(target: Target, op: PatchOp, rest: string[], as: string | undefined): Promise<number> {
  const withFlag = op === 'flag' || op === 'unflag';
  const id = one(rest, withFlag ? 1 : 0);
  const flag = withFlag ? rest[1]! : null;
  if (flag !== null && !isName(flag)) throw new ConfigError(`FLAG must be a plain name such as ready-for-checkin, got "${flag}"`);
  const reply = await request(target.address, { type: 'patch-op', patch: id, op, flag }, 'done', actingAs(target, as));
  console.log(reply.message);
  return reply.ok ? 0 : 1;
}

async function show(target: Target, id: string, json: boolean): Promise<number> {
  const reply = await request(target.address, { type: 'patch-show', patch: id }, 'patch-record', { security: target.security });
  if (json) console.log(JSON.stringify(reply.record, null, 2));
  else if (reply.record) console.log(describe(reply.record).join('\n'));
  else console.log(reply.note);
  if (reply.record && reply.note) console.error(`keel: ${reply.note}`);
  return reply.record ? 0 : 1;
}

const short = (sha: string | null) => (sha === null ? '-' : sha.slice(0, 12));

/** A patch's record for people: every version, every application, and how to fetch one. */
export function describe(record: PatchRecord): string[] {
  const lines = [
    `${record.id}  ${record.state}  "${record.subject}"  by ${record.author}`,
    `submitted by ${record.by} at ${record.submittedAt}${record.closedAt ? `, closed at ${record.closedAt}` : ''}`,
    `follows:  ${record.trunk ?? 'nothing (its base is a commit or a patch)'}${record.flags.length > 0 ? `; flags: ${record.flags.join(', ')}` : ''}`,
  ];
  if (record.message) lines.push(`note:     ${record.message}`);
  const broken = record.brokenBy;
  if (broken) {
    const first = broken.first ? `; the first trunk commit it fails with: ${broken.first}` : broken.left > 0 ? `; narrowing, ${broken.left} trunk commits in question` : '';
    lines.push(`broken by trunk: passed on ${short(broken.good)}, not on ${short(broken.bad)} (since ${broken.at})${first}. ${broken.message}`);
  }
  for (const version of [...record.versions].reverse()) {
    const what = version.format === 'mbox' ? `mbox, ${version.parts} patch${version.parts === 1 ? '' : 'es'}${version.cover ? ', cover letter' : ''}` : 'diff';
    lines.push('', `version ${version.version} (${what}, ${version.files.length} files) onto ${version.baseSpec ?? 'the default branch'} (${short(version.base)}), ${version.submittedAt}`);
    for (const app of version.applications) {
      const fix = app.fix === null || app.fix === 'n/a' ? '' : `  ${app.fix === 'verified' ? 'fix verified' : 'tests pass without the fix'}`;
      lines.push(`  ${version.version}.${app.n}  ${app.purpose.padEnd(6)}  onto ${short(app.onto)}  applied ${short(app.applied)}  ${app.state}${fix}${app.state === 'conflict' || app.state === 'error' ? `: ${app.message}` : ''}`);
    }
    const last = [...version.applications].reverse().find((a) => a.applied !== null);
    if (last) {
      const ref = `refs/keel/patches/${record.id}/${version.version}.${last.n}`;
      lines.push(`  fetch it: git fetch origin ${ref} && git cherry-pick ${short(last.onto)}..FETCH_HEAD`);
      lines.push(`  results:  ${record.project ? `${record.project}/` : ''}patches/${record.id}/${last.applied} under the dispatcher's --results`);
    }
  }
  return lines;
}
