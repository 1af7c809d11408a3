// Child process for the idle-runner figure: holds N runner connections that
// register and answer pings, so the dispatcher's file descriptors are the
// only ones in its process. Prints "ready" once all are registered.
//   node --import tsx bench/idle-runners-child.ts PORT COUNT

import { FakePeer } from './fake-peer.js';

const [port, count] = process.argv.slice(2).map(Number) as [number, number];
let pings = 0;
// Within the dispatcher's --max-pending-per-source (16): all of them come from one address, and a
// connection past the limit closes the oldest one still saying hello (real runners then retry; these do not).
const BATCH = 16;
for (let i = 0; i < count; i += BATCH) {
  const batch = [];
  for (let j = i; j < Math.min(count, i + BATCH); j++) {
    batch.push(FakePeer.runner(port, `idle-${j}`, { onPing: () => (pings += 1) }));
  }
  await Promise.all(batch);
}
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  process.stdout.write(`pings ${pings}\n`);
  process.exit(0);
});
