// An observer's time with the dispatcher: it registers for one project, its
// commits go to intake, it is sent the commands (git work) the dispatcher
// has journaled for its project — again after every reconnect until it
// answers each — and it hears when a build of its project finishes: the
// `finished` events wait in the outbox, and are sent again after every
// reconnect, until it says `heard`.

import type { Log } from '../common/log.js';
import { ErrorCode, KeelError } from '../protocol/error-codes.js';
import type { CommandResult, Message, Observe, ObserverCommand } from '../protocol/messages.js';
import { PUSH } from '../protocol/records.js';
import type { Intake } from './intake.js';
import type { EventItem } from './outbox.js';
import type { OutboxPump } from './outbox-pump.js';
import type { Reply } from './reply.js';
import type { ObserverConn, ObserverPeer, ObserverRegistry } from './observer-registry.js';
import type { Scheduler } from './scheduler.js';
import type { PendingCommand } from './state.js';

export type Refusal = { code: ErrorCode; message: string };


/** What to do once an observer has answered a command; resolves with what to tell whoever asked. */
export type CommandEffect = (command: PendingCommand, result: CommandResult, observer: ObserverConn) => Promise<string>;

/** A question nobody answers in this long is given up. */
const QUESTION_TIMEOUT_MS = 30_000;

export class NoObserverError extends KeelError {
  override readonly name = 'NoObserverError';

  constructor(message: string) {
    super(ErrorCode.noObserver, message);
  }
}

export class ObserverSessions {
  /** Whoever asked for a command and waits for its end (a CLI connection), by command id. */
  private readonly waiting = new Map<string, (answer: Reply) => void>();
  /** Questions asked and not answered yet, by id. */
  private readonly asked = new Map<string, { project: string | null; answer(result: CommandResult): void }>();
  private questions = 0;
  /** Where `finished` events wait until heard; set once the dispatcher is wired. */
  outbox: OutboxPump | null = null;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly observers: ObserverRegistry,
    private readonly intake: Intake,
    private readonly effect: CommandEffect,
    /** A commit arrived on a branch, before it is built (or known): a trunk some patch follows may have moved. */
    private readonly arrived: (project: string | null, ref: string, commit: string) => void,
    private readonly log: Log,
  ) {}

  observe(peer: ObserverPeer, name: string, { project, repo, supersede }: Omit<Observe, 'type'>): Refusal | null {
    const added = this.observers.add({ project, repo, supersede, name, peer });
    const what = project === null ? 'the default project' : `project ${project}`;
    if (!added.added) return { code: ErrorCode.projectTaken, message: `${what} already has a live observer (${added.holder.name}); one observer per project` };
    this.log(`observer ${name} observing ${what} (${repo})`);
    for (const command of this.scheduler.state.commands.values()) {
      if (command.project === project) peer.send({ type: 'command', id: command.id, command: command.command });
    }
    // The rest are sent as their records become durable.
    for (const event of this.scheduler.state.outbox.events.values()) {
      if (event.build.project === project && this.outbox?.isDurable(event.id)) peer.send(finishedMessage(event));
    }
    return null;
  }

  /** The project a registered observer speaks for. */
  projectOf(peer: ObserverPeer): string | null {
    return this.observers.of(peer)!.project;
  }

  left(peer: ObserverPeer): void {
    const conn = this.observers.remove(peer);
    if (conn) this.log(`observer ${conn.name} left`);
  }

  /** A commit from a registered observer: true once recorded, false when already known. */
  commit(peer: ObserverPeer, commit: string, ref: string): Promise<boolean> {
    const conn = this.observers.of(peer)!;
    this.arrived(conn.project, ref, commit);
    return this.intake.add({ commit, ref, repo: conn.repo, project: conn.project, subject: PUSH, supersede: conn.supersede });
  }

  /**
   * Journals a command for the observer of `project` and sends it if that
   * observer is connected; resolves with its id once it is durable. Its
   * answer goes to the effect, whenever it comes.
   */
  async send(project: string | null, command: ObserverCommand, by: string): Promise<string> {
    const id = `C-${this.scheduler.state.commandCount + 1}`;
    await this.scheduler.record({ op: 'command', id, project, command, by, at: new Date().toISOString() });
    this.observers.forProject(project)?.peer.send({ type: 'command', id, command });
    return id;
  }

  /**
   * Sends a command and resolves when it has been done and its effect
   * recorded, or at once (with `ok`) when no observer can do it yet.
   */
  async ask(project: string | null, command: ObserverCommand, by: string): Promise<Reply> {
    const connected = this.observers.forProject(project) !== undefined;
    const id = await this.send(project, command, by);
    if (!connected) {
      const what = project === null ? 'the default project' : `project ${project}`;
      return { ok: true, code: null, message: `${id}: no observer of ${what} is connected; it is asked as soon as one is`, request: null };
    }
    return new Promise<Reply>((resolve) => this.waiting.set(id, resolve));
  }

  /**
   * Asks the connected observer of `project` a question (git it only reads):
   * never journaled, and refused at once when no observer is connected.
   */
  question(project: string | null, command: ObserverCommand): Promise<CommandResult> {
    const observer = this.observers.forProject(project);
    const what = project === null ? 'the default project' : `project ${project}`;
    if (!observer) return Promise.reject(new NoObserverError(`no observer of ${what} is connected: it must be, to look at its repository`));
    this.questions += 1;
    const id = `Q-${this.questions}`;
    return new Promise<CommandResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.asked.delete(id);
        reject(new NoObserverError(`the observer of ${what} did not answer within ${QUESTION_TIMEOUT_MS / 1000} s`));
      }, QUESTION_TIMEOUT_MS);
      this.asked.set(id, { project, answer: (result) => {
        clearTimeout(timer);
        resolve(result);
      } });
      observer.peer.send({ type: 'command', id, command });
    });
  }

  /** An observer's answer to a command; a refusal when the command is not its project's. */
  async result(peer: ObserverPeer, result: CommandResult): Promise<Refusal | null> {
    const conn = this.observers.of(peer)!;
    const question = this.asked.get(result.id);
    if (question) {
      if (question.project !== conn.project) return { code: ErrorCode.notYourCommand, message: `question ${result.id} is not for this observer's project` };
      this.asked.delete(result.id);
      question.answer(result);
      return null;
    }
    const command = this.scheduler.state.commands.get(result.id);
    if (!command) return null;
    if (command.project !== conn.project) return { code: ErrorCode.notYourCommand, message: `command ${result.id} is not for this observer's project` };
    let message: string;
    try {
      message = await this.effect(command, result, conn);
    } catch (error) {
      // Not done: the command stays journaled and is sent again on the next connection.
      this.log(`command ${result.id}: ${(error as Error).message}`);
      return null;
    }
    // The effect is recorded first, so a crash between the two repeats the command, never loses it.
    await this.scheduler.record({
      op: 'command-done', id: result.id, ok: result.ok, code: result.code, message, commit: result.commit, at: new Date().toISOString(),
    });
    this.log(`command ${result.id} (${command.command.op}) ${result.ok ? 'done' : `failed: ${result.code}: ${result.message}`}`);
    this.waiting.get(result.id)?.({ ok: result.ok, code: result.code, message: `${result.id}: ${message}`, request: null });
    this.waiting.delete(result.id);
    return null;
  }

  /** A build of the observer's project finished (durably): tell it, if it is connected. */
  event(event: EventItem): void {
    this.observers.forProject(event.build.project)?.peer.send(finishedMessage(event));
  }

  /** The observer has taken event `id`; one of another project's is not its to take, and is left alone. */
  heard(peer: ObserverPeer, id: number): void {
    const conn = this.observers.of(peer)!;
    const event = this.scheduler.state.outbox.events.get(id);
    if (event && event.build.project === conn.project) this.outbox?.delivered(id);
  }

  /** Every observer connected now; for `keel notify`. */
  all(): IterableIterator<ObserverConn> {
    return this.observers.all();
  }
}

function finishedMessage(event: EventItem): Message {
  return { type: 'finished', id: event.id, build: event.build, jobs: event.jobs };
}
