// A commit's subject and author for the pages, read from the commit object
// itself (through the job source's long-running `git cat-file`, never
// fetched) and kept in a small cache: a page of 100 builds costs git once.
// Everything here comes from a repository, so pages escape all of it.

export interface CommitInfo {
  author: string;
  email: string;
  /** The author date, ISO; null when the header cannot be read. */
  date: string | null;
  /** The message's first line. */
  subject: string;
}

const MAX_SUBJECT = 300;
const MAX_NAME = 200;
const CACHED = 4096;

/** Reads the author and subject out of a raw commit object (headers, a blank line, the message). */
export function parseCommit(raw: Buffer): CommitInfo {
  const text = raw.toString('utf8');
  const split = text.indexOf('\n\n');
  const headers = (split === -1 ? text : text.slice(0, split)).split('\n');
  const message = split === -1 ? '' : text.slice(split + 2);
  const author = headers.find((line) => line.startsWith('author '))?.slice('author '.length) ?? '';
  const match = /^(.*?) <([^>]*)> (\d+) [+-]\d{4}$/.exec(author);
  const seconds = match ? Number(match[3]) : NaN;
  return {
    author: (match ? match[1]! : author).slice(0, MAX_NAME),
    email: (match ? match[2]! : '').slice(0, MAX_NAME),
    date: Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : null,
    subject: (message.split('\n').find((line) => line.trim() !== '') ?? '').trim().slice(0, MAX_SUBJECT),
  };
}

export type ReadCommit = (repo: string, commit: string) => Promise<Buffer | null>;

export class CommitInfos {
  private readonly cache = new Map<string, Promise<CommitInfo | null>>();

  constructor(private readonly read: ReadCommit) {}

  get(repo: string, commit: string): Promise<CommitInfo | null> {
    const key = `${repo}\u0000${commit}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    const info = this.read(repo, commit).then((raw) => (raw ? parseCommit(raw) : null), () => null);
    this.cache.set(key, info);
    // A commit that could not be read is asked again next time (the mirror may have it by then).
    void info.then((found) => {
      if (found === null) this.cache.delete(key);
    });
    if (this.cache.size > CACHED) this.cache.delete(this.cache.keys().next().value!);
    return info;
  }

  /** Every build's commit info, by commit. */
  async all(builds: Iterable<{ repo: string; commit: string }>): Promise<Map<string, CommitInfo>> {
    const found = new Map<string, CommitInfo>();
    await Promise.all([...builds].map(async ({ repo, commit }) => {
      const info = await this.get(repo, commit);
      if (info) found.set(commit, info);
    }));
    return found;
  }
}
