// Tests that every statement of the rendered terms and privacy policy follows its fact, and that
// operator-supplied strings can't inject markup.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parseConfigText } from '../core/config.ts';
import { builtinModuleNames, defaultModuleNames, moduleRegistry } from '../modules/registry.ts';
import { derivePolicyFacts, policyFingerprint, stampPolicy, type PolicyFacts, type PolicyState } from './facts.ts';
import { POLICY_STYLE_HASH, escapeHtml, humanDuration, policyPage, renderPrivacy, renderTerms } from './render.ts';

const DAY = 86_400_000;

function facts(configText = '', over: Partial<PolicyState> = {}): PolicyFacts {
  const c = parseConfigText(configText, '/srv/jabberx', { knownModules: builtinModuleNames, defaultModules: defaultModuleNames });
  const unstamped = derivePolicyFacts(c, {
    retentionRules: [
      { name: 'failed-login records', maxAgeMs: c.security.failed_login_window },
      // As the offline module registers its rule: only on hosts where it is enabled.
      ...[...c.hosts.values()].filter((h) => h.modules.has('offline')).map((h) => ({ name: 'offline messages', host: h.name, maxAgeMs: 7 * DAY })),
    ],
    encryptionAtRest: { enabled: true, algorithm: 'AES-256-GCM', keyOutsideStore: true },
    blockRules: 0,
    debug: { active: false },
    ...over,
  }, moduleRegistry);
  return stampPolicy(unstamped, undefined, new Date('2025-03-04T05:06:07.000Z')).facts;
}

/** The privacy page in both formats, the text one unwrapped, for matching whole sentences. */
function privacy(f: PolicyFacts): { html: string; text: string } {
  return { html: renderPrivacy(f, 'html'), text: renderPrivacy(f, 'text').replace(/\n(?: {2})?(?=\S)/g, ' ') };
}
function terms(f: PolicyFacts): { html: string; text: string } {
  return { html: renderTerms(f, 'html'), text: renderTerms(f, 'text').replace(/\n(?: {2})?(?=\S)/g, ' ') };
}

/** Asserts the pattern in both formats (or its absence). */
function says(page: { html: string; text: string }, re: RegExp, yes = true): void {
  for (const [format, body] of Object.entries(page)) {
    if (yes) assert.match(body, re, `${format} lacks ${re}`);
    else assert.doesNotMatch(body, re, `${format} has ${re}`);
  }
}

describe('humanDuration', () => {
  it('says durations exactly, in words', () => {
    assert.equal(humanDuration(7 * DAY), '7 days');
    assert.equal(humanDuration(DAY), '1 day');
    assert.equal(humanDuration(15 * 60_000), '15 minutes');
    assert.equal(humanDuration(3_600_000), '1 hour');
    assert.equal(humanDuration(5_400_000), '1 hour and 30 minutes');
    assert.equal(humanDuration(DAY + 3_600_000 + 60_000 + 1000), '1 day, 1 hour, 1 minute and 1 second');
    assert.equal(humanDuration(1500), '1 second and 500 milliseconds');
    assert.equal(humanDuration(0), '0 seconds');
    assert.equal(humanDuration(14 * DAY), '14 days');
  });
});

describe('each statement follows its fact', () => {
  it('file upload: public links, the quota and the size limit, only while the module is on', () => {
    const on = privacy(facts('modules:\n  roster: {}\n  upload: {}\n', { fileUpload: { quotaBytes: 500 * 2 ** 20, maxFileBytes: 50 * 2 ** 20 } }));
    says(on, /Files you upload: .*anyone holding its link can download it/);
    says(on, /can be downloaded by anyone who holds their link, without logging in/);
    says(on, /Each account may keep up to 500 MiB of files, at most 50 MiB each\./);
    says(privacy(facts('modules:\n  roster: {}\n')), /HTTP File Upload/, false);
  });

  it('end-to-end encryption policy: stated while required, on the hosts that require it', () => {
    const hosts = 'hosts:\n  example.org: {}\n  chat.example.org: {}\n';
    const all = facts(hosts, { endToEndRequiredOn: ['example.org', 'chat.example.org'] });
    says(terms(all), /Encrypt one-to-one chats end to end, with OMEMO or OpenPGP: the server refuses a message sent there without it \(group chats are exempt\)\./);
    says(privacy(all), /One-to-one chats must be end-to-end encrypted \(OMEMO or OpenPGP\), so the server can(?:'|&#39;)t read them: it refuses a message without such encryption and keeps nothing of it\./);
    const one = facts(hosts, { endToEndRequiredOn: ['chat.example.org'] });
    says(terms(one), /Encrypt one-to-one chats end to end, with OMEMO or OpenPGP on chat\.example\.org:/);
    says(privacy(one), /One-to-one chats on chat\.example\.org must be end-to-end encrypted/);
    for (const off of [facts(hosts), facts(hosts, { endToEndRequiredOn: [] })]) {
      // (PEP's store text names OMEMO keys: only the rule's own sentences must be gone.)
      says(terms(off), /Encrypt one-to-one chats|OMEMO|end to end/, false);
      says(privacy(off), /must be end-to-end encrypted|refuses a message without such encryption/, false);
    }
  });

  it('retention: the offline limit as configured, per host when hosts differ', () => {
    const f = facts('', { retentionRules: [{ name: 'offline messages', host: 'localhost', maxAgeMs: 3 * DAY }] });
    says(privacy(f), /Offline messages: deleted once older than 3 days\./);
    says(privacy(f), /7 days/, false);
    const multi = facts('hosts:\n  example.org: {}\n  chat.example.org: {}\n', {
      retentionRules: [
        { name: 'offline messages', host: 'example.org', maxAgeMs: 7 * DAY },
        { name: 'offline messages', host: 'chat.example.org', maxAgeMs: 3 * DAY },
      ],
    });
    says(privacy(multi), /Offline messages: deleted once older than 3 days on chat\.example\.org\./);
    says(privacy(multi), /Offline messages: deleted once older than 7 days on example\.org\./);
    says(privacy(facts('', { retentionRules: [] })), /No automatic time limits are configured\./);
  });

  it('failed-login records: in memory only, for the configured window', () => {
    const f = facts('security:\n  failed_login_window: 10m\n');
    says(privacy(f), /kept in memory only, never on disk, for 10 minutes/);
    says(privacy(f), /Failed-login records: deleted once older than 10 minutes\./);
    says(privacy(f), /IP addresses: the address you connect from is neither stored nor logged\./);
  });

  it('the failed-login log with addresses (fail2ban): said, with its retention, only while it is on', () => {
    const off = facts();
    says(privacy(off), /separate log from which a firewall blocks/, false);
    const on = facts('log:\n  failed_login_file: failed-logins.log\n  failed_login_retention: 12h\n');
    says(privacy(on), /neither stored nor logged, except after a failed login \(see below\)\./);
    says(privacy(on), /the address of each failed login is written, with its time but without the account name, to a separate log from which a firewall blocks addresses that keep guessing passwords\. Each line of it is deleted once it is older than 12 hours\./);
    assert.notEqual(policyFingerprint(on), policyFingerprint(off), 'switching it on moves the "last changed" date');
  });

  it('the retention engine interval', () => {
    says(privacy(facts()), /at least every hour\./);
    says(privacy(facts('security:\n  retention_interval: 30m\n')), /at least every 30 minutes\./);
  });

  it('message archive: none now; said when one is kept', () => {
    const f = facts();
    says(privacy(f), /No chat history is kept/);
    says(privacy(f), /The one exception is the offline buffer/);
    says(privacy(f), /A message archive is kept/, false);
    const archived = { ...f, archive: { enabled: true } };
    says(privacy(archived), /A message archive is kept/);
    says(privacy(archived), /No chat history is kept/, false);
    const noOffline = facts('modules:\n  offline: false\n');
    says(privacy(noOffline), /offline buffer/, false);
    says(privacy(noOffline), /Offline messages/, false);
  });

  it('what is stored: exactly the enabled modules', () => {
    const all = privacy(facts());
    for (const what of ['Account', 'Contact list \\(roster\\)', 'Profile \\(vCard\\)', 'Private client data', 'Block list', 'Offline messages']) {
      says(all, new RegExp(`${what}: `));
    }
    const noVcard = privacy(facts('modules:\n  vcard: false\n'));
    says(noVcard, /Profile \(vCard\)/, false);
    says(noVcard, /your contact list you can change yourself/);
    says(privacy(facts('hosts:\n  a.example: {}\n  b.example:\n    modules:\n      vcard: false\n')), /Profile \(vCard\), only on a\.example: /);
    says(all, /E-mail address/, false);
    // The email module's store declaration says it, with the module on.
    says(privacy(facts('modules:\n  roster: {}\n  email: {}\n', { passwordResetByEmail: true })), /E-mail address: only if you give one, and only to send you a link to reset your password/);
  });

  it('group chat history: in memory only, said only with the muc module', () => {
    says(privacy(facts('modules:\n  roster: {}\n  muc: {}\n')), /Group chats: a room keeps its most recent messages in memory only/);
    says(privacy(facts('modules:\n  muc: false\n')), /Group chats/, false);
  });

  it('encryption at rest: said only when enabled', () => {
    const on = privacy(facts());
    says(on, /encrypted at rest with AES-256-GCM; the key is not kept with the data/);
    says(on, /not encrypted by the server software/, false);
    const off = privacy(facts('', { encryptionAtRest: { enabled: false, algorithm: 'AES-256-GCM', keyOutsideStore: false } }));
    says(off, /Stored data is not encrypted by the server software itself/);
    says(off, /encrypted at rest/, false);
    says(privacy(facts('', { encryptionAtRest: { enabled: true, algorithm: 'AES-256-GCM', keyOutsideStore: false } })), /the key is not kept with the data/, false);
  });

  it('TLS minimum version', () => {
    says(privacy(facts()), /only TLS 1\.2 or newer is accepted, and no one can log in before the connection is encrypted/);
    says(privacy(facts('tls:\n  min_version: TLSv1.3\n')), /only TLS 1\.3 or newer/);
  });

  it('blocks: a count only', () => {
    says(privacy(facts()), /No such block is in force at the moment\./);
    says(privacy(facts('', { blockRules: 1 })), /1 such block is in force/);
    says(privacy(facts('', { blockRules: 3 })), /3 such blocks are in force/);
  });

  it('logs: level, debug on demand, debug state now', () => {
    const f = facts();
    says(privacy(f), /never IP addresses, passwords or message contents/);
    says(privacy(f), /deleted when debug logging is switched off or its time limit ends/);
    says(privacy(f), /Debug logging is off at the moment\./);
    says(privacy(facts('log:\n  level: debug\n')), /set to a detailed \(debug\) level/);
    says(privacy(facts('log:\n  level: silent\n')), /The operational log is switched off\./);
    const on = facts('', { debug: { active: true, until: Date.UTC(2025, 4, 6, 7, 8) } });
    says(privacy(on), /Debug logging is on at the moment, until 2025-05-06 07:08 UTC\./);
    says(privacy(facts('', { debug: { active: true } })), /Debug logging is on at the moment\./);
  });

  it('deletion and rights: in-band deletion and export only when available', () => {
    const f = facts('policy:\n  contact: privacy@example.org\n');
    says(privacy(f), /To delete your account, ask the operator of this service\./);
    says(privacy(f), /overwriting it in the database/);
    says(privacy(f), /The address becomes free immediately/);
    says(privacy(f), /ask for a copy of the data stored about you/);
    says(privacy(f), /portable/, false);
    says(terms(f), /You can have your account deleted at any time by asking /);
    const inBand = facts('', { inBandUnregister: true, exportAvailable: true });
    says(privacy(inBand), /You can delete your account at any time from your chat client\./);
    says(privacy(inBand), /a portable copy of everything stored for your account/);
    says(terms(inBand), /You can delete your account yourself at any time, from your chat client\./);
    says(privacy(facts('', { secureDelete: false })), /overwrit/, false);
  });

  it('registration rules only when registration is open', () => {
    says(terms(facts()), /register accounts in bulk/, false);
    says(terms(facts('', { registration: { enabled: true, captcha: false } })), /Do not register accounts in bulk or with automated scripts\./);
    says(terms(facts('', { registration: { enabled: true, captcha: true } })), /and do not try to get around the CAPTCHA\./);
  });

  it('operator, contact, jurisdiction, service name and extra terms', () => {
    const plain = facts();
    says(privacy(plain), /The operator of this service runs localhost and is responsible/);
    says(privacy(plain), /No contact address has been published/);
    says(privacy(plain), /under the law of/, false);
    says(terms(plain), /under the law of/, false);
    const f = facts(`policy:
  service_name: Example Chat
  operator_name: Example e.V.
  contact: privacy@example.org
  jurisdiction: Germany (EU)
  extra_terms: ["No spam, fraud or malware.", "Be kind."]
hosts:
  example.org: {}
  chat.example.org: {}
`);
    says(privacy(f), /Example e\.V\. runs Example Chat \(example\.org and chat\.example\.org\)/);
    says(terms(f), /run by Example e\.V\. The service is run under the law of Germany \(EU\)\./);
    says(terms(f), /illegal under the law of Germany \(EU\)/);
    says(terms(f), /No spam, fraud or malware\./);
    says(terms(f), /Be kind\./);
    assert.match(renderPrivacy(f, 'html'), /<a href="mailto:privacy@example\.org" rel="noopener noreferrer">privacy@example\.org<\/a>/);
    assert.match(renderPrivacy(facts('policy:\n  contact: https://example.org/contact\n'), 'html'), /<a href="https:\/\/example\.org\/contact"/);
    says(privacy(facts('policy:\n  contact: Room 4, Example Street\n')), /Contact: Room 4, Example Street\./);
  });

  it('the last-changed date', () => {
    says(privacy(facts()), /Last changed: 2025-03-04 [0-9:]+ UTC\./);
    says(terms(facts()), /Last changed: 2025-03-04 [0-9:]+ UTC\./);
  });
});

describe('escaping', () => {
  const evil = facts(`policy:
  service_name: '"><svg onload=alert(1)>'
  operator_name: "<script>alert('x')</script> & Co"
  contact: "javascript:alert(1)"
  jurisdiction: "<b>nowhere</b>"
  extra_terms: ["<img src=x onerror=alert(1)>", "Plain \\u001b[31mred\\u202e"]
`);

  it('escapes every operator string in HTML', () => {
    for (const html of [renderTerms(evil, 'html'), renderPrivacy(evil, 'html')]) {
      assert.doesNotMatch(html, /<script|<svg|<img|<b>/i);
      assert.doesNotMatch(html, /href="javascript:/i);
      assert.ok(!html.includes('\u001b') && !html.includes('\u202e'));
      // The only tags are the template's own.
      const tags = new Set([...html.matchAll(/<\/?([a-zA-Z0-9!]+)/g)].map((m) => m[1]?.toLowerCase()));
      for (const t of tags) assert.ok(['!doctype', 'html', 'head', 'meta', 'title', 'style', 'body', 'main', 'h1', 'h2', 'p', 'ul', 'li', 'a', 'footer'].includes(t ?? ''), `tag ${t}`);
    }
    const terms = renderTerms(evil, 'html');
    assert.match(terms, /&#60;script&#62;alert\(&#39;x&#39;\)&#60;\/script&#62; &#38; Co/);
    assert.match(terms, /&#60;img src=x onerror=alert\(1\)&#62;/);
    assert.match(terms, /<title>Terms of Service of &#34;&#62;&#60;svg onload=alert\(1\)&#62;<\/title>/);
  });

  it('escapes attribute values of links', () => {
    const f = facts('policy:\n  contact: "https://example.org/?a=1&b=2"\n');
    assert.match(renderPrivacy(f, 'html'), /<a href="https:\/\/example\.org\/\?a=1&#38;b=2" rel="noopener noreferrer">https:\/\/example\.org\/\?a=1&#38;b=2<\/a>/);
    assert.equal(escapeHtml(`<>&"'`), '&#60;&#62;&#38;&#34;&#39;');
  });

  it('plain text carries no control or bidi characters', () => {
    const text = renderTerms(evil, 'text');
    const controls = [...text].filter((c) => c !== '\n' && (c < ' ' || (c >= '\u007f' && c <= '\u009f') || /[\u202a-\u202e\u2066-\u2069]/.test(c)));
    assert.deepEqual(controls, []);
    assert.match(text, /Plain \[31mred/);
  });
});

describe('layout', () => {
  it('plain text wraps at 78 columns', () => {
    for (const text of [renderTerms(facts(), 'text'), renderPrivacy(facts(), 'text')]) {
      for (const line of text.split('\n')) assert.ok(line.length <= 78, line);
    }
  });

  it('HTML is a complete document whose inline style matches the CSP hash', () => {
    const html = renderPrivacy(facts(), 'html');
    assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
    assert.match(html, /<meta charset="utf-8">/);
    const css = /<style>([^<]*)<\/style>/.exec(html)?.[1] ?? '';
    assert.equal(POLICY_STYLE_HASH, `'sha256-${createHash('sha256').update(css).digest('base64')}'`);
    assert.doesNotMatch(html, /style="/);
    assert.match(html, /<a href="terms">Terms of service<\/a>/);
    assert.match(html, /<a href="privacy.txt">Plain text<\/a>/);
  });

  it('policyPage maps the four paths', () => {
    const f = facts();
    assert.equal(policyPage('/terms', f)?.contentType, 'text/html; charset=utf-8');
    assert.equal(policyPage('/privacy', f)?.contentType, 'text/html; charset=utf-8');
    assert.deepEqual(policyPage('/privacy', f)?.styleHashes, [POLICY_STYLE_HASH]);
    assert.equal(policyPage('/terms.txt', f)?.contentType, 'text/plain; charset=utf-8');
    assert.equal(policyPage('/privacy.txt', f)?.body, renderPrivacy(f, 'text'));
    assert.deepEqual(policyPage('/privacy.txt', f)?.styleHashes, []);
    for (const p of ['/', '/terms/', '/privacy.html', '/TERMS']) assert.equal(policyPage(p, f), undefined);
  });
});
