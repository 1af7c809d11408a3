// npm run bench: Keel's figures where a CI is felt. Builds nothing itself
// (npm run build runs first), starts real dispatcher, runner and observer
// processes from dist/ and protocol-level fakes from src/protocol, prints one
// line per figure with its unit and setup, and never fails on speed.
//
//   npm run bench                      every figure
//   npm run bench -- --json [FILE]     also the figures as JSON (stdout, or FILE)
//   npm run bench -- --only latency,log   a subset, by name

import { writeFileSync } from 'node:fs';
import { loadavg, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { measureAssignments } from './assignments.js';
import { measureGate } from './gate.js';
import { measureIdleRunners } from './idle-runners.js';
import { measureGeneratorLatency, measureMasking } from './jobs.js';
import { measureInstantLatency, measurePollingLatency } from './latency.js';
import { measureLogThroughput } from './log-throughput.js';
import { measureMemory } from './memory.js';
import { measureNotify } from './notify.js';
import { measurePatches } from './patches.js';
import { measureRunnerOverhead } from './runner-overhead.js';
import { measureFollowers, measureLiveLogLatency, measurePages } from './status-page.js';
import { cleanUp, stopProcesses, type Figure } from './support.js';

const BENCHES: Record<string, () => Promise<Figure[]>> = {
  latency: measureInstantLatency,
  polling: () => measurePollingLatency(5),
  overhead: measureRunnerOverhead,
  assignments: measureAssignments,
  idle: measureIdleRunners,
  log: measureLogThroughput,
  memory: measureMemory,
  gate: measureGate,
  patches: measurePatches,
  sse: measureLiveLogLatency,
  pages: measurePages,
  followers: measureFollowers,
  generator: measureGeneratorLatency,
  masking: measureMasking,
  notify: measureNotify,
};

function formatFigure(figure: Figure): string {
  const verdict = figure.target === undefined ? '' : `  [target ${figure.target}: ${figure.met ? 'met' : 'MISSED'}]`;
  return `${figure.label}: ${figure.value} ${figure.unit}${verdict}  (${figure.setup})`;
}

async function main(): Promise<void> {
  // `--json FILE`: the file is the one positional argument.
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, only: { type: 'string' } },
  });
  if (positionals.length > (values.json ? 1 : 0)) throw new Error(`unexpected argument "${positionals.at(-1)}"; usage: --json [FILE] --only NAME,...`);
  const jsonFile = positionals[0] ?? null;
  const names = values.only ? values.only.split(',') : Object.keys(BENCHES);
  for (const name of names) if (!BENCHES[name]) throw new Error(`--only: unknown figure "${name}"; known: ${Object.keys(BENCHES).join(', ')}`);

  const machine = `${cpus().length} cores, load ${loadavg().map((n) => n.toFixed(2)).join(' ')}, node ${process.version}`;
  console.error(`keel bench: ${machine}`);
  const figures: Figure[] = [];
  const failures: Record<string, string> = {};
  for (const name of names) {
    const started = performance.now();
    try {
      for (const figure of await BENCHES[name]!()) {
        figures.push(figure);
        console.log(formatFigure(figure));
      }
    } catch (error) {
      failures[name] = (error as Error).message;
      console.log(`${name}: could not be measured: ${(error as Error).message.split('\n')[0]}`);
    } finally {
      await stopProcesses();
    }
    console.error(`  (${name} took ${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
  await cleanUp();
  if (values.json) {
    const report = `${JSON.stringify({ date: new Date().toISOString(), machine, figures, failures }, null, 2)}\n`;
    if (jsonFile) writeFileSync(jsonFile, report);
    else process.stdout.write(report);
  }
}

main().catch(async (error: Error) => {
  await cleanUp();
  console.error(`keel bench: ${error.message}`);
  process.exitCode = 2;
});
