// kill -9 at small scale in the default suite (`npm run kill9` runs 50 pairs): no message vanishes.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { runKill9 } from './kill9-scenario.ts';

it('kill -9 mid-chat: every message is delivered or bounced, none vanishes (10 pairs)', async (t) => {
  const counts = await runKill9({ pairs: 10, messagesPerSender: 40, intervalMs: 50 });
  t.diagnostic(JSON.stringify(counts));
  assert.equal(counts.vanished, 0, JSON.stringify(counts));
  assert.equal(counts.unacknowledged, 0, JSON.stringify(counts));
});
