// A client connection: admission (hello, and the challenge when the
// dispatcher has a secret), one request, and its reply (`request`) or the
// stream of replies that answers it (`converse`, for `keel logs`).

import type { AuthRole } from '../common/auth.js';
import { formatAddress, type Address } from '../common/address.js';
import { Connection } from '../common/connection.js';
import { dial } from '../common/dial.js';
import { TimeoutError } from '../common/errors.js';
import { answerChallenge, hello } from '../common/hello.js';
import type { Security } from '../common/security.js';
import { ErrorCode, KeelError } from '../protocol/error-codes.js';
import type { Message, MessageOf, MessageType } from '../protocol/messages.js';

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
  /** `client` (read-only) unless the request needs `admin`. */
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
  const { security = { secret: null, tls: null }, role = 'client', name = 'keel-cli', timeoutMs = 10_000 } = options;
  const where = formatAddress(address);
  let socket;
  try {
    socket = await dial(address, security.tls);
  } catch (error) {
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
      reject(new TimeoutError(`no answer from dispatcher at ${where} within ${timeoutMs} ms`));
    }, timeoutMs);
    const conn: Connection = new Connection(socket, {
      onMessage: (reply) => {
        timer.refresh();
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
      reject(new UnreachableError(`dispatcher at ${where} closed the connection${cause ? `: ${cause.message}` : ''}`));
    });
  });
}
