// Text from a repository or a runner printed where a line is a unit (a
// report, a git note, a log line): its control characters escaped, so a
// newline in a job's message cannot add a line of its own.

/** One line of text whatever it holds: control characters as \n, \t or \u001b. */
export function escapeControls(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}
