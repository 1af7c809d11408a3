// The environment a test process gets. The code under test is untrusted, so
// this is an allow-list: a new secret in the runner's environment (a token,
// cloud credentials, NODE_OPTIONS that preload code, GIT_* that redirect git)
// stays out without anyone having to remember to deny it.

/** Variables a test may reasonably need to find tools, a home and a locale. */
const KEPT = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'TERM', 'TZ', 'TMPDIR'] as const;

/** LC_ALL, LC_CTYPE, ...: locale settings, harmless and often needed for UTF-8 output. */
const LOCALE = /^LC_[A-Z_]+$/;

/** Keeps only the allow-listed variables of `base`, then marks the run as CI and adds `extra`. */
export function testEnv(base: NodeJS.ProcessEnv, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of KEPT) {
    const value = base[name];
    if (value !== undefined) env[name] = value;
  }
  for (const [name, value] of Object.entries(base)) {
    if (LOCALE.test(name) && value !== undefined) env[name] = value;
  }
  env.CI = 'true';
  env.KEEL = '1';
  return { ...env, ...extra };
}
