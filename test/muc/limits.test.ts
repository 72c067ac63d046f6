// MUC limits with production defaults except the one under test: a client over a limit gets
// the right error while other rooms and users keep working. And who may create rooms.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../harness/server.ts';
import { xml } from '../harness/client.ts';
import { createInstant, errorCondition, groupchat, join, joinError, roomJid, say } from './muc-helpers.ts';

describe('MUC limits', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ modules: { disco: {}, ping: {}, roster: {}, muc: { max_rooms_per_user: 2 } } });
  });
  after(() => server.remove());

  it('a flooding occupant gets <resource-constraint type="wait"/>; another room keeps working', async (t) => {
    const flooder = await server.connectClient(t, 'flooder');
    const calm = await server.connectClient(t, 'calm');
    await createInstant(flooder, 'noisy', 'Flooder');
    await createInstant(calm, 'quiet', 'Calm');
    for (let i = 0; i < 40; i++) await flooder.send(xml('message', { to: roomJid('noisy'), type: 'groupchat', id: `f${i}` }, xml('body', {}, `flood ${i}`)));
    const refused = await flooder.waitFor((e) => e.is('message') && e.attrs['type'] === 'error' && e.attrs['id']?.startsWith('f') === true, 10_000);
    assert.equal(errorCondition(refused), 'resource-constraint');
    assert.equal(refused.getChild('error')?.attrs['type'], 'wait');
    await say(calm, 'quiet', 'still fine');
    await calm.waitFor(groupchat('quiet', 'Calm', 'still fine'));
  });

  it('max_rooms_per_user: the third room is refused (policy-violation), others still create rooms', async (t) => {
    const busy = await server.connectClient(t, 'busy');
    const other = await server.connectClient(t, 'other');
    await createInstant(busy, 'one', 'B');
    await createInstant(busy, 'two', 'B');
    assert.equal(await joinError(busy, 'three', 'B'), 'policy-violation');
    await createInstant(other, 'three', 'O');
  });

  it('creation: admins: only security.admins create rooms; anyone joins existing ones', async (t) => {
    const restricted = await startServer({
      config: { security: { admins: ['boss@localhost'] } },
      modules: { disco: {}, ping: {}, roster: {}, muc: { creation: 'admins' } },
    });
    t.after(() => restricted.remove());
    const boss = await restricted.connectClient(t, 'boss');
    const user = await restricted.connectClient(t, 'user');
    assert.equal(await joinError(user, 'mine', 'U'), 'not-allowed');
    await createInstant(boss, 'official', 'Boss');
    await join(user, 'official', 'U');
  });
});
