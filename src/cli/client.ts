// A client connection: admission (hello, and the challenge when the
// dispatcher has a secret), one request, and its reply (`request`) or the
// stream of replies that answers it (`converse`, for `keel logs`).

import type { AuthRole } from '../common/auth.js';
import { formatAddress, type Address } from '../common/address.js';
import { Connection } from '../common/connection.js';
import { dial, explainClose } from '../common/dial.js';
import { TimeoutError } from '../common/errors.js';
import { answerChallenge, hello } from '../common/hello.js';
import type { Security } from '../common/security.js';
import { ErrorCode, KeelError } from '../protocol/error-codes.js';
import type { Message, MessageOf, MessageType } from '../protocol/messages.js';
import { readerIdentity } from './identity.js';

export class UnreachableError extends KeelError {
  override readonly name = 'UnreachableError';

  constructor(message: string) {
    super(ErrorCode.unreachable, message);
  }
}

/** The dispatcher answered with an `error` (auth failed, not allowed, ...); `reason` is its code. */
export class RefusedError extends KeelError {
  override readonly name = 'RefusedError';

  constructor(readonly reason: ErrorCode, message: string) {
    super(ErrorCode.refused, `dispatcher refused: ${reason}: ${message}`);
  }
}

export interface RequestOptions {
  security?: Security;
  /** Who to connect as; by default a reader (see identity.ts): a client, or the admin whose token this is. */
  role?: Extract<AuthRole, 'client' | 'admin' | 'submitter'>;
  name?: string;
  timeoutMs?: number;
}

/** Sends `message` (or several, in order) once admitted and resolves with the first reply of type `expect`. */
export async function request<T extends MessageType>(address: Address, message: Message | Message[], expect: T, options: RequestOptions = {}): Promise<MessageOf<T>> {
  let answer!: MessageOf<T>;
  await converse(address, message, (reply) => {
    if (reply.type !== expect) return false;
    answer = reply as MessageOf<T>;
    return true;
  }, options);
  return answer;
}

/**
 * Sends `message` (or several) once admitted and hands every reply to `onReply` until it
 * returns true (the conversation is over). `timeoutMs` is the longest
 * silence allowed between replies. An `error` from the dispatcher rejects.
 */
export async function converse(address: Address, message: Message | Message[], onReply: (reply: Message) => boolean, options: RequestOptions = {}): Promise<void> {
  const { security = { secret: null, tls: null }, timeoutMs = 10_000 } = options;
  const { role, name } = options.role === undefined ? readerIdentity(security.secret) : { role: options.role, name: options.name ?? 'keel-cli' };
  const where = formatAddress(address);
  // The time limit covers connecting too: a host that drops packets would otherwise hold a push hook for minutes.
  const deadline = Date.now() + timeoutMs;
  const late = () => new TimeoutError(`no answer from dispatcher at ${where} within ${timeoutMs} ms`);
  let socket;
  try {
    socket = await dial(address, security.tls, AbortSignal.timeout(timeoutMs));
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw late();
    throw new UnreachableError(`cannot reach dispatcher at ${where}: ${(error as Error).message}`);
  }
  return new Promise((resolve, reject) => {
    const settle = (outcome: () => void) => {
      clearTimeout(timer);
      conn.close();
      outcome();
    };
    const timer = setTimeout(() => {
      conn.destroy();
      reject(late());
    }, Math.max(0, deadline - Date.now()));
    let heard = false;
    const conn: Connection = new Connection(socket, {
      onMessage: (reply) => {
        timer.refresh();
        heard = true;
        if (reply.type === 'challenge') {
          try {
            conn.send(answerChallenge(reply.nonce, security.secret, role, name));
          } catch (error) {
            settle(() => reject(error));
          }
        } else if (reply.type === 'welcome') {
          for (const each of Array.isArray(message) ? message : [message]) conn.send(each);
        } else if (reply.type === 'error') {
          settle(() => reject(new RefusedError(reply.code, reply.message)));
        } else if (onReply(reply)) {
          settle(() => resolve());
        }
      },
    });
    conn.send(hello(role, name));
    void conn.closed.then((cause) => {
      clearTimeout(timer);
      const why = explainClose(cause, address, security.tls, heard);
      reject(new UnreachableError(`dispatcher at ${where} closed the connection${why ? `: ${why.message}` : ''}`));
    });
  });
}
