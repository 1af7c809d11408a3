// The one git(): an environment made once from what main hands it, and no
// author but the identity a call passes.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createGitContext, git, GitError, gitReason } from '../../../src/common/git/run.js';
import { git as plainGit, makeRepo } from '../../helpers/git-repo.js';
import { tempDir } from '../../helpers/temp.js';

test('a commit made through git() is by the identity passed, author and committer alike', async (t) => {
  const repo = makeRepo(t);
  // Whatever the process was started with must not leak into the commit, nor redirect git.
  const context = createGitContext({
    ...process.env,
    GIT_AUTHOR_NAME: 'Someone Else', GIT_COMMITTER_EMAIL: 'else@example.invalid', GIT_DIR: tempDir(t),
  });
  const identity = { name: 'Keel Lander', email: 'lander@keel.invalid' };
  await git(context, ['commit', '--quiet', '--allow-empty', '-m', 'landed'], { cwd: repo, identity });
  assert.equal(plainGit(repo, 'log', '-1', '--format=%an%n%ae%n%cn%n%ce'), 'Keel Lander\nlander@keel.invalid\nKeel Lander\nlander@keel.invalid');
  assert.equal(plainGit(repo, 'log', '-1', '--format=%s'), 'landed');
});

test('the context names no author, and a command that may make a commit is refused without an identity', async (t) => {
  const context = createGitContext({ PATH: process.env.PATH, GIT_AUTHOR_NAME: 'x', KEEL_TOKEN: 'secret' });
  assert.ok(Object.isFrozen(context) && Object.isFrozen(context.env));
  assert.deepEqual(Object.keys(context.env).sort(), ['GIT_TERMINAL_PROMPT', 'LC_ALL', 'PATH']);
  const repo = makeRepo(t);
  for (const command of ['commit', 'merge', 'am', 'cherry-pick', 'commit-tree', 'rebase', 'revert']) {
    await assert.rejects(git(context, [command, '--quiet'], { cwd: repo }), new RegExp(`^Error: git ${command} may make a commit: pass the identity`));
  }
  assert.equal(plainGit(repo, 'rev-list', '--all'), '', 'nothing was committed');
});

test('a failing command is a GitError with git\'s reason; allowFailure resolves with the code instead', async (t) => {
  const repo = makeRepo(t);
  const context = createGitContext(process.env);
  await assert.rejects(git(context, ['rev-parse', '--verify', 'refs/heads/nowhere'], { cwd: repo }), (error: unknown) => {
    assert.ok(error instanceof GitError);
    assert.equal(error.code, 'git-failed');
    assert.match(error.message, /^git rev-parse failed: fatal: /);
    return true;
  });
  const { code } = await git(context, ['rev-parse', '--verify', '--quiet', 'refs/heads/nowhere'], { cwd: repo, allowFailure: true });
  assert.equal(code, 1);
});

test('a GitError says git\'s first lines, where the cause is, not its generic last one', async (t) => {
  const repo = makeRepo(t);
  const context = createGitContext(process.env);
  await assert.rejects(git(context, ['fetch', '--quiet', '--', '/nonexistent/repo.git'], { cwd: repo }), (error: unknown) => {
    assert.ok(error instanceof GitError);
    assert.match(error.message, /^git fetch failed: fatal: '\/nonexistent\/repo\.git' does not appear to be a git repository \/ fatal: Could not read from remote repository\. \/ /);
    assert.doesNotMatch(error.message, /\n/);
    return true;
  });
  assert.equal(gitReason('fatal: detected dubious ownership in repository at \'/srv/x\'\nTo add an exception for this directory, call:\n\n\tgit config --global --add safe.directory /srv/x\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n'),
    'fatal: detected dubious ownership in repository at \'/srv/x\' / To add an exception for this directory, call: / git config --global --add safe.directory /srv/x / fatal: Could not read from remote repository.');
  assert.equal(gitReason('x'.repeat(700)).length, 600);
});
