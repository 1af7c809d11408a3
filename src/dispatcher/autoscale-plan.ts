// When to start and stop runners on demand, as a pure function of plain
// values: (jobs waiting, runners, runners started, now) → actions. A group of
// jobs needing the same labels that has waited --scale-after for a runner
// gets runners started for it (as many as jobs wait, less those already
// starting with those labels, within --max-started and not while backing off
// after failures); a started runner that has not registered by
// --start-deadline is a failed start, and nothing is started in the tick
// that finds one (the failure starts a backoff); one idle for --idle-stop is
// stopped.

import type { RunnerView } from './placement.js';

export interface WaitingJob {
  labels: readonly string[];
  /** When it started waiting for a runner (ms). */
  since: number;
}

export interface StartedRunner {
  name: string;
  labels: readonly string[];
  state: 'starting' | 'running' | 'stopping';
  reason: string;
  /** When it entered its state (ms). */
  since: number;
  /** Since when it has held no job, while running (ms); null when busy. */
  idleSince: number | null;
}

export interface ScaleRules {
  scaleAfterMs: number;
  idleStopMs: number;
  maxStarted: number;
  startDeadlineMs: number;
}

export type ScaleAction =
  | { kind: 'start'; labels: string[]; reason: string }
  | { kind: 'stop'; name: string; reason: string }
  | { kind: 'failed'; name: string; reason: string };

export interface ScaleView {
  waiting: readonly WaitingJob[];
  runners: readonly RunnerView[];
  started: readonly StartedRunner[];
  /** No runner is started before this (ms); 0 when not backing off. */
  backoffUntil: number;
}

const covers = (offered: readonly string[], wanted: readonly string[]) => wanted.every((label) => offered.includes(label));

export function planScaling(view: ScaleView, rules: ScaleRules, now: number): ScaleAction[] {
  const actions: ScaleAction[] = [];
  const connected = new Map(view.runners.map((runner) => [runner.name, runner]));
  for (const runner of view.started) {
    if (runner.state === 'starting' && now - runner.since >= rules.startDeadlineMs) {
      actions.push({ kind: 'failed', name: runner.name, reason: `did not register within ${rules.startDeadlineMs / 1000} s (--start-deadline)` });
    }
    if (runner.state === 'running' && connected.has(runner.name) && runner.idleSince !== null && now - runner.idleSince >= rules.idleStopMs) {
      actions.push({ kind: 'stop', name: runner.name, reason: `idle for ${rules.idleStopMs / 1000} s (--idle-stop)` });
    }
  }
  // A failed start begins a backoff (the shell sets it on acting): no start in the same tick.
  if (now < view.backoffUntil || actions.some((a) => a.kind === 'failed')) return actions;
  const starting = view.started.filter((runner) => runner.state === 'starting');
  let room = rules.maxStarted - view.started.length;
  const groups = new Map<string, { labels: string[]; count: number; since: number }>();
  for (const job of view.waiting) {
    if (now - job.since < rules.scaleAfterMs) continue;
    const labels = [...job.labels].sort();
    const key = labels.join(',');
    const group = groups.get(key) ?? { labels, count: 0, since: job.since };
    group.count += 1;
    group.since = Math.min(group.since, job.since);
    groups.set(key, group);
  }
  for (const { labels, count, since } of groups.values()) {
    const coming = starting.filter((runner) => covers(runner.labels, labels)).length;
    const wanted = Math.min(count - coming, room);
    const what = labels.length > 0 ? ` with labels ${labels.join(',')}` : '';
    for (let i = 0; i < wanted; i++) {
      actions.push({ kind: 'start', labels, reason: `${count} job(s) waited ${Math.round((now - since) / 100) / 10} s for a runner${what}` });
    }
    room -= Math.max(0, wanted);
  }
  return actions;
}
