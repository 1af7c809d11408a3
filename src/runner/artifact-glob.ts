// Which files of a worktree a job's `artifacts` patterns name: "*" is any
// characters but "/", "?" one of them, "**" as a whole part any number of
// folders; a pattern that names a folder takes everything in it. Pure, so
// the rules are tested apart from any file system.

export interface ArtifactMatcher {
  /** Does any pattern take the file at relative path `path`? */
  matches(path: string): boolean;
  /** Where to look: the folders (or files) the patterns' literal beginnings name; '' for the whole tree. */
  roots: string[];
}

function toRegex(pattern: string): RegExp {
  const parts = pattern.split('/');
  const source = parts.map((part, i) => {
    const last = i === parts.length - 1;
    // The last "**" takes any rest, a name with a newline in it too (which the runner then refuses to send, with a note).
    if (part === '**') return last ? '[\\s\\S]*' : '(?:[^/]+/)*';
    const segment = part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
    return last ? segment : `${segment}/`;
  }).join('');
  return new RegExp(`^${source}$`);
}

export function artifactMatcher(patterns: readonly string[]): ArtifactMatcher {
  const regexes = patterns.map(toRegex);
  const roots = new Set<string>();
  for (const pattern of patterns) {
    const parts = pattern.split('/');
    const literal = parts.findIndex((part) => /[*?]/.test(part));
    roots.add((literal === -1 ? parts : parts.slice(0, literal)).join('/'));
  }
  // Looking under '' covers every other root.
  const list = roots.has('') ? [''] : [...roots].filter((root) => ![...roots].some((other) => other !== root && root.startsWith(`${other}/`)));
  return {
    roots: list.sort(),
    matches(path) {
      const parts = path.split('/');
      // The file itself, or a folder it is in.
      for (let end = parts.length; end > 0; end -= 1) {
        const candidate = parts.slice(0, end).join('/');
        if (regexes.some((regex) => regex.test(candidate))) return true;
      }
      return false;
    },
  };
}
