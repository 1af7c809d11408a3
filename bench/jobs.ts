// Figures for jobs the repository generates and secrets masked in output,
// with real dispatcher, runner and observer processes (dist/):
//
// - generator → first generated job started: a generator that prints one
//   job notes (date, in ms) when it has printed its jobs and is about to
//   exit; the job notes when it starts. The difference is what Keel adds
//   beyond the generator's own run: the result, reading and journaling the
//   jobs, the lease, and starting the job on the runner.
// - masking: one job prints 64 MB of ordinary lines; its duration as the
//   runner timed it (spawn to end, held back by the dispatcher's pace) with
//   10 secrets to mask against the same job with none. Also the masking
//   code alone, in this process, on the same text.

import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Masker } from '../src/runner/masking.js';
import { git, makeRepos, median, percentile, startDispatcher, startKeel, tempDir, waitUntil, type Figure } from './support.js';

const GENERATED = 10;
const MASK_BYTES = 64 * 1024 * 1024;
const RUNS = 5;
const SECRETS = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`SECRET_${i}`, `s3cr3t-value-${i}-${'q'.repeat(20 + i)}`]));

interface World {
  dir: string;
  marks: string;
  work: string;
  commit(files: Record<string, string>, message: string): string;
  result(sha: string): Promise<{ status: string; message: string; jobs: Array<{ name: string; durationMs: number }> }>;
}

/** A central repository, a working copy, and the three processes watching it. */
async function startWorld(name: string, dispatcherFlags: string[] = []): Promise<World> {
  const { dir, central, work, marks } = makeRepos(name);
  const commit = (files: Record<string, string>, message: string) => {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(work, path)), { recursive: true });
      writeFileSync(join(work, path), content);
      if (path.endsWith('.sh')) chmodSync(join(work, path), 0o755);
    }
    git(work, 'add', '-A');
    git(work, 'commit', '-q', '--allow-empty', '-m', message);
    git(work, 'push', '-q', 'origin', 'main');
    return git(work, 'rev-parse', 'HEAD');
  };
  const first = commit({ 'README': 'bench\n', 'tests/ok.sh': '#!/bin/sh\ntrue\n' }, 'first');
  git(dir, 'clone', '-q', central, join(dir, 'clone'));
  const dispatcher = await startDispatcher(dir, dispatcherFlags);
  const address = `127.0.0.1:${dispatcher.port}`;
  startKeel('runner/main.js', ['--dispatcher', address, '--name', 'bench', '--workdir', join(dir, 'runner')]);
  startKeel('observer/main.js', ['--dispatcher', address, '--interval', '5', '--state', join(dir, 'observer'), join(dir, 'clone')]);
  const result = async (sha: string) => {
    await waitUntil(() => existsSync(join(dispatcher.results, sha)), `the result of ${sha}`, 120_000);
    return JSON.parse(readFileSync(join(dispatcher.results, `${sha}.json`), 'utf8'));
  };
  await result(first);
  return { dir, marks, work, commit, result };
}

export async function measureGeneratorLatency(): Promise<Figure[]> {
  const w = await startWorld('generator');
  const generator = [
    '#!/bin/sh',
    `printf '{"job": {"run": "./job.sh"}}\\n'`,
    `date +%s%3N > '${w.marks}'/"$KEEL_COMMIT.generated"`,
    '',
  ].join('\n');
  const job = `#!/bin/sh\ndate +%s%3N > '${w.marks}'/"$KEEL_COMMIT.started"\n`;
  const gaps: number[] = [];
  for (let i = 0; i < GENERATED; i++) {
    const sha = w.commit({ 'keel.json': JSON.stringify({ generate: { run: './gen.sh' } }), 'gen.sh': generator, 'job.sh': job, 'n.txt': `${i}\n` }, `generated ${i}`);
    const record = await w.result(sha);
    if (record.status !== 'passed') throw new Error(`build ${sha} ended ${record.status}: ${record.message}`);
    const mark = (what: string) => Number(readFileSync(join(w.marks, `${sha}.${what}`), 'utf8').trim());
    gaps.push(mark('started') - mark('generated'));
  }
  const setup = `${GENERATED} builds, each a generator printing one job, one runner of one slot; from the generator's last line to the generated job's first`;
  const value = median(gaps);
  return [
    { id: 'jobs.generated.first-job.median', label: 'generator done → first generated job started, median', value, unit: 'ms', setup, target: '≤ 150 ms', met: value <= 150 },
    { id: 'jobs.generated.first-job.p95', label: 'generator done → first generated job started, p95', value: percentile(gaps, 95), unit: 'ms', setup },
  ];
}

export async function measureMasking(): Promise<Figure[]> {
  const secrets = join(tempDir('masking-secrets'), 'secrets');
  writeFileSync(secrets, Object.entries(SECRETS).map(([name, value]) => `${name}=${value}\n`).join(''), { mode: 0o600 });
  const w = await startWorld('masking', ['--secrets', secrets, '--protected', 'main']);
  const line = 'ok 1 - an ordinary line of test output, like thousands of others, with a number 12345 in it\n';
  const print = `#!/bin/sh\nyes '${line.trim()}' | head -c ${MASK_BYTES}\n`;
  // Runs alternate, so a machine busy with something else weighs on both alike.
  const durations: Record<'none' | 'ten', number[]> = { none: [], ten: [] };
  for (let i = 0; i < RUNS; i++) {
    for (const label of ['none', 'ten'] as const) {
      const asked = label === 'ten' ? { secrets: Object.keys(SECRETS) } : {};
      const sha = w.commit({ 'keel.json': JSON.stringify({ jobs: { print: { run: './print.sh', ...asked } } }), 'print.sh': print, 'n.txt': `${label} ${i}\n` }, `${label} ${i}`);
      const record = await w.result(sha);
      if (record.status !== 'passed') throw new Error(`build ${sha} ended ${record.status}: ${record.message}`);
      durations[label].push(record.jobs[0]!.durationMs);
    }
  }
  const rate = (label: 'none' | 'ten') => MASK_BYTES / 1024 / 1024 / (median(durations[label]) / 1000);
  const none = rate('none');
  const masked = rate('ten');
  const share = Math.round((masked / none) * 100);
  // The masking code alone, on 64 KiB chunks of the same text.
  const chunk = line.repeat(Math.floor(65_536 / line.length));
  const inProcess = (masker: Masker) => {
    const sink = masker.wrap({ write: () => true, onDrain: () => {} });
    const started = performance.now();
    let bytes = 0;
    while (bytes < MASK_BYTES) {
      sink.write('stdout', chunk);
      bytes += chunk.length;
    }
    return bytes / 1024 / 1024 / ((performance.now() - started) / 1000);
  };
  const alone = inProcess(new Masker(SECRETS));
  const setup = `a job printing ${MASK_BYTES / 1024 / 1024} MB of test-like lines to a real dispatcher; median of ${RUNS} runs each, alternating, the runner's own duration of the job`;
  return [
    { id: 'jobs.masking.none', label: 'job output with no secret to mask', value: Math.round(none), unit: 'MB/s', setup },
    { id: 'jobs.masking.ten', label: 'job output with 10 secrets to mask', value: Math.round(masked), unit: 'MB/s', setup },
    { id: 'jobs.masking.share', label: 'throughput with 10 secrets, as a share of none', value: share, unit: '%', setup, target: '≥ 80 %', met: share >= 80 },
    { id: 'jobs.masking.alone', label: 'masking alone (10 secrets, 5 forms each), in process', value: Math.round(alone), unit: 'MB/s', setup: '64 KiB chunks of the same lines, no I/O' },
  ];
}
