// A small Chrome DevTools Protocol client for the browser tests, with no
// packages: headless Chromium started with --remote-debugging-pipe speaks
// CDP as JSON messages ended by a NUL byte, reading them on its file
// descriptor 3 and writing on 4 — no WebSocket. One page (target) per
// test, attached in flat mode (messages carry its sessionId). The browser
// runs in its own process group with a fresh profile in a temp folder, and
// the whole group is killed when the test ends, pass or fail.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { stopAtEnd, tempDir } from './temp.js';

/** Where Debian's `chromium` package puts the browser, and the other usual names. */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

/** The browser to drive: KEEL_BROWSER when set (even to a path that is not there), else the first of the usual ones. */
export function findBrowser(): string | null {
  const given = process.env.KEEL_BROWSER;
  if (given !== undefined) return existsSync(given) ? given : null;
  return CANDIDATES.find((path) => existsSync(path)) ?? null;
}

// The flags the machine needs: no sandbox as root, no GPU, and nothing that
// dials out (this machine has only loopback; the attempts fail noisily).
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--hide-scrollbars', '--mute-audio',
  '--remote-debugging-pipe',
];

interface Pending {
  resolve(result: Record<string, unknown>): void;
  reject(error: Error): void;
  method: string;
}

export interface CdpEvent {
  method: string;
  params: Record<string, unknown>;
  sessionId?: string;
}

export class Browser {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(event: CdpEvent) => void>();
  private buffer = Buffer.alloc(0);
  /** The browser's own last words, for failure messages. */
  readonly stderr: string[] = [];

  private constructor(child: ChildProcess, private readonly input: Writable, output: Readable) {
    output.on('data', (chunk: Buffer) => this.receive(chunk));
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr.push(chunk.toString('utf8'));
      if (this.stderr.length > 50) this.stderr.shift();
    });
    child.once('exit', () => {
      for (const pending of this.pending.values()) pending.reject(new Error(`the browser exited during ${pending.method}`));
      this.pending.clear();
    });
  }

  static async launch(t: TestContext, path: string): Promise<Browser> {
    const profile = tempDir(t, 'keel-chromium-');
    const child = spawn(path, [...FLAGS, `--user-data-dir=${profile}`, 'about:blank'], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], detached: true,
    });
    stopAtEnd(t, () => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }));
    const browser = new Browser(child, child.stdio[3] as Writable, child.stdio[4] as Readable);
    await browser.send('Browser.getVersion');
    return browser;
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.input.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });
  }

  /** Calls `listener` for every event until the returned function is called. */
  listen(listener: (event: CdpEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A new tab, attached, with the page, runtime, log and network domains on. */
  async newPage(): Promise<Page> {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' }) as { targetId: string };
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true }) as { sessionId: string };
    const page = new Page(this, sessionId);
    await Promise.all(['Page.enable', 'Runtime.enable', 'Log.enable', 'Network.enable'].map((method) => page.send(method)));
    return page;
  }

  private receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (let end = this.buffer.indexOf(0); end !== -1; end = this.buffer.indexOf(0)) {
      const message = JSON.parse(this.buffer.subarray(0, end).toString('utf8'));
      this.buffer = this.buffer.subarray(end + 1);
      if (typeof message.id === 'number') {
        const pending = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (!pending) continue;
        if (message.error) pending.reject(new Error(`${pending.method}: ${message.error.message}`));
        else pending.resolve(message.result ?? {});
      } else {
        for (const listener of [...this.listeners]) listener(message as CdpEvent);
      }
    }
  }
}

export class Page {
  /** Every URL the page asked for, in order. */
  readonly requests: string[] = [];
  /** Exceptions thrown in the page and errors it logged (a CSP violation is one). */
  readonly errors: string[] = [];

  constructor(private readonly browser: Browser, readonly sessionId: string) {
    browser.listen((event) => {
      if (event.sessionId !== sessionId) return;
      const params = event.params as Record<string, any>;
      if (event.method === 'Network.requestWillBeSent') this.requests.push(params.request.url);
      if (event.method === 'Runtime.exceptionThrown') this.errors.push(params.exceptionDetails?.exception?.description ?? params.exceptionDetails?.text);
      if (event.method === 'Log.entryAdded' && params.entry.level === 'error') this.errors.push(params.entry.text);
      if (event.method === 'Runtime.consoleAPICalled' && params.type === 'error') this.errors.push(JSON.stringify(params.args));
    });
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.browser.send(method, params, this.sessionId);
  }

  async size(width: number, height: number): Promise<void> {
    await this.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
  }

  /** Navigates and resolves once the page's load event has fired. */
  async goto(url: string, timeoutMs = 20_000): Promise<void> {
    const loaded = this.event('Page.loadEventFired', timeoutMs);
    const { errorText } = await this.send('Page.navigate', { url }) as { errorText?: string };
    if (errorText) throw new Error(`could not load ${url}: ${errorText}`);
    await loaded;
  }

  /** The value of `expression` in the page (awaited when it is a promise). */
  async evaluate<T = unknown>(expression: string): Promise<T> {
    const { result, exceptionDetails } = await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }) as {
      result: { value?: T }; exceptionDetails?: { text: string; exception?: { description?: string } };
    };
    if (exceptionDetails) throw new Error(`${expression}: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
    return result.value as T;
  }

  /** Polls `expression` until it is truthy; returns its value. */
  async waitFor<T = unknown>(expression: string, what: string, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await this.evaluate<T>(expression);
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${expression}); page errors: ${this.errors.join(' | ') || 'none'}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async screenshot(path: string): Promise<void> {
    const { data } = await this.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: false }) as { data: string };
    writeFileSync(path, Buffer.from(data, 'base64'));
  }

  private event(method: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`no ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      const stop = this.browser.listen((event) => {
        if (event.sessionId !== this.sessionId || event.method !== method) return;
        clearTimeout(timer);
        stop();
        resolve();
      });
    });
  }
}
