// A patch as a client sends it: `patch` with its size and checksum, then its
// bytes in `patch-data` chunks. Held in memory per connection until whole
// (at most --max-patch-mib), then checked against the size and checksum it
// was announced with; a connection that closes mid-way leaves nothing.

import { createHash } from 'node:crypto';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { Patch } from '../../protocol/messages.js';
import { refuse, type Reply } from '../reply.js';
import type { Peer } from '../peer.js';

interface Upload {
  meta: Omit<Patch, 'type'>;
  chunks: Buffer[];
  received: number;
}

export type Chunked =
  | { kind: 'more' }
  | { kind: 'whole'; meta: Omit<Patch, 'type'>; bytes: Buffer }
  | { kind: 'refused'; reply: Reply };

export class PatchUploads {
  private readonly uploads = new WeakMap<Peer, Upload>();

  constructor(private readonly maxBytes: number) {}

  isReceiving(peer: Peer): boolean {
    return this.uploads.has(peer);
  }

  /** A refusal, or null when the bytes may come. */
  start(peer: Peer, meta: Omit<Patch, 'type'>): Reply | null {
    const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
    if (meta.bytes > this.maxBytes) return refuse(ErrorCode.tooLarge, `the patch is ${mib(meta.bytes)}, over the limit of ${mib(this.maxBytes)} (the dispatcher's --max-patch-mib)`);
    if (meta.bytes === 0) return refuse(ErrorCode.badPatch, 'the patch is empty');
    this.uploads.set(peer, { meta, chunks: [], received: 0 });
    return null;
  }

  data(peer: Peer, data: string): Chunked {
    const upload = this.uploads.get(peer)!;
    const chunk = Buffer.from(data, 'base64');
    upload.chunks.push(chunk);
    upload.received += chunk.length;
    if (upload.received < upload.meta.bytes) return { kind: 'more' };
    this.uploads.delete(peer);
    const bytes = Buffer.concat(upload.chunks);
    if (bytes.length !== upload.meta.bytes) {
      return { kind: 'refused', reply: refuse(ErrorCode.badPatch, `${bytes.length} bytes came for a patch announced as ${upload.meta.bytes}`) };
    }
    if (createHash('sha256').update(bytes).digest('hex') !== upload.meta.sha256) {
      return { kind: 'refused', reply: refuse(ErrorCode.badPatch, 'the bytes that came do not match the checksum the patch was announced with') };
    }
    return { kind: 'whole', meta: upload.meta, bytes };
  }
}
