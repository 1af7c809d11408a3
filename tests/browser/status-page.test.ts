// The status page in a real browser: headless Chromium driven over the
// DevTools protocol (tests/helpers/cdp.ts). A dispatcher in this process
// serves it; the test plays observer and runners over the wire, so it
// decides what each build does and when each line of output is written.
//   - the overview lists runners, the queue with its reasons, builds and
//     branches, and updates itself when a build arrives (no reload);
//   - a running job's log page shows lines the test writes after it loaded,
//     with colours, numbers, times and a folded section, until the job ends;
//   - nothing from a hostile branch name, commit or test output runs or
//     loads: no script marker is set, no injected element exists, no request
//     goes to an address only an injected tag would ask for.
//   - a big log shows its head and tail with an honest gap between, which
//     loads by Range, and a search that jumps into it.
// Screenshots go to the test's temp folder, and to KEEL_SCREENSHOTS (a
// folder) when it is set: `KEEL_SCREENSHOTS=docs` makes the README's.
// Without a browser the test says so in one line and is skipped, unless
// KEEL_REQUIRE_BROWSER=1 (.ci/run) makes that a failure.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { parseDispatcherConfig } from '../../src/dispatcher/config.js';
import { startDispatcher } from '../../src/dispatcher/dispatcher.js';
import { DEFAULT_JOB } from '../../src/dispatcher/keel-json.js';
import type { Job } from '../../src/protocol/messages.js';
import type { JobSpec, RunOutcome } from '../../src/protocol/records.js';
import { Browser, findBrowser, type Page } from '../helpers/cdp.js';
import { connectObserver, connectRunner, outputMessage, passedOutcome, resultMessage } from '../helpers/e2e-wire.js';
import { GIT_ENV, git, makeRepo } from '../helpers/git-repo.js';
import type { TestPeer } from '../helpers/peer.js';
import { stopAtEnd, tempDir, waitFor } from '../helpers/temp.js';

const browserPath = findBrowser();
const required = process.env.KEEL_REQUIRE_BROWSER === '1';
if (!browserPath && !required) {
  process.stderr.write('browser tests not run: no Chromium found (apt-get install chromium, or KEEL_BROWSER=PATH); KEEL_REQUIRE_BROWSER=1 makes this a failure\n');
}

const EVIL_REF = 'refs/heads/evil<script>window.__pwned=1</script><img/src=/pwned-ref/onerror=window.__pwned=2>';
const EVIL_SUBJECT = 'Fix <img src=/pwned-subject onerror=window.__pwned=3> & <script src=/pwned-script.js></script>';
const EVIL_AUTHOR = 'Eve <script>window.__pwned=4</script>';
const EVIL_OUTPUT = '<script>window.__pwned=5</script><img src=/pwned-output onerror=window.__pwned=6> \u001b]0;<img src=/pwned-osc>\u0007';
const ESC = '\u001b';

const unit: JobSpec = { ...DEFAULT_JOB, id: 'unit', title: 'unit (NODE=20)', labels: ['linux'] };
const lint: JobSpec = { ...DEFAULT_JOB, id: 'lint', title: 'lint', labels: ['linux'] };
const gpu: JobSpec = { ...DEFAULT_JOB, id: 'bench', title: 'bench on a GPU', labels: ['gpu'] };

function commit(repo: string, message: string, author = 'Ada Lovelace'): string {
  execFileSync('git', ['commit', '-q', '--allow-empty', '-m', message], { cwd: repo, env: { ...GIT_ENV, GIT_AUTHOR_NAME: author, GIT_AUTHOR_EMAIL: 'dev@keel.invalid' } });
  return git(repo, 'rev-parse', 'HEAD');
}

const junit = `<?xml version="1.0"?><testsuites><testsuite name="math"><testcase classname="math" name="multiplies"><failure message="Expected values to be strictly equal: 4 !== 5">AssertionError: 4 !== 5
    at tests/math.test.js:5:28</failure></testcase><testcase classname="math" name="adds"/></testsuite></testsuites>`;

/** What each build's jobs do when a runner gets them: pass or fail at once with some output, or stay running for the test. */
type Plan = 'pass' | 'fail' | 'hold';

async function scene(t: TestContext) {
  const repo = makeRepo(t);
  const jobs = new Map<string, JobSpec[]>();
  const plans = new Map<string, Plan>();
  const config = parseDispatcherConfig(['--port', '0', '--http-port', '0', '--results', tempDir(t), '--state', tempDir(t)], {});
  const running = await startDispatcher(config, () => {}, { jobsFor: async (_repo, sha) => ({ jobs: jobs.get(sha) ?? [DEFAULT_JOB], error: null }) });
  stopAtEnd(t, () => running.close());
  const observer = await connectObserver(t, running.port, { repo });
  const held = new Map<string, { peer: TestPeer; job: Job }>();
  const serve = async (peer: TestPeer) => {
    for (;;) {
      const job = await peer.next('job', 600_000).catch(() => null);
      if (!job) return;
      const plan = plans.get(job.commit) ?? 'pass';
      if (plan === 'hold') {
        held.set(`${job.commit}/${job.job}`, { peer, job });
        continue;
      }
      const failing = plan === 'fail' && job.job === 'unit';
      peer.send(outputMessage(job.lease, `TAP version 13\n${ESC}[32mok 1 - adds${ESC}[0m\n${failing ? `${ESC}[31mnot ok 2 - multiplies${ESC}[0m\n  ---\n  error: 'Expected values to be strictly equal: 4 !== 5'\n  ...\n` : `${ESC}[32mok 2 - multiplies${ESC}[0m\n`}`));
      const outcome: RunOutcome = failing
        ? { ...passedOutcome(), status: 'failed', exitCode: 1, message: '1 of 2 tests failed', counts: { tests: 2, passed: 1, failed: 1, skipped: 0 }, failedTests: ['math.multiplies'], junit }
        : { ...passedOutcome(), counts: { tests: 2, passed: 2, failed: 0, skipped: 0 }, durationMs: 1500 };
      peer.send(resultMessage(job.lease, outcome));
    }
  };
  for (const [name, slots] of [['linux-1', 2], ['linux-2', 2]] as const) void serve(await connectRunner(t, running.port, { name, slots, labels: ['linux'] }));
  /** Reports a commit on `ref` and waits for the dispatcher's `queued`. */
  const report = async (sha: string, ref: string, specs: JobSpec[], plan: Plan) => {
    jobs.set(sha, specs);
    plans.set(sha, plan);
    await observer.report(sha, ref);
  };
  /** The job a runner holds for the test (`<sha>/<job>`), once it has it. */
  const holding = (key: string) => waitFor(() => held.get(key), `a runner to hold ${key}`);
  return { repo, http: running.http!.port, report, holding };
}

async function shot(t: TestContext, page: Page, name: string): Promise<void> {
  const path = join(tempDir(t, 'keel-shots-'), name);
  await page.screenshot(path);
  assert.ok(existsSync(path));
  const folder = process.env.KEEL_SCREENSHOTS;
  if (folder) copyFileSync(path, join(folder, name));
}

/** No hostile value ran or loaded anything. */
async function assertInert(page: Page): Promise<void> {
  assert.equal(await page.evaluate('typeof window.__pwned'), 'undefined', 'no injected script ran');
  assert.equal(await page.evaluate('document.querySelectorAll("img[src^=\\"/pwned\\"], script:not([src^=\\"/assets/\\"])").length'), 0, 'no injected element');
  assert.deepEqual(page.requests.filter((url) => url.startsWith('http') && new URL(url).pathname.startsWith('/pwned')), [], 'nothing asked for what only an injected tag would');
}

test('the status page in Chromium: overview, a live log, nothing hostile runs', { skip: !browserPath && !required }, async (t) => {
  assert.ok(browserPath, 'KEEL_REQUIRE_BROWSER=1, but no Chromium is installed (apt-get install chromium)');
  const { repo, http, report, holding } = await scene(t);
  const base = `http://127.0.0.1:${http}`;
  const c1 = commit(repo, 'Add the multiplication table');
  await report(c1, 'refs/heads/main', [unit, lint], 'pass');
  const c2 = commit(repo, 'Multiply faster', 'Grace Hopper');
  await report(c2, 'refs/heads/main', [unit, lint], 'fail');
  const c3 = commit(repo, 'Log in with a passkey', 'Alan Turing');
  await report(c3, 'refs/heads/feature/login', [unit], 'pass');
  const c4 = commit(repo, 'Stream the results page', 'Ada Lovelace');
  await report(c4, 'refs/heads/main', [unit, lint], 'hold');
  const c6 = commit(repo, 'Benchmark the kernels', 'Grace Hopper');
  await report(c6, 'refs/heads/main', [gpu], 'pass');

  const browser = await Browser.launch(t, browserPath!);
  const page = await browser.newPage();
  await page.size(1400, 1000);

  // The overview: runners, the queue and why it waits, builds, branches.
  await page.goto(`${base}/`);
  await page.waitFor(`document.querySelectorAll('#runners tbody tr').length === 2 && document.body.innerText.includes('Benchmark the kernels')`, 'both runners and the builds listed');
  let text = await page.evaluate<string>('document.body.innerText');
  assert.match(text, /waiting for a runner with labels gpu/);
  assert.match(text, /Grace Hopper/);
  assert.match(text, /No land or try request/);
  assert.match(text, /feature\/login/);
  await shot(t, page, 'status-page.png');

  const c5 = commit(repo, EVIL_SUBJECT, EVIL_AUTHOR);
  await report(c5, EVIL_REF, [DEFAULT_JOB], 'hold');
  await page.waitFor(`document.getElementById('main').innerText.includes('pwned-subject')`, 'the hostile build on the overview');
  text = await page.evaluate<string>('document.body.innerText');
  assert.ok(text.includes(EVIL_SUBJECT), 'the hostile subject is shown as text');

  // It updates itself: a new build appears without a reload.
  await page.evaluate('window.__sameDocument = true');
  const c7 = commit(repo, 'Tidy the README');
  await report(c7, 'refs/heads/docs', [unit], 'pass');
  await page.waitFor(`document.getElementById('main').innerText.includes('Tidy the README')`, 'the new build on the overview');
  assert.equal(await page.evaluate('window.__sameDocument'), true, 'updated in place, not reloaded');

  // A running job's log page: lines written after it loaded appear, coloured, numbered, timed, folded.
  const { peer, job: leased } = await holding(`${c4}/unit`);
  const now = Math.floor(Date.now() / 1000);
  peer.send(outputMessage(leased.lease, `${ESC}[0Ksection_start:${now}:install[collapsed=true]\r${ESC}[0K${ESC}[1mInstalling dependencies${ESC}[0m\nadded 212 packages in 3s\n${ESC}[0Ksection_end:${now + 3}:install\r${ESC}[0K\n`));
  peer.send(outputMessage(leased.lease, `TAP version 13\n# Subtest: math\n${ESC}[32mok 1 - adds${ESC}[0m\n`));
  await page.goto(`${base}/builds/${c4}/jobs/unit`);
  await page.waitFor(`document.body.innerText.includes('ok 1 - adds')`, 'the log so far');
  for (let i = 1; i <= 30; i++) {
    peer.send(outputMessage(leased.lease, `${ESC}[36mrendering frame ${i}${ESC}[0m of 30\n`));
    // Paced like real output (not a wait for anything), so the lines have times of their own.
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await page.waitFor(`document.body.innerText.includes('rendering frame 30')`, 'lines written after the page loaded');
  assert.equal(await page.evaluate(`document.querySelector('#log .fg-6')?.textContent`), 'rendering frame 1', 'ANSI colours become styles');
  assert.equal(await page.evaluate(`document.querySelector('details.section')?.open`), false, 'a collapsed section is folded');
  assert.equal(await page.evaluate(`document.querySelector('details.section .duration')?.textContent`), '3.0s');
  assert.equal(await page.evaluate(`document.querySelector('#L1 a.n')?.getAttribute('href')`), '#L1', 'lines have permalinks');
  assert.match(await page.evaluate<string>(`document.querySelector('#log .line:last-child .t')?.textContent ?? ''`), /^\d/, 'a time since the job started');
  assert.equal(await page.evaluate('document.body.innerText.includes("\\u001b")'), false, 'no escape sequence is shown');
  await shot(t, page, 'log-page.png');
  peer.send(resultMessage(leased.lease, passedOutcome()));
  await page.waitFor(`document.getElementById('follow-state').textContent.includes('ended: passed')`, 'the end of the job');

  // The search box asks the server, which reads the whole log.
  await page.evaluate(`document.getElementById('search-text').value = 'frame 17'; document.getElementById('search').requestSubmit()`);
  await page.waitFor(`document.querySelectorAll('#search-hits li').length === 1`, 'one match');

  // Hostile values: the branch, the commit and the output are text, on every page.
  const evil = await holding(`${c5}/tests`);
  evil.peer.send(outputMessage(evil.job.lease, `${EVIL_OUTPUT}\n`));
  await page.goto(`${base}/builds/${c5}/jobs/tests`);
  await page.waitFor(`document.getElementById('log').innerText.includes('window.__pwned=5')`, 'the hostile output, as text');
  await page.goto(`${base}/builds/${c5}`);
  assert.ok((await page.evaluate<string>('document.body.innerText')).includes(EVIL_SUBJECT));
  await page.goto(`${base}/branches/${encodeURIComponent(EVIL_REF.slice('refs/heads/'.length))}`);
  await page.waitFor(`document.querySelector('h1')?.textContent.includes('window.__pwned=1')`, 'the hostile branch page');
  await page.goto(`${base}/`);
  await assertInert(page);
  assert.deepEqual(page.errors.filter((error) => !/favicon/.test(error)), [], 'no script error, no refused resource');
});

test('a big log in Chromium: its head and tail, a gap that says what it holds and loads, a search that jumps into it', { skip: !browserPath && !required }, async (t) => {
  assert.ok(browserPath, 'KEEL_REQUIRE_BROWSER=1, but no Chromium is installed (apt-get install chromium)');
  const { repo, http, report, holding } = await scene(t);
  const sha = commit(repo, 'A chatty test');
  await report(sha, 'refs/heads/main', [DEFAULT_JOB], 'hold');
  const { peer, job } = await holding(`${sha}/tests`);
  const line = (n: number) => `output line ${String(n).padStart(6, '0')} ${'-'.repeat(40)}\n`;
  for (let n = 1; n <= 40_000; n += 1000) peer.send(outputMessage(job.lease, Array.from({ length: 1000 }, (_, i) => line(n + i)).join('')));
  peer.send(resultMessage(job.lease, passedOutcome()));
  const browser = await Browser.launch(t, browserPath!);
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${http}/builds/${sha}/jobs/tests`);
  await page.waitFor(`document.getElementById('follow-state').textContent.includes('ended')`, 'the whole tail, to the end');
  const gap = await page.evaluate<string>(`document.querySelector('.gap')?.textContent ?? ''`);
  const [, first, last] = /lines (\d+)–(\d+) not shown/.exec(gap) ?? [];
  assert.ok(first && last && Number(last) > Number(first), gap);
  assert.ok(await page.evaluate(`document.querySelectorAll('#log .line').length < 20000`), 'the page did not get the whole log');
  assert.equal(await page.evaluate(`document.getElementById('L${Number(first) - 1}')?.querySelector('.c').textContent`), line(Number(first) - 2).trimEnd(), 'the head ends just before the gap');
  assert.equal(await page.evaluate(`document.getElementById('L${Number(last) + 1}')?.querySelector('.c').textContent`), line(Number(last)).trimEnd(), 'the tail starts just after it');

  // A search finds a line in the middle on the server; following it loads that part, numbered right.
  const target = Math.floor((Number(first) + Number(last)) / 2);
  await page.evaluate(`document.getElementById('search-text').value = 'line ${String(target - 1).padStart(6, '0')}'; document.getElementById('search').requestSubmit()`);
  await page.waitFor(`document.querySelectorAll('#search-hits a').length === 1`, 'the match');
  await page.evaluate(`document.querySelector('#search-hits a').click()`);
  await page.waitFor(`document.getElementById('L${target}')?.classList.contains('target')`, 'the matched line, loaded and marked');
  assert.equal(await page.evaluate(`document.getElementById('L${target}').querySelector('.c').textContent`), line(target - 1).trimEnd());
  assert.equal(await page.evaluate(`document.querySelectorAll('.gap').length`), 2, 'the gap is split around what was loaded');

  // "load" fills a gap from its start.
  const before = await page.evaluate<number>(`document.querySelectorAll('#log .line').length`);
  await page.evaluate(`document.querySelector('.gap button').click()`);
  await page.waitFor(`document.querySelectorAll('#log .line').length > ${before}`, 'more lines');
  assert.equal(await page.evaluate(`document.getElementById('L${first}').querySelector('.c').textContent`), line(Number(first) - 1).trimEnd());

  // A log followed while it grows big is not kept whole either: its oldest lines become a gap again.
  const growing = commit(repo, 'A test that never stops talking');
  await report(growing, 'refs/heads/main', [DEFAULT_JOB], 'hold');
  const live = await holding(`${growing}/tests`);
  await page.goto(`http://127.0.0.1:${http}/builds/${growing}/jobs/tests`);
  await page.waitFor(`document.querySelectorAll('#log .line').length === 1`, 'the attempt line');
  for (let n = 1; n <= 25_000; n += 1000) live.peer.send(outputMessage(live.job.lease, Array.from({ length: 1000 }, (_, i) => `live ${n + i}\n`).join('')));
  await page.waitFor(`document.getElementById('L25001')?.textContent.includes('live 25000')`, 'the last line, followed');
  assert.ok(await page.evaluate(`document.querySelectorAll('#log .line').length <= 20000`), 'no more than 20,000 lines kept');
  assert.match(await page.evaluate<string>(`document.querySelector('.gap').textContent`), /^lines 1–\d+ not shown/);
  await page.evaluate(`document.querySelector('.gap button').click()`);
  await page.waitFor(`document.getElementById('L2')?.textContent.includes('live 1')`, 'the first lines, loaded again');
  assert.deepEqual(page.errors.filter((error) => !/favicon/.test(error)), []);
});
