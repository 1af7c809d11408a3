// The pages as HTML, rendered from hostile values: branch names, commit
// subjects and authors, runner labels, notes, test names and JUnit text
// that are markup. Every one must come out as text (escaped), and the only
// script a page names is its own file under /assets.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { renderBadge } from '../../../src/dispatcher/http/badge.js';
import { buildPage } from '../../../src/dispatcher/http/build-page.js';
import { branchPage } from '../../../src/dispatcher/http/branch-page.js';
import type { CommitInfo } from '../../../src/dispatcher/http/commit-info.js';
import { parseCommit } from '../../../src/dispatcher/http/commit-info.js';
import { escapeHtml, html } from '../../../src/dispatcher/http/html.js';
import { parseFailures } from '../../../src/dispatcher/http/junit-failures.js';
import { Links } from '../../../src/dispatcher/http/links.js';
import { logPage } from '../../../src/dispatcher/http/log-page.js';
import { overviewPage } from '../../../src/dispatcher/http/overview-page.js';
import type { OverviewView } from '../../../src/dispatcher/http/views.js';
import { isRefName } from '../../../src/protocol/validate.js';
import type { BuildRecord, BuildSummary } from '../../../src/protocol/records.js';
import { SHA1, application, buildRecord, buildSummary, patchRecord, runnerSummary } from '../../protocol/fixtures.js';

const EVIL_REF = 'refs/heads/"><svg/onload=alert(1)><script>alert(2)</script>';
const EVIL = '</td><script>alert(3)</script><img src=x onerror=alert(4)>&amp;';
const NOW = Date.parse('2024-05-01T12:00:05.000Z');

/** No markup from the values above survives; the page's own module script is the only script. */
function assertInert(page: string): void {
  const own = page.replace(/<script type="module" src="\/assets\/[a-z-]+\.js"><\/script>/g, '');
  assert.doesNotMatch(own, /<script/i, 'no script element');
  assert.doesNotMatch(own, /<img src=x|<svg\/onload/i, 'no injected element');
  assert.doesNotMatch(own, /<[a-z][^<>]*\son[a-z]+\s*=/i, 'no element with an event handler attribute');
  assert.match(page, /&lt;script&gt;alert\(/, 'the hostile text is shown, escaped');
}

test('html escapes what it interpolates, and only Html made by it passes as markup', () => {
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  assert.equal(html`<p title="${'"><b>'}">${'<i>'}${html`<b>ok</b>`}${[1, '<2>']}${null}${false}</p>`.text,
    '<p title="&quot;&gt;&lt;b&gt;">&lt;i&gt;<b>ok</b>1&lt;2&gt;</p>');
});

test('a hostile branch name is a valid ref, so the page must cope with it', () => {
  assert.ok(isRefName(EVIL_REF));
});

const hostileSummary: BuildSummary = { ...buildSummary, project: null, ref: EVIL_REF, note: EVIL.slice(0, 200), status: 'running', endedAt: null, durationMs: null };
const infos = new Map<string, CommitInfo>([[SHA1, { author: EVIL, email: EVIL, date: null, subject: EVIL }]]);

test('the overview shows hostile names, subjects, labels and notes as text', () => {
  const view: OverviewView = {
    status: {
      type: 'status', builds: [hostileSummary], omitted: 0, runners: [runnerSummary], runnersOmitted: 0, queued: 1, unwritten: [], unwrittenCount: 0, record: null, note: '',
      scaling: { started: [{ name: 'auto-1', labels: [], state: 'starting', reason: EVIL, since: '2024-05-01T12:00:00.000Z' }], failures: 2, lastFailure: EVIL, backoffUntil: null },
    },
    runners: [{
      name: 'runner-1', labels: ['gpu'], slots: 2, busy: 1, draining: false, paused: true, unhealthy: EVIL, lastSeenAt: '2024-05-01T12:00:04.000Z',
      running: [{ commit: SHA1, project: null, ref: EVIL_REF, job: 'tests', title: EVIL, attempt: 1, startedAt: '2024-05-01T12:00:00.000Z' }],
    }],
    queue: [{ commit: SHA1, project: null, ref: EVIL_REF, job: 'tests', title: EVIL, labels: ['gpu'], queuedAt: '2024-05-01T12:00:00.000Z', reason: 'waiting for a runner with labels gpu' }],
    queueTotal: 1,
    branches: [{ project: null, ref: EVIL_REF, builds: [hostileSummary] }],
    landQueue: [{
      id: 'L-7', kind: 'land', project: null, branch: EVIL_REF, head: SHA1, target: 'refs/heads/main', priority: 0, squash: false,
      state: 'conflict', message: EVIL, by: EVIL, queuedAt: '2024-05-01T12:00:00.000Z', endedAt: '2024-05-01T12:00:01.000Z',
      flaky: false, landedAs: null, builds: [{ batch: 'B-2', commit: SHA1, base: SHA1, status: 'failed' }],
    }],
    patches: [{ ...patchRecord, id: 'P-3', subject: EVIL, author: EVIL, flags: ['ready-for-checkin'], versions: 2, files: [], latest: { ...application, applied: SHA1 } }],
  };
  const page = overviewPage(view, infos, new Links(null), NOW).text;
  assertInert(page);
  assert.match(page, /waiting for a runner with labels gpu/);
  assert.match(page, /runner-1 <span class="muted">\(paused\)<\/span> <div class="warning">unhealthy: &lt;\/td&gt;&lt;script&gt;/, 'paused, and why it is unhealthy, escaped');
  assert.match(page, /Started on demand: <span class="name">auto-1<\/span> \(starting, [^]*2 failed start\(s\), the last: &lt;\/td&gt;/, 'runners started on demand, and failed starts');
  assert.match(page, /<td class="name">L-7<\/td>[^]*status-failed">conflict</, 'the land request, its state coloured as a failure');
  assert.match(page, /<td class="name">P-3<\/td>[^]*>ready-for-checkin</, 'the patch and its flag');
  assert.match(page, new RegExp(`href="/builds/${SHA1}"`), 'each links the build it was tested as');
  assert.match(page, /href="\/branches\/%22%3E%3Csvg\/onload%3Dalert\(1\)%3E%3Cscript%3Ealert\(2\)%3C\/script%3E"/, 'the branch link is percent-encoded');
});

const hostileBuild: BuildRecord = {
  ...buildRecord, ref: EVIL_REF, message: EVIL, status: 'failed',
  jobs: buildRecord.jobs.map((job) => ({
    ...job, message: EVIL, failedTests: [EVIL], spec: { ...job.spec, title: EVIL, labels: ['linux'] },
    artifacts: { dir: `${SHA1}.${job.name}.artifacts`, files: [{ path: `dist/${EVIL}`, bytes: 2048 }], notes: [EVIL] },
  })),
};

test('the build page shows a hostile commit, job titles, messages and JUnit failures as text', () => {
  const failures = parseFailures(`<testsuite><testcase classname="a&lt;b" name="&lt;script&gt;alert(5)&lt;/script&gt;"><failure message="&lt;img src=x onerror=alert(6)&gt;"><![CDATA[<script>alert(7)</script>
at line 2]]></failure></testcase></testsuite>`);
  assert.equal(failures[0]!.test, '<script>alert(5)</script>');
  assert.equal(failures[0]!.message, '<img src=x onerror=alert(6)>');
  assert.match(failures[0]!.detail, /^<script>alert\(7\)<\/script>\nat line 2$/);
  const shown = [{ ...failures[0]!, context: { line: 3, lines: [{ number: 3, text: EVIL }] } }];
  const page = buildPage({
    build: hostileBuild, unwritten: false, info: infos.get(SHA1)!, estimate: null, failures: new Map([['test', shown]]),
  }, new Links(null), NOW).text;
  assertInert(page);
  assert.match(page, /href="\/builds\/[0-9a-f]{40}\/jobs\/test#L3"/, 'the output around a failure links to its line');
  assert.match(page, new RegExp(`in <code>${SHA1}\\.test\\.artifacts/</code> beside the results\n<ul class="artifacts"><li><a href="/builds/${SHA1}/artifacts/test/dist/%3C/td%3E%3Cscript%3E[^"]*"><code>dist/&lt;/td&gt;&lt;script&gt;[^<]*</code></a> \\(2\\.0 KiB\\)</li></ul>`), 'the artifacts listed and linked, their names escaped and percent-encoded');
});

test('the branch and log pages show hostile names as text', () => {
  assertInert(branchPage({ ref: EVIL_REF, builds: [hostileSummary], next: 1234, later: false }, infos, new Links(null), NOW).text);
  const page = logPage(hostileBuild, hostileBuild.jobs[0]!, new Links('lib')).text;
  assertInert(page);
  assert.match(page, /data-follow="\/builds\/[0-9a-f]{40}\/log\?project=lib&amp;job=test&amp;follow=1"/);
});

test('the badge is the two-part SVG, grey "unknown" for a branch with no build', () => {
  const passing = renderBadge('passed').text;
  assert.match(passing, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(passing, />keel<\/text>/);
  assert.match(passing, />passing<\/text>/);
  const unknown = renderBadge('unknown').text;
  assert.match(unknown, />unknown<\/text>/);
  assert.match(unknown, /fill="#9e9e9e"/);
  assert.doesNotMatch(unknown, /<script/);
});

test('a commit object gives its author and subject, whatever they hold', () => {
  const raw = Buffer.from([
    `tree ${'1'.repeat(40)}`, `parent ${'2'.repeat(40)}`,
    'author <img src=x> Ada <ada@example.com> 1714564800 +0200', 'committer C <c@x> 1714564800 +0000',
    'gpgsig -----BEGIN PGP SIGNATURE-----', ' line', ' -----END PGP SIGNATURE-----', '', '', '  Fix <the> thing  ', '', 'Body.',
  ].join('\n'));
  assert.deepEqual(parseCommit(raw), { author: '<img src=x> Ada', email: 'ada@example.com', date: '2024-05-01T12:00:00.000Z', subject: 'Fix <the> thing' });
});

test('the build page shows a job skipped by its `when`, a generated job and the secrets a job was given, by name only', () => {
  const [plain, rich] = [buildRecord.jobs.find((job) => !job.spec.generated)!, buildRecord.jobs.find((job) => job.spec.generated)!];
  const skipped = { ...plain, name: 'docs', status: 'skipped' as const, message: 'when.paths: none of the 2 changed files matches docs/**', attempts: [] };
  const build: BuildRecord = { ...buildRecord, jobs: [...buildRecord.jobs, skipped] };
  const page = buildPage({ build, unwritten: false, info: null, estimate: null, failures: new Map() }, new Links(null), NOW).text;
  assert.match(page, /<span class="status status-skipped">skipped<\/span>/);
  assert.match(page, /when\.paths: none of the 2 changed files matches docs\/\*\*/);
  assert.match(page, /<th>from<\/th><td colspan="3">the generator/);
  assert.match(page, /<th>secrets<\/th><td colspan="3">DEPLOY_TOKEN given; X withheld: the dispatcher has no secret X<\/td>/);
  assert.ok(rich.secrets, 'the fixture has a grant');
});
