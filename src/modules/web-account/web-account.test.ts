// The web pages' guards: sessions expire when idle and are bounded, the CSRF token compares
// exactly, a POST from another origin is recognised, the cookie has its attributes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { WebSessions, csrfMatches } from './web-sessions.ts';
import { fromThisOrigin } from './same-origin.ts';
import { readCookie, sessionCookie } from './cookies.ts';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as http.IncomingMessage;

describe('WebSessions', () => {
  it('ends a session after the idle time, and each use restarts it', () => {
    const s = new WebSessions(1000, 10);
    const a = s.start('alice', 0);
    assert.equal(s.get(a.id, 900)?.user, 'alice');
    assert.equal(s.get(a.id, 1800)?.user, 'alice');
    assert.equal(s.get(a.id, 2800), undefined);
    assert.equal(s.get(a.id, 2801), undefined, 'gone for good');
  });
  it('keeps at most max sessions, dropping the least recently used', () => {
    const s = new WebSessions(60_000, 2);
    const a = s.start('a', 0);
    const b = s.start('b', 1);
    s.get(a.id, 2);
    const c = s.start('c', 3);
    assert.equal(s.get(b.id, 4), undefined);
    assert.ok(s.get(a.id, 4) && s.get(c.id, 4));
  });
  it('ends every session of an account but the one kept', () => {
    const s = new WebSessions(60_000, 10);
    const a1 = s.start('alice');
    const a2 = s.start('alice');
    const b = s.start('bob');
    s.endUser('alice', a2.id);
    assert.equal(s.get(a1.id), undefined);
    assert.ok(s.get(a2.id) && s.get(b.id));
  });
  it('matches the CSRF token exactly', () => {
    const session = new WebSessions(60_000, 10).start('alice');
    assert.equal(csrfMatches(session, session.csrf), true);
    assert.equal(csrfMatches(session, undefined), false);
    assert.equal(csrfMatches(session, session.csrf.slice(1)), false);
    assert.notEqual(session.csrf, session.id);
  });
});

describe('fromThisOrigin', () => {
  it('takes same-origin posts and refuses the others', () => {
    assert.equal(fromThisOrigin(req({ host: 'h:80', 'sec-fetch-site': 'same-origin', origin: 'http://h:80' }), false), true);
    assert.equal(fromThisOrigin(req({ host: 'h', 'sec-fetch-site': 'cross-site', origin: 'http://evil' }), false), false);
    assert.equal(fromThisOrigin(req({ host: 'h', 'sec-fetch-site': 'same-site' }), false), false);
    assert.equal(fromThisOrigin(req({ host: 'h', origin: 'null' }), false), false);
    assert.equal(fromThisOrigin(req({ host: 'h', origin: 'http://h' }), true), false, 'scheme counts');
    assert.equal(fromThisOrigin(req({ host: 'h' }), true), true, 'no browser headers: the token decides');
  });
});

describe('session cookie', () => {
  it('is HttpOnly and SameSite=Strict; on https Secure with the __Host- prefix', () => {
    assert.equal(sessionCookie(true, 'ID'), '__Host-jabberx-account=ID; Path=/; HttpOnly; SameSite=Strict; Secure');
    assert.equal(sessionCookie(false, 'ID'), 'jabberx-account=ID; Path=/account; HttpOnly; SameSite=Strict');
    assert.match(sessionCookie(false, ''), /Max-Age=0/);
    assert.equal(readCookie('a=1; jabberx-account=XYZ; b=2', 'jabberx-account'), 'XYZ');
    assert.equal(readCookie(undefined, 'x'), undefined);
  });
});
