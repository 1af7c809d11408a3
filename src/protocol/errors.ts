// Everything wrong with a line from the wire becomes a ProtocolError with a
// stable code, so callers can answer with a structured `error` message.

export const ProtocolErrorCode = {
  lineTooLong: 'line-too-long',
  badUtf8: 'bad-utf8',
  badJson: 'bad-json',
  notAnObject: 'not-an-object',
  unknownType: 'unknown-type',
  badField: 'bad-field',
  versionMismatch: 'version-mismatch',
} as const;

export type ProtocolErrorCode = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
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
