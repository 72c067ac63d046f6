// XEP-0050 Ad-Hoc Commands and XEP-0133 Service Administration, driven by slixmpp's own xep_0050
// and xep_0133 plugins as shipped: an admin (security.admins) runs each admin command and its
// effect is checked from outside (logins, sessions, messages); anyone else neither sees nor runs them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './harness/server.ts';
import { connectSlix, slixmppUnavailable, SlixClient, type AdhocResponse } from './harness/slixmpp.ts';
import { until } from './harness/eventually.ts';

const ADMIN = 'admin@localhost';
const NS_COMMANDS = 'http://jabber.org/protocol/commands';
const ADMIN_NODES = [
  'add-user', 'delete-user', 'disable-user', 'reenable-user', 'change-user-password', 'end-user-session', 'announce', 'get-registered-users-num', 'get-online-users-num',
].map((c) => `http://jabber.org/protocol/admin#${c}`);

const last = (r: AdhocResponse[]): AdhocResponse => {
  const x = r.at(-1);
  assert.ok(x, 'a response');
  return x;
};

/** Logs in with slixmpp; resolves with the failed_auth condition instead when the login is refused. */
async function tryLogin(server: TestServer, jid: string, password: string): Promise<{ ok: true; client: SlixClient } | { ok: false; condition: string | undefined }> {
  const c = new SlixClient();
  try {
    await c.connect({ jid, password, port: server.ports.c2s_starttls, timeoutS: 10 });
    return { ok: true, client: c };
  } catch {
    const failed = c.events.find((e) => e.event === 'failed_auth');
    await c.close();
    return { ok: false, condition: failed?.event === 'failed_auth' ? failed.condition : undefined };
  }
}

describe('XEP-0133 admin commands over XEP-0050 (slixmpp)', { skip: slixmppUnavailable() }, () => {
  let server: TestServer;
  let admin: SlixClient;
  before(async () => {
    server = await startServer({ config: { security: { admins: [ADMIN] } }, users: [[ADMIN, 'admin-pw'], ['mallory@localhost', 'mallory-pw']] });
    admin = await connectSlix(undefined, { jid: ADMIN, password: 'admin-pw', port: server.ports.c2s_starttls });
  });
  after(async () => {
    await admin.close();
    await server.stop({ remove: true });
  });

  it('§2.2: an admin is offered the admin commands; the server advertises the commands feature', async () => {
    const { commands } = await admin.adhocList();
    const nodes = commands.map((c) => c.node);
    for (const n of ADMIN_NODES) assert.ok(nodes.includes(n), `${n} listed`);
    const info = await admin.iq(`<iq type='get' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info' node='http://jabber.org/protocol/admin#add-user'/></iq>`);
    assert.match(info.xml, /category="automation"/);
    assert.match(info.xml, /type="command-node"/);
    assert.match(info.xml, new RegExp(`var="${NS_COMMANDS}"`));
  });

  it('a non-admin sees none of them and is refused with <forbidden/>', async (t) => {
    const mallory = await connectSlix(t, { jid: 'mallory@localhost', password: 'mallory-pw', port: server.ports.c2s_starttls });
    const { commands } = await mallory.adhocList();
    assert.deepEqual(commands.filter((c) => c.node.startsWith('http://jabber.org/protocol/admin#')), []);
    const r = await mallory.adhocRun({ admin: 'add-user', steps: [{ fields: { accountjid: 'evil@localhost', password: 'x', 'password-verify': 'x' } }] });
    assert.equal(last(r).type, 'error');
    assert.equal(last(r).error, 'forbidden');
    assert.equal((await tryLogin(server, 'evil@localhost', 'x')).ok, false);
  });

  it('add-user creates an account that can log in; mismatched passwords are asked again', async () => {
    const r = await admin.adhocRun({
      admin: 'add-user',
      steps: [
        { fields: { accountjid: 'newbie@localhost', password: 'one', 'password-verify': 'two' } },
        { fields: { accountjid: 'newbie@localhost', password: 'newbie-pw', 'password-verify': 'newbie-pw' } },
      ],
    });
    const [first, retry, done] = r;
    assert.equal(first?.status, 'executing');
    assert.deepEqual(Object.keys(first?.form?.fields ?? {}).sort(), ['FORM_TYPE', 'accountjid', 'password', 'password-verify']);
    assert.deepEqual([first?.form?.fields['FORM_TYPE']?.value].flat(), ['http://jabber.org/protocol/admin']);
    assert.equal(retry?.status, 'executing');
    assert.deepEqual(retry?.notes, [['error', 'The passwords do not match']]);
    assert.equal(done?.status, 'completed');
    const login = await tryLogin(server, 'newbie@localhost', 'newbie-pw');
    assert.ok(login.ok);
    await login.client.close();
  });

  it('change-user-password: the new password works, the old one no longer does', async () => {
    await server.adduser('pwuser', 'old-pw');
    const r = await admin.adhocRun({ admin: 'change-user-password', steps: [{ fields: { accountjid: 'pwuser@localhost', password: 'new-pw' } }] });
    assert.equal(last(r).status, 'completed');
    assert.equal((await tryLogin(server, 'pwuser@localhost', 'old-pw')).ok, false);
    const login = await tryLogin(server, 'pwuser@localhost', 'new-pw');
    assert.ok(login.ok);
    await login.client.close();
  });

  it('disable-user ends the sessions and refuses logins with <account-disabled/>; reenable-user lifts it', async (t) => {
    await server.adduser('suspect', 'suspect-pw');
    const online = await server.connectClient(t, 'suspect');
    const r = await admin.adhocRun({ admin: 'disable-user', steps: [{ fields: { accountjids: ['suspect@localhost'] } }] });
    assert.equal(last(r).status, 'completed');
    assert.deepEqual(last(r).notes[0], ['info', 'Disabled: 1 of 1']);
    await online.offline;
    assert.deepEqual(await tryLogin(server, 'suspect@localhost', 'suspect-pw'), { ok: false, condition: 'account-disabled' });
    const back = await admin.adhocRun({ admin: 'reenable-user', steps: [{ fields: { accountjids: ['suspect@localhost'] } }] });
    assert.equal(last(back).status, 'completed');
    const login = await tryLogin(server, 'suspect@localhost', 'suspect-pw');
    assert.ok(login.ok);
    await login.client.close();
  });

  it('end-user-session closes every session of the account, which may log in again', async (t) => {
    await server.adduser('sessions');
    const a = await server.connectClient(t, 'sessions', { resource: 'a' });
    const b = await server.connectClient(t, 'sessions', { resource: 'b' });
    const r = await admin.adhocRun({ admin: 'end-user-session', steps: [{ fields: { accountjids: ['sessions@localhost'] } }] });
    assert.equal(last(r).status, 'completed');
    await Promise.all([a.offline, b.offline]);
    const again = await server.connectClient(t, 'sessions', { resource: 'c' });
    assert.ok(again.isOnline);
  });

  it('delete-user deletes several accounts at once and reports an unknown or foreign address', async () => {
    await server.adduser('gone1', 'pw1');
    await server.adduser('gone2', 'pw2');
    const r = await admin.adhocRun({ admin: 'delete-user', steps: [{ fields: { accountjids: ['gone1@localhost', 'gone2@localhost', 'nobody@localhost', 'x@elsewhere.example'] } }] });
    const done = last(r);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.notes, [
      ['info', 'Deleted: 2 of 4'],
      ['error', 'nobody@localhost does not exist'],
      ['error', 'x@elsewhere.example is not an account of localhost'],
    ]);
    assert.equal((await tryLogin(server, 'gone1@localhost', 'pw1')).ok, false);
    const users = (await server.cli(['list-users'])).stdout;
    assert.doesNotMatch(users, /gone1|gone2/);
  });

  it('announce reaches every online session of the host as a headline', async (t) => {
    await server.adduser('listener');
    const a = await server.connectClient(t, 'listener', { resource: 'one' });
    const b = await server.connectClient(t, 'listener', { resource: 'two' });
    const r = await admin.adhocRun({ admin: 'announce', steps: [{ fields: { subject: 'Maintenance', announcement: ['Down at 22:00', 'for an hour'] } }] });
    assert.equal(last(r).status, 'completed');
    for (const c of [a, b]) {
      const m = await c.waitFor((s) => s.is('message') && s.attrs['type'] === 'headline');
      assert.equal(m.attrs['from'], 'localhost');
      assert.equal(m.getChildText('subject'), 'Maintenance');
      assert.equal(m.getChildText('body'), 'Down at 22:00\nfor an hour');
    }
  });

  it('get-registered-users-num and get-online-users-num give counts, not addresses', async (t) => {
    const registered = (await server.cli(['list-users', 'localhost'])).stdout.trim().split('\n').length;
    const r = await admin.adhocRun({ admin: 'get-registered-users-num' });
    assert.equal(last(r).status, 'completed');
    assert.equal(last(r).form?.fields['registeredusersnum']?.value, String(registered));
    await server.adduser('counted');
    await server.connectClient(t, 'counted', { resource: 'x' });
    await server.connectClient(t, 'counted', { resource: 'y' });
    const online = await admin.adhocRun({ admin: 'get-online-users-num' });
    // The admin and `counted` (two sessions, one user); others of earlier tests may still be closing.
    const n = Number(last(online).form?.fields['onlineusersnum']?.value);
    assert.ok(n >= 2, `online users: ${n}`);
    assert.doesNotMatch(last(online).xml, /counted@/);
  });

  it('§3.3: cancel ends a session: a later step with its sessionid is <bad-sessionid/>', async () => {
    const r = await admin.adhocRun({ admin: 'add-user', steps: [{ action: 'cancel' }] });
    assert.equal(last(r).status, 'canceled');
    const sessionid = r[0]?.sessionid ?? '';
    const again = await admin.iq(`<iq type='set' to='localhost'><command xmlns='${NS_COMMANDS}' node='http://jabber.org/protocol/admin#add-user' sessionid='${sessionid}' action='complete'/></iq>`);
    assert.equal(again.type, 'error');
    assert.match(again.xml, /<bad-request /);
    assert.match(again.xml, new RegExp(`<bad-sessionid xmlns="${NS_COMMANDS}"`));
  });

  it('§6: an unknown action is <malformed-action/>; prev on the first stage is <bad-action/>', async () => {
    const unknown = await admin.iq(`<iq type='set' to='localhost'><command xmlns='${NS_COMMANDS}' node='http://jabber.org/protocol/admin#add-user' action='jump'/></iq>`);
    assert.match(unknown.xml, new RegExp(`<malformed-action xmlns="${NS_COMMANDS}"`));
    const r = await admin.adhocRun({ admin: 'add-user', steps: [{ action: 'prev' }] });
    assert.equal(last(r).error, 'bad-request');
    assert.deepEqual(last(r).error_app, [`{${NS_COMMANDS}}bad-action`]);
  });

  it('an unknown command node is <item-not-found/>', async () => {
    const r = await admin.iq(`<iq type='set' to='localhost'><command xmlns='${NS_COMMANDS}' node='urn:example:nothing' action='execute'/></iq>`);
    assert.match(r.xml, /<item-not-found /);
  });
});

describe('XEP-0050 session expiry (adhoc.session_timeout)', { skip: slixmppUnavailable() }, () => {
  it('§6: a step after the session expired is <not-allowed/> with <session-expired/>', async (t) => {
    const server = await startServer({
      config: { security: { admins: [ADMIN] } },
      modules: { adhoc: { session_timeout: '1s' }, 'admin-commands': {}, disco: {}, roster: {} },
      users: [[ADMIN, 'admin-pw']],
    });
    t.after(() => server.stop({ remove: true }));
    const admin = await connectSlix(t, { jid: ADMIN, password: 'admin-pw', port: server.ports.c2s_starttls });
    const r = await admin.adhocRun({ admin: 'add-user', steps: [{ delay: 2, fields: { accountjid: 'late@localhost', password: 'p', 'password-verify': 'p' } }] });
    assert.equal(last(r).type, 'error');
    assert.equal(last(r).error, 'not-allowed');
    assert.deepEqual(last(r).error_app, [`{${NS_COMMANDS}}session-expired`]);
    await until('the account was not created', async () => !(await server.cli(['list-users'])).stdout.includes('late@'), 5000);
  });
});
