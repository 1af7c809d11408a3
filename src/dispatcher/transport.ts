// Telling TLS from plain TCP on a new connection, and what to say when a
// peer gets it wrong. Every message of the protocol starts with "{" (or
// whitespace); every TLS connection starts with a handshake record, byte
// 0x16. So the dispatcher reads one byte first: a plain peer at a TLS port
// is answered in plain JSON (`tls-required`) instead of being dropped by
// OpenSSL without a word, and a TLS peer at a plain port is closed at once
// instead of waiting out the hello timeout. What went wrong is logged in one
// line (OpenSSL's own errors span several), at most once a minute per peer.

import type { Socket } from 'node:net';

export const TLS_HANDSHAKE = 0x16;

/** The first byte the peer sends (left in the socket for whoever reads next), or null if it sends none within `timeoutMs`. */
export function firstByte(socket: Socket, timeoutMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    const finish = (byte: number | null) => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('close', onClose);
      socket.off('error', onClose);
      resolve(byte);
    };
    const onReadable = () => {
      const chunk = socket.read(1) as Buffer | null;
      if (chunk === null) return;
      socket.unshift(chunk);
      finish(chunk[0]!);
    };
    const onClose = () => finish(null);
    const timer = setTimeout(() => finish(null), timeoutMs);
    socket.on('readable', onReadable);
    socket.once('close', onClose);
    socket.once('error', onClose);
  });
}

/** What a plain peer at a TLS port is told. */
export const TLS_REQUIRED = 'this dispatcher speaks TLS: give --tls-ca FILE (the CA that signed its certificate)';

export const PLAIN_AT_TLS = 'a peer spoke plain TCP to this TLS port: give it --tls-ca';
export const TLS_AT_PLAIN = 'a peer spoke TLS to this plain-TCP port: drop its --tls-ca, or give this dispatcher --tls-cert and --tls-key';

/** A failed TLS handshake in a few words; `error` null when the peer just hung up. */
export function handshakeProblem(error: (Error & { code?: string }) | null): string {
  if (error === null) return handshakeProblemOf('ECONNRESET', '');
  return handshakeProblemOf(error.code, error.message ?? '');
}

function handshakeProblemOf(code: string | undefined, message: string): string {
  switch (code) {
    case undefined: case 'ECONNRESET':
      return 'a peer hung up during the TLS handshake: it may not trust this dispatcher\'s certificate (its --tls-ca), or reach it by a name or address the certificate does not have';
    case 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA': case 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE': case 'ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR':
      return 'a peer does not trust this dispatcher\'s certificate: give it --tls-ca with the CA that signed it';
    case 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE':
      return 'a peer showed no client certificate, which this dispatcher\'s --tls-ca requires: give it --tls-cert and --tls-key';
    case 'ERR_SSL_CERTIFICATE_VERIFY_FAILED': case 'ERR_SSL_TLSV1_ALERT_CERTIFICATE_UNKNOWN':
      return 'a peer showed a client certificate not signed by this dispatcher\'s --tls-ca';
    case 'ERR_SSL_WRONG_VERSION_NUMBER': case 'ERR_SSL_HTTP_REQUEST':
      return PLAIN_AT_TLS;
    default: {
      // OpenSSL's message is "<hex>:error:<code>:<library>:<function>:<reason>:<file>:<line>:"; the reason is what reads.
      const parts = message.split(':');
      const reason = parts.length > 5 ? parts[5] : message.split('\n')[0];
      return `a TLS handshake failed: ${reason} (${code})`;
    }
  }
}
