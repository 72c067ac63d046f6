// `npm run kill9`: the kill -9 scenario at full scale (50 pairs), outside the default suite.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { runKill9 } from '../faults/kill9-scenario.ts';

void it('kill -9 mid-chat, 50 pairs: every message is delivered or bounced, none vanishes', async (t) => {
  const counts = await runKill9({ pairs: 50, messagesPerSender: 60, intervalMs: 50, settleMs: 120_000 });
  t.diagnostic(JSON.stringify(counts));
  assert.equal(counts.vanished, 0, JSON.stringify(counts));
  assert.equal(counts.unacknowledged, 0, JSON.stringify(counts));
});
