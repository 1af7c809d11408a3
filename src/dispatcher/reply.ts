// How a request of a client ended, as `done` tells it: `ok`, a code from the
// one table when not, a sentence for people, and the id of the request it
// made or answers (a land request's L-17), when there is one.

import type { ErrorCode } from '../protocol/error-codes.js';

export interface Reply {
  ok: boolean;
  code: ErrorCode | null;
  message: string;
  request: string | null;
}

export const refuse = (code: ErrorCode, message: string, request: string | null = null): Reply => ({ ok: false, code, message, request });
export const done = (message: string, request: string | null = null): Reply => ({ ok: true, code: null, message, request });
