// A plain HTTP client for the status page's tests (node:http, no packages):
// one request answered whole, or a Server-Sent Events stream read event by
// event, with a way to wait for the next event of a name.
import { request, type IncomingHttpHeaders } from 'node:http';
import type { TestContext } from 'node:test';

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export function get(port: number, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export interface ServerEvent {
  id: string | null;
  event: string;
  data: string;
}

export class EventClient {
  readonly events: ServerEvent[] = [];
  status = 0;
  headers: IncomingHttpHeaders = {};
  /** Bytes of comments (keep-alives) and events seen. */
  comments = 0;
  readonly closed: Promise<void>;
  private buffer = '';
  private taken = 0;
  private wake: Array<() => void> = [];
  private done = false;
  private close_: () => void = () => {};

  private constructor() {
    this.closed = new Promise((resolve) => (this.close_ = resolve));
  }

  /** Opens `path` as an event stream; resolves once the response headers are in. */
  static open(t: TestContext, port: number, path: string, headers: Record<string, string> = {}): Promise<EventClient> {
    const client = new EventClient();
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
        client.status = res.statusCode!;
        client.headers = res.headers;
        res.setEncoding('utf8');
        res.on('data', (text: string) => client.receive(text));
        res.on('close', () => client.finish());
        res.on('error', () => client.finish());
        resolve(client);
      });
      req.on('error', reject);
      req.end();
      client.stop = () => req.destroy();
      t.after(() => req.destroy());
    });
  }

  stop: () => void = () => {};

  /** The next event not yet taken (of `name`, skipping others when given). */
  async next(name?: string, timeoutMs = 20_000): Promise<ServerEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.taken < this.events.length) {
        const event = this.events[this.taken++]!;
        if (name === undefined || event.event === name) return event;
      }
      if (this.done) throw new Error(`the stream closed before ${name ?? 'an'} event; got ${this.events.map((e) => e.event).join(',')}`);
      if (Date.now() > deadline) throw new Error(`no ${name ?? ''} event within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.wake.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private receive(text: string): void {
    this.buffer += text;
    for (let end = this.buffer.indexOf('\n\n'); end !== -1; end = this.buffer.indexOf('\n\n')) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const event: ServerEvent = { id: null, event: 'message', data: '' };
      let isEvent = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) this.comments += 1;
        else if (line.startsWith('id: ')) event.id = line.slice(4);
        else if (line.startsWith('event: ')) event.event = line.slice(7);
        else if (line.startsWith('data: ')) {
          event.data += line.slice(6);
          isEvent = true;
        }
      }
      if (isEvent) this.events.push(event);
    }
    for (const wake of this.wake.splice(0)) wake();
  }

  private finish(): void {
    this.done = true;
    this.close_();
    for (const wake of this.wake.splice(0)) wake();
  }
}
