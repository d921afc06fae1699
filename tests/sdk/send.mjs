// Send N events through the unmodified @segment/analytics-node SDK with its
// `host` pointed at cohortd, then flush. Usage: node send.mjs BASE WRITEKEY N
import { Analytics } from '@segment/analytics-node';

const [base, writeKey, n] = process.argv.slice(2);
const analytics = new Analytics({ writeKey, host: base, flushAt: 100, flushInterval: 200 });
let failed = 0;
analytics.on('error', (e) => { failed++; console.error('sdk error', e?.code ?? e); });
const N = Number(n);
for (let i = 0; i < N; i++) {
  const userId = `sdk-user-${i % 100}`;
  if (i % 250 === 0) analytics.identify({ userId, traits: { plan: 'pro', n: i } });
  else analytics.track({ userId, event: i % 2 ? 'Song Played' : 'Order Completed', properties: { i } });
}
await analytics.closeAndFlush({ timeout: 60000 });
console.log(JSON.stringify({ sent: N, failed }));
