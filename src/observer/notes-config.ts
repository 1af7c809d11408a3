// The observer's --notes flags, and what they need to know of the clone
// before it starts: where origin takes pushes (its pushurl, or its url made
// absolute), how the clone reaches it (core.sshCommand), and the object
// format its scratch notes repository must share.

import { basename, join } from 'node:path';
import { parsePublicUrl } from '../common/build-url.js';
import { ConfigError } from '../common/errors.js';
import { git, type GitContext, type Identity } from '../common/git/run.js';
import { isRepoUrl } from '../protocol/validate.js';
import { fetchableUrl } from './clone-info.js';
import { cursorPath } from './cursor.js';
import { NOTES_FORMATS, NOTES_REFS, type NotesFormat } from './notes-format.js';
import type { NotesSettings } from './notes.js';

export const NOTES_FLAGS = {
  notes: { type: 'boolean', default: false },
  'notes-format': { type: 'string', default: 'keel' },
  'public-url': { type: 'string' },
} as const;

export const NOTES_USAGE = `  --notes                 write a git note for every finished build and push it to origin
                          (refs/notes/keel; fetch it with git fetch origin refs/notes/keel:refs/notes/keel)
  --notes-format FORMAT   keel (default), or appraise: git-appraise's CI reports on refs/notes/devtools/ci
  --public-url URL        where people reach the status page: each note links to URL/builds/<sha>`;

export interface NotesValues {
  notes: boolean;
  'notes-format': string;
  'public-url'?: string;
}

export interface CloneFacts {
  clone: string;
  hasOrigin: boolean;
  stateDir: string;
  scratchDir: string;
  git: GitContext;
  identity: Identity;
}

export async function parseNotesConfig(values: NotesValues, facts: CloneFacts): Promise<NotesSettings | null> {
  const format = values['notes-format'];
  if (!(NOTES_FORMATS as readonly string[]).includes(format)) {
    throw new ConfigError(`--notes-format must be one of ${NOTES_FORMATS.join(', ')}, got "${format}"`);
  }
  const publicUrl = parsePublicUrl(values['public-url']);
  if (!values.notes) return null;
  const { clone, git: context } = facts;
  const read = async (key: string) => {
    const found = await git(context, ['config', '--get', key], { cwd: clone, allowFailure: true });
    return found.code === 0 && found.stdout.trim() !== '' ? found.stdout.trim() : null;
  };
  const given = facts.hasOrigin ? (await read('remote.origin.pushurl')) ?? (await read('remote.origin.url')) : null;
  const remote = given === null ? clone : fetchableUrl(given, clone);
  if (!isRepoUrl(remote)) throw new ConfigError(`--notes: origin's URL "${remote}" is not one Keel pushes to (an absolute path, or a file://, ssh://, git://, http(s):// or user@host:path URL)`);
  const objectFormat = (await git(context, ['rev-parse', '--show-object-format'], { cwd: clone })).stdout.trim();
  const work = facts.scratchDir;
  return Object.freeze({
    format: format as NotesFormat,
    publicUrl,
    queueFile: join(facts.stateDir, `${basename(cursorPath(facts.stateDir, clone), '.json')}-notes.json`),
    repo: Object.freeze({
      dir: join(work, 'notes.git'),
      remote,
      ref: NOTES_REFS[format as NotesFormat],
      objectFormat: objectFormat === 'sha256' ? 'sha256' : 'sha1',
      sshCommand: await read('core.sshCommand'),
      git: context,
      identity: facts.identity,
    }),
  });
}
