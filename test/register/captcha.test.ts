// XEP-0077 registration behind the server's own XEP-0158 image CAPTCHA, with stock slixmpp: the
// form carries the image as XEP-0231 data referenced from a XEP-0221 media element; the test reads
// it with its solver (test/harness/captcha-solver.ts), so the whole flow runs for real.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../harness/server.ts';
import { slixmppUnavailable } from '../harness/slixmpp.ts';
import { solveCaptcha } from '../harness/captcha-solver.ts';
import { SlixRegistrant } from './slix-register.ts';
import { connectSecured } from '../harness/raw.ts';

const skip = slixmppUnavailable();

function fieldValue(xml: string, name: string): string | undefined {
  return new RegExp(`var="${name}"[^>]*>\\s*<value>([^<]*)</value>`).exec(xml)?.[1];
}

interface Offered {
  challenge: string;
  png: Buffer;
  fields: Record<string, string>;
}

function readForm(xml: string): Offered {
  assert.equal(fieldValue(xml, 'FORM_TYPE'), 'urn:xmpp:captcha');
  const challenge = fieldValue(xml, 'challenge');
  // §3.2: 'sid' is the request's id; 'from' its 'to', which slixmpp leaves out before login.
  const sid = fieldValue(xml, 'sid');
  assert.ok(challenge && sid, 'XEP-0158 hidden fields challenge and sid');
  assert.doesNotMatch(xml, /var="from"/);
  const uri = /<media xmlns="urn:xmpp:media-element"[^>]*>\s*<uri type="image\/png">cid:([^<]+)<\/uri>/.exec(xml)?.[1];
  assert.ok(uri, 'ocr field with a XEP-0221 media element');
  const data = new RegExp(`<data xmlns="urn:xmpp:bob" cid="${uri.replace(/[+.]/g, '\\$&')}"[^>]*>([^<]+)</data>`).exec(xml)?.[1]
    ?? new RegExp(`<data [^>]*cid="${uri.replace(/[+.]/g, '\\$&')}"[^>]*>([^<]+)</data>`).exec(xml)?.[1];
  assert.ok(data, 'the image as XEP-0231 data, by the cid the media element names');
  return { challenge, png: Buffer.from(data, 'base64'), fields: { FORM_TYPE: 'urn:xmpp:captcha', challenge, sid } };
}

describe('in-band registration, captcha mode (XEP-0158)', { skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ modules: { register: { mode: 'captcha' } } });
  });
  after(() => server.stop());

  test('solved: registered and logged in; a wrong answer is refused and uses the challenge up', async (t) => {
    const s = new SlixRegistrant({ jid: `solver@${server.domain}`, password: 'quartz-lantern-77', port: server.ports.c2s_starttls });
    t.after(() => s.quit());
    const firstXml = (await s.next(['form'])).xml ?? '';
    // XEP-0077 §6: no legacy fields beside a form whose required CAPTCHA they can't carry.
    assert.doesNotMatch(firstXml, /<username|<password/);
    const first = readForm(firstXml);
    const answer = solveCaptcha(first.png);
    const submit = (form: Offered, ocr: string) =>
      s.send({ cmd: 'submit', fields: { ...form.fields, ocr, username: 'solver', password: 'quartz-lantern-77' } });

    submit(first, answer === 'AAAAAA' ? 'CCCCCC' : 'AAAAAA');
    // XEP-0158 §3.3: a wrong answer is <not-acceptable/> of type cancel, a used challenge <service-unavailable/>.
    const wrong = await s.next(['registered', 'register_error']);
    assert.equal(wrong.condition, 'not-acceptable');
    assert.match(wrong.xml ?? '', /<error[^>]*type="cancel"/);
    assert.match(wrong.text ?? '', /do not match/);
    submit(first, answer);
    const used = await s.next(['registered', 'register_error']);
    assert.equal(used.condition, 'service-unavailable');
    assert.match(used.text ?? '', /answered already/);

    // A fresh image; the solver reads 99%+ of them, so up to three tries (the stream allows five attempts).
    let outcome = '';
    let previous = first.challenge;
    for (let i = 0; i < 3 && outcome !== 'registered'; i++) {
      s.send({ cmd: 'get' });
      const fresh = readForm((await s.next(['form'])).xml ?? '');
      assert.notEqual(fresh.challenge, previous);
      previous = fresh.challenge;
      submit(fresh, solveCaptcha(fresh.png));
      outcome = (await s.next(['registered', 'register_error'])).event;
    }
    assert.equal(outcome, 'registered');
    s.send({ cmd: 'continue' });
    assert.equal((await s.next(['session', 'failed_auth'])).event, 'session');
  });

  test('a challenge shown on another connection is refused', async (t) => {
    const a = new SlixRegistrant({ jid: `thief@${server.domain}`, password: 'quartz-lantern-77', port: server.ports.c2s_starttls });
    const b = new SlixRegistrant({ jid: `victim@${server.domain}`, password: 'quartz-lantern-77', port: server.ports.c2s_starttls });
    t.after(() => Promise.all([a.quit(), b.quit()]));
    readForm((await a.next(['form'])).xml ?? '');
    const theirs = readForm((await b.next(['form'])).xml ?? '');
    a.send({ cmd: 'submit', fields: { ...theirs.fields, ocr: solveCaptcha(theirs.png), username: 'thief', password: 'quartz-lantern-77' } });
    const refused = await a.next(['registered', 'register_error']);
    assert.equal(refused.condition, 'service-unavailable');
    assert.match(refused.text ?? '', /not shown on this connection/);
  });

  test('legacy fields alone cannot pass the CAPTCHA', async (t) => {
    const s = new SlixRegistrant({ jid: `legacy@${server.domain}`, password: 'quartz-lantern-77', port: server.ports.c2s_starttls });
    t.after(() => s.quit());
    await s.next(['form']);
    s.send({ cmd: 'submit_legacy' });
    const refused = await s.next(['registered', 'register_error']);
    assert.equal(refused.condition, 'not-acceptable');
    assert.match(refused.text ?? '', /image/);
  });

  test('the image can also be fetched by its cid (XEP-0231 §3), on the connection it was shown on', async (t) => {
    const { conn, features } = await connectSecured({ port: server.ports.c2s_starttls });
    t.after(() => conn.destroy());
    assert.match(features, /<register xmlns="http:\/\/jabber.org\/features\/iq-register"\/>/);
    await conn.send("<iq type='get' id='g1' to='localhost'><query xmlns='jabber:iq:register'/></iq>");
    const form = await conn.readUntil(/<\/iq>/);
    // The request had a 'to': the form's 'from' field says it (XEP-0158 §3.2).
    assert.equal(fieldValue(form, 'from'), 'localhost');
    assert.equal(fieldValue(form, 'sid'), 'g1');
    const cid = /cid="([^"]+)"/.exec(form)?.[1] ?? '';
    const inline = new RegExp(`<data xmlns="urn:xmpp:bob" cid="${cid.replace(/[+.]/g, '\\$&')}"[^>]*>([^<]+)</data>`).exec(form)?.[1];
    await conn.send(`<iq type='get' id='b1'><data xmlns='urn:xmpp:bob' cid='${cid}'/></iq>`);
    const fetched = await conn.readUntil(/<\/iq>|<iq[^>]*\/>/);
    assert.match(fetched, /type="result"/);
    assert.equal(/<data[^>]*>([^<]+)<\/data>/.exec(fetched)?.[1], inline);
    await conn.send("<iq type='get' id='b2'><data xmlns='urn:xmpp:bob' cid='sha1+0000@bob.xmpp.org'/></iq>");
    assert.match(await conn.readUntil(/<\/iq>/), /<item-not-found/);
  });
});
