// Every URL the pages link to, built from validated values only and with
// each path segment percent-encoded, so a branch called `a/<b>?x#y` links
// to its own page. `?project=NAME` rides along on every link of a project.

import { branchName } from './format.js';

const segments = (path: string) => path.split('/').map(encodeURIComponent).join('/');

export class Links {
  constructor(readonly project: string | null) {}

  private query(extra: Record<string, string> = {}): string {
    const params = new URLSearchParams({ ...(this.project === null ? {} : { project: this.project }), ...extra });
    const text = params.toString();
    return text ? `?${text}` : '';
  }

  overview(): string {
    return `/${this.query()}`;
  }

  /** A branch's page; refs outside refs/heads/ are given whole. */
  branch(ref: string, before: number | null = null): string {
    return `/branches/${segments(branchName(ref))}${this.query(before === null ? {} : { before: String(before) })}`;
  }

  build(commit: string): string {
    return `/builds/${commit}${this.query()}`;
  }

  job(commit: string, job: string, line?: number): string {
    return `/builds/${commit}/jobs/${encodeURIComponent(job)}${this.query()}${line === undefined ? '' : `#L${line}`}`;
  }

  rawLog(commit: string, job: string, download = false): string {
    return `/builds/${commit}/log${this.query({ job, ...(download ? { download: '1' } : {}) })}`;
  }

  artifact(commit: string, job: string, path: string): string {
    return `/builds/${commit}/artifacts/${encodeURIComponent(job)}/${segments(path)}${this.query()}`;
  }

  apiBuild(commit: string): string {
    return `/api/builds/${commit}${this.query()}`;
  }

  apiStatus(): string {
    return `/api/status${this.query()}`;
  }

  apiBranch(ref: string): string {
    return `/api/branches/${segments(branchName(ref))}${this.query()}`;
  }

  events(build?: string): string {
    return `/api/events${this.query(build ? { build } : {})}`;
  }

  badge(ref: string): string {
    return `/badge.svg${this.query({ branch: branchName(ref) })}`;
  }
}
