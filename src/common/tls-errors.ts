// What a failed TLS connection to the dispatcher means, in one line naming
// the fix, instead of OpenSSL's words: a certificate for another name, a CA
// that did not sign it, a dispatcher that does not speak TLS at all, a
// client certificate it wants or refuses.

import { isIP } from 'node:net';
import { formatAddress, type Address } from './address.js';

type TlsError = Error & { code?: string; cert?: { subjectaltname?: string; subject?: { CN?: string } } };

const NOT_SIGNED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED',
]);

/** The names and addresses a certificate is for, from its subjectAltName ("DNS:localhost, IP Address:127.0.0.1"). */
function namesOf(error: TlsError): string[] {
  const san = error.cert?.subjectaltname ?? '';
  const names = san.split(',').map((entry) => entry.trim().replace(/^(DNS|IP Address):/, '')).filter(Boolean);
  return names.length > 0 ? names : [error.cert?.subject?.CN ?? ''].filter(Boolean);
}

/** `error` from dialling `address` over TLS, explained; other errors come back as they are. */
export function explainTlsError(error: Error, address: Address, given: { ca: boolean; cert: boolean }): Error {
  const code = (error as TlsError).code ?? '';
  const port = address.port;
  let why: string | null = null;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names = namesOf(error as TlsError);
    const usable = names.find((name) => !name.includes('*') && (isIP(name) === 0 || name !== address.host));
    why = `certificate is for ${names.join(', ') || 'no name'}, not ${address.host}${usable ? `: use --dispatcher ${formatAddress({ host: usable, port })}` : ''}`;
  } else if (NOT_SIGNED.has(code)) {
    why = given.ca
      ? `the dispatcher's certificate is not signed by the CA in --tls-ca (${code})`
      : `the dispatcher's certificate is not signed by a CA this machine trusts: give --tls-ca FILE, the CA that signed it (${code})`;
  } else if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    why = `the dispatcher's certificate is not valid now (${code})`;
  } else if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
    why = 'the dispatcher does not speak TLS: drop --tls-ca, or give the dispatcher --tls-cert and --tls-key';
  } else if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' || code === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE') {
    why = given.cert
      ? 'the dispatcher refused the TLS handshake (it wants a client certificate signed by its --tls-ca)'
      : 'the dispatcher wants a client certificate: give --tls-cert and --tls-key';
  } else if (code === 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' || code === 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE') {
    why = 'the dispatcher does not trust this client certificate (--tls-cert): it must be signed by the CA the dispatcher has as --tls-ca';
  }
  return why === null ? error : Object.assign(new Error(why, { cause: error }), { code });
}
