// A real git server for integration tests: gitolite behind an OpenSSH sshd
// of the test's own on a loopback port, with keys made for the test. All of
// it lives in one temp folder: gitolite's home (its rc, conf, keydir,
// repositories and the authorized_keys it writes), the host key, the sshd
// config. sshd runs as root and logs in as root, with HOME set to that
// folder so gitolite-shell finds its own files; nothing outside the folder
// is touched but /run/sshd, which sshd needs to exist. sshd is killed when
// the test ends, pass or fail, after the shared ssh connections (below).
//
// Keel's side shares one ssh connection per key (ControlMaster), as the
// README recommends: on this kind of machine an ssh handshake and login
// costs some 250 ms, and a push goes through three fetches (the observer's,
// the dispatcher's keel.json mirror, the runner's) before its test starts.
//
// Two users: `dev`, who may push anything, and `keel`, who may read the
// repository and write refs/notes/ (and refs/keel/, for landing, once Keel
// lands) — the rights the README's gitolite recipe gives Keel.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { GIT_ENV } from './git-repo.js';
import { listenOn } from './listen.js';
import { stopAtEnd, tempDir, waitFor } from './temp.js';

const SSHD = '/usr/sbin/sshd';

/** Why a gitolite server cannot be run here, or null when it can. */
export function gitoliteUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'sshd logging in as root needs root';
  if (!existsSync(SSHD)) return `${SSHD} is missing (apt-get install openssh-server)`;
  for (const tool of ['gitolite', 'ssh', 'ssh-keygen']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is missing (apt-get install gitolite3 openssh-server)`;
    }
  }
  return null;
}

export interface GitServer {
  /** ssh://root@127.0.0.1:<port>/<repo>. */
  url(repo: string): string;
  /** Where gitolite keeps `repo` on disk. */
  path(repo: string): string;
  /** An environment for the test's own git as `dev`. */
  devEnv: NodeJS.ProcessEnv;
  /** A HOME for Keel's processes: its .gitconfig makes git reach the server as `keel`. */
  keelHome: string;
  /** Makes `script` the post-receive hook of every repository. */
  setPostReceive(script: string): void;
}

const CONF = (repo: string) => `repo gitolite-admin
    RW+                 =   dev

repo ${repo}
    RW+                 =   dev
    RW  refs/notes/     =   keel
    RW+ refs/keel/      =   keel
    RW  main            =   keel
    R                   =   keel
`;

export async function startGitolite(t: TestContext, repo: string): Promise<GitServer> {
  const root = tempDir(t, 'keel-gitolite-');
  const home = join(root, 'home');
  mkdirSync(home);
  const keygen = (name: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', join(root, name)]);
  for (const name of ['dev', 'keel', 'host']) keygen(name);
  const glEnv = { ...Object.fromEntries(Object.entries(GIT_ENV).filter(([key]) => !key.startsWith('GIT_'))), HOME: home };
  const gitolite = (...args: string[]) => execFileSync('gitolite', args, { env: glEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  gitolite('setup', '-pk', join(root, 'dev.pub'));
  writeFileSync(join(home, '.gitolite', 'keydir', 'keel.pub'), readFileSync(join(root, 'keel.pub')));
  writeFileSync(join(home, '.gitolite', 'conf', 'gitolite.conf'), CONF(repo));
  gitolite('setup');
  execFileSync('git', ['symbolic-ref', 'HEAD', 'refs/heads/main'], { cwd: join(home, 'repositories', `${repo}.git`), env: GIT_ENV });

  const { server, port } = await listenOn();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const config = join(root, 'sshd_config');
  writeFileSync(config, [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(root, 'host')}`, `PidFile ${join(root, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(home, '.ssh', 'authorized_keys')}`,
    // The keys live under /tmp, which is world-writable.
    'StrictModes no', 'UsePAM no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password', 'AllowUsers root', `SetEnv HOME=${home}`, 'LogLevel ERROR', '',
  ].join('\n'));
  mkdirSync('/run/sshd', { recursive: true });
  const sshd = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let sshdErrors = '';
  sshd.stderr.on('data', (chunk: Buffer) => (sshdErrors += chunk));
  const exited = new Promise<void>((resolve) => sshd.once('close', () => resolve()));
  stopAtEnd(t, async () => {
    sshd.kill('SIGKILL');
    await exited;
  });
  await waitFor(() => sshd.exitCode === null && canConnect(port), `sshd on port ${port}${sshdErrors ? `: ${sshdErrors}` : ''}`, 10_000);
  if (sshd.exitCode !== null) throw new Error(`sshd exited: ${sshdErrors}`);

  const known = join(root, 'known_hosts');
  writeFileSync(known, `[127.0.0.1]:${port} ${readFileSync(join(root, 'host.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
  const controlPath = join(root, 'cm-%C');
  const shared = `-o ControlMaster=auto -o ControlPath=${controlPath} -o ControlPersist=60`;
  const sshCommand = (key: string, share = false) => (
    `ssh -F /dev/null -i ${join(root, key)} -o IdentitiesOnly=yes -o UserKnownHostsFile=${known} -o StrictHostKeyChecking=yes -o BatchMode=yes${share ? ` ${shared}` : ''}`);
  // Before sshd goes: the shared connection's own ssh process would otherwise wait out ControlPersist.
  stopAtEnd(t, () => {
    try {
      execFileSync('ssh', ['-F', '/dev/null', '-o', `ControlPath=${controlPath}`, '-O', 'exit', '-p', String(port), 'root@127.0.0.1'], { stdio: 'ignore' });
    } catch {
      // no shared connection left
    }
  });
  const keelHome = join(root, 'keel-home');
  mkdirSync(keelHome);
  writeFileSync(join(keelHome, '.gitconfig'), `[core]\n\tsshCommand = ${sshCommand('keel', true)}\n[init]\n\tdefaultBranch = main\n`);
  return {
    url: (name) => `ssh://root@127.0.0.1:${port}/${name}`,
    path: (name) => join(home, 'repositories', `${name}.git`),
    devEnv: { ...GIT_ENV, GIT_SSH_COMMAND: sshCommand('dev') },
    keelHome,
    setPostReceive(script) {
      const hook = join(home, '.gitolite', 'hooks', 'common', 'post-receive');
      writeFileSync(hook, script, { mode: 0o755 });
      gitolite('setup', '--hooks-only');
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
