// The environment a test process gets. The code under test is untrusted, so
// this is an allow-list: a new secret in the runner's environment (a token,
// cloud credentials, NODE_OPTIONS that preload code, GIT_* that redirect git)
// stays out without anyone having to remember to deny it.

/** Variables a test may reasonably need to find tools, a home and a locale. */
const KEPT = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'TERM', 'TZ', 'TMPDIR'] as const;

/** LC_ALL, LC_CTYPE, ...: locale settings, harmless and often needed for UTF-8 output. */
const LOCALE = /^LC_[A-Z_]+$/;

/** The allow-listed variables of `base`: what tests inherit of the runner's own environment, read once at start. */
export function inheritedEnv(base: NodeJS.ProcessEnv): Readonly<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const name of KEPT) {
    const value = base[name];
    if (value !== undefined) env[name] = value;
  }
  for (const [name, value] of Object.entries(base)) {
    if (LOCALE.test(name) && value !== undefined) env[name] = value;
  }
  return Object.freeze(env);
}

/** Keeps only the allow-listed variables of `base`, then marks the run as CI and adds `extra`. */
export function testEnv(base: NodeJS.ProcessEnv, extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...inheritedEnv(base), CI: 'true', KEEL: '1', ...extra };
}

/** Whether a name belongs to the runner: it sets KEEL_* itself and owns where tools and home are. */
function isReserved(name: string): boolean {
  return name.startsWith('KEEL_') || name === 'PATH' || name === 'HOME';
}

/** Splits a job's `env` into what the test gets and the names the runner keeps for itself. */
export function jobEnv(env: Record<string, string>): { kept: Record<string, string>; ignored: string[] } {
  const kept: Record<string, string> = {};
  const ignored: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (isReserved(name)) ignored.push(name);
    else kept[name] = value;
  }
  return { kept, ignored };
}
