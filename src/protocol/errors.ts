// Everything wrong with a line from the wire becomes a ProtocolError with a
// stable code (error-codes.ts), so callers can answer with a structured
// `error` message.

import { ErrorCode, KeelError } from './error-codes.js';

export type ProtocolErrorCode =
  | typeof ErrorCode.lineTooLong | typeof ErrorCode.badUtf8 | typeof ErrorCode.badJson
  | typeof ErrorCode.notAnObject | typeof ErrorCode.unknownType | typeof ErrorCode.badField;

export class ProtocolError extends KeelError {
  override readonly name = 'ProtocolError';
  declare readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A short, printable rendering of a bad value for error messages. */
export function describeValue(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value));
  } catch {
    // Too deep or circular to print: String() of a deeply nested array would overflow the stack too.
    text = Array.isArray(value) ? '[...]' : typeof value === 'object' && value !== null ? '{...}' : String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
