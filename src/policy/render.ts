// The operator's Terms of Service and Privacy Policy (GDPR Art. 12-14: concise, plain language),
// rendered from PolicyFacts as HTML and plain text. Pure: no I/O. Each statement is chosen by a
// fact, both formats come from one document model, and every string is escaped on output.
import { createHash } from 'node:crypto';
import { ARCHIVE_RETENTION, type PolicyFacts, type RetentionFact, type StoredData } from './facts.ts';

type Inline = string | { text: string; href: string };
type Block = { p: Inline[] } | { ul: Inline[][] };
interface Section {
  title: string;
  blocks: Block[];
}
interface PolicyDoc {
  title: string;
  sections: Section[];
  page: 'terms' | 'privacy';
}

export type PolicyFormat = 'html' | 'text';

// ---------------------------------------------------------------------------------------------
// Wording helpers

const UNITS: [name: string, ms: number][] = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
  ['millisecond', 1],
];

/** An exact duration in words: 604800000 -> "7 days", 5400000 -> "1 hour and 30 minutes". */
export function humanDuration(ms: number): string {
  let rest = Math.max(0, Math.round(ms));
  const parts: string[] = [];
  for (const [name, size] of UNITS) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n} ${name}${n === 1 ? '' : 's'}`);
  }
  return parts.length === 0 ? '0 seconds' : joinWords(parts);
}

/** A size in words: 524288000 -> "500 MiB", 1536 -> "1.5 KiB". */
export function humanSize(bytes: number): string {
  const units: [string, number][] = [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 1024]];
  for (const [name, size] of units) if (bytes >= size) return `${Math.round((bytes / size) * 10) / 10} ${name}`;
  return `${bytes} byte${bytes === 1 ? '' : 's'}`;
}

/** "a", "a and b", "a, b and c". */
function joinWords(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** "TLSv1.2" -> "TLS 1.2". */
function tlsName(v: string): string {
  return v.replace(/^TLSv/, 'TLS ');
}

/** ISO time -> "2025-01-31" (UTC); anything unparsable is shown as given. */
function day(iso: string): string {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? new Date(t).toISOString().slice(0, 10) : iso;
}

/** ISO time -> "2025-01-31 14:05 UTC". */
function minute(iso: string): string {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC` : iso;
}

/** The default operator name reads "the operator of …": capitalized at the start of a sentence. */
function sentenceStart(name: string): string {
  return /^the /.test(name) ? `T${name.slice(1)}` : name;
}

const EMAIL = /^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/;
const WEB = /^https?:\/\/[^\s<>"]+$/i;

/** The contact as a link when it is an e-mail or web address, else as plain text. */
function contactInline(contact: string): Inline {
  if (EMAIL.test(contact)) return { text: contact, href: `mailto:${contact}` };
  if (WEB.test(contact)) return { text: contact, href: contact };
  return contact;
}

/** Ends a sentence after an operator-given name, which may end with a dot already ("Example e.V."). */
function dot(s: string): string {
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

/** "every hour", "every 30 minutes". */
function every(ms: number): string {
  return `every ${humanDuration(ms).replace(/^1 (?=[a-z]+$)/, '')}`;
}

function onHosts(hosts: readonly string[] | undefined): string {
  return hosts && hosts.length > 0 ? ` on ${joinWords(hosts)}` : '';
}

/** "example.org", "example.org and chat.example.org", or "Example Chat (example.org)". */
function serviceDescription(f: PolicyFacts): string {
  const hostList = joinWords(f.hosts);
  return f.hosts.includes(f.serviceName) ? hostList : `${f.serviceName} (${hostList})`;
}

function lastChanged(f: PolicyFacts): Inline[] {
  // To the second, so readers (and tests) can tell two changes on one day apart.
  const t = Date.parse(f.policyLastChanged);
  return [`Last changed: ${Number.isFinite(t) ? new Date(t).toISOString().slice(0, 19).replace('T', ' ') + ' UTC' : day(f.policyLastChanged)}.`];
}

// ---------------------------------------------------------------------------------------------
// Terms of Service

function termsDoc(f: PolicyFacts): PolicyDoc {
  const operator = f.operator.name;
  const Operator = sentenceStart(operator);
  const law = f.operator.jurisdiction;
  const contact = f.operator.contact;

  const intro: Inline[] = [
    `These terms apply to every account on ${serviceDescription(f)}, a chat service (XMPP, also known as Jabber) run by ${dot(operator)}`,
  ];
  if (law) intro.push(` The service is run under the law of ${dot(law)}`);
  intro.push(' By registering or using an account you agree to these terms and to the ', { text: 'privacy policy', href: 'privacy' }, '.');

  const rules: Inline[][] = [
    [`Do not use the service for anything illegal${law ? ` under the law of ${law}` : ''}, such as spam, fraud or spreading malware.`],
  ];
  if (f.registration.enabled) {
    rules.push([`Do not register accounts in bulk or with automated scripts${f.registration.captcha ? ', and do not try to get around the CAPTCHA' : ''}.`]);
  }
  if (f.endToEndRequired) {
    rules.push([`Encrypt one-to-one chats end to end, with OMEMO or OpenPGP${onHosts(f.endToEndRequired.hosts)}: the server refuses a message sent there without it (group chats are exempt).`]);
  }
  for (const t of f.extraTerms) rules.push([t]);

  const ending: Inline[][] = [
    [`${Operator} may terminate an account that breaks these terms; everything stored for it is then deleted.`],
    f.deletion.inBand
      ? ['You can delete your account yourself at any time, from your chat client.']
      : contact
        ? ['You can have your account deleted at any time by asking ', contactInline(contact), '.']
        : [`You can have your account deleted at any time by asking ${dot(operator)}`],
    ['Once an account is deleted its address is free at once and may later belong to someone else, so first cancel anything you signed up for with that address.'],
  ];

  return {
    title: `Terms of Service of ${f.serviceName}`,
    sections: [
      { title: 'Scope', blocks: [{ p: intro }] },
      { title: 'Rules', blocks: [{ p: ['When you use the service:'] }, { ul: rules }] },
      {
        title: 'No guarantee',
        blocks: [{
          p: [`The service is provided as it is, without any promise of availability or performance. ${Operator} is not liable for outages, degraded service or lost data, except where the law does not allow this to be excluded.`],
        }],
      },
      { title: 'Ending an account', blocks: [{ ul: ending }] },
      {
        title: 'Changes',
        blocks: [
          { p: ['These terms and the privacy policy may change without prior notice; the date of the last change is always shown here.'] },
          { p: lastChanged(f) },
        ],
      },
    ],
    page: 'terms',
  };
}

// ---------------------------------------------------------------------------------------------
// Privacy Policy

function storedItem(s: StoredData): Inline[] {
  const leftover = s.leftoverOn ? ` ${leftoverWords(s.leftoverOn, s.hosts)}` : '';
  return [`${s.what}${s.hosts ? `, only${onHosts(s.hosts)}` : ''}: ${s.detail}.${leftover}`];
}

/** Data a module turned off left behind: still stored, nothing new added (facts.ts leftoverOn). */
function leftoverWords(leftoverOn: readonly string[], hosts: readonly string[] | undefined): string {
  const everywhere = (hosts === undefined || hosts.every((h) => leftoverOn.includes(h)));
  return `${everywhere ? 'This' : `On ${joinWords(leftoverOn)}, this`} feature has been turned off: what it stored before is still kept, with no time limit, until the operator erases it or your account is deleted; nothing new is added.`;
}

function retentionItem(r: RetentionFact): Inline[] {
  const name = r.name.charAt(0).toUpperCase() + r.name.slice(1);
  return [`${name}: deleted once older than ${humanDuration(r.maxAgeMs)}${onHosts(r.hosts)}.`];
}

/**
 * The archive in words: where it is kept and for how long, from the retention rule of the archive
 * (one sentence per limit, naming the hosts when they differ), and where none is kept.
 */
function archiveBlocks(f: PolicyFacts): Block[] {
  const archiveHosts = f.archive.hosts ?? f.hosts;
  const partial = f.archive.hosts !== undefined;
  const limits = f.retention.filter((r) => r.name === ARCHIVE_RETENTION);
  const leftoverOn = f.archive.leftoverOn ?? [];
  if (leftoverOn.length > 0 && archiveHosts.every((h) => leftoverOn.includes(h))) {
    // Only an archive left behind: nothing is archived any more, but it must not be denied.
    const out: Block[] = [{
      p: [`No new messages are archived, but a message archive kept earlier is still stored${partial ? onHosts(archiveHosts) : ''}: the one-to-one messages sent and received while it was on stay on the server, encrypted, until the operator erases them or your account is deleted.`],
    }];
    const without = f.hosts.filter((h) => !archiveHosts.includes(h));
    if (without.length > 0) out.push({ p: [`On ${joinWords(without)}, no chat history is kept: the server passes messages on to the recipient and does not keep an archive of them.`] });
    return out;
  }
  const out: Block[] = [{
    p: [`A message archive is kept${partial ? onHosts(archiveHosts) : ''}: the one-to-one messages you send and receive are stored on the server, encrypted, so that your clients can fetch your chat history. Group chat messages are not archived.`],
  }];
  if (leftoverOn.length > 0) {
    out.push({ p: [`On ${joinWords(leftoverOn)}, the archive has been turned off: no new messages are archived there, but those archived before stay stored until the operator erases them or your account is deleted.`] });
  }
  const kept = limits.map((r) => {
    const where = r.hosts ?? (partial ? archiveHosts : undefined);
    const sentence = `messages are kept for ${humanDuration(r.maxAgeMs)}, then deleted.`;
    return where ? `On ${joinWords(where)}, ${sentence}` : `Archived ${sentence}`;
  });
  if (kept.length === 0) kept.push('Archived messages are kept until you delete your account.');
  out.push({ p: [kept.join(' '), ' Past a limit per account the oldest messages are dropped first. From your chat client you can choose to archive all your messages, none, or only those with your contacts, and name people whose messages are always or never archived.'] });
  const without = f.hosts.filter((h) => !archiveHosts.includes(h));
  if (without.length > 0) out.push({ p: [`On ${joinWords(without)}, no chat history is kept: the server passes messages on to the recipient and does not keep an archive of them.`] });
  return out;
}

function privacyDoc(f: PolicyFacts): PolicyDoc {
  const operator = f.operator.name;
  const Operator = sentenceStart(operator);
  const contact = f.operator.contact;
  const has = (source: string) => f.stored.some((s) => s.source === source);

  // Who
  const who: Block[] = [{ p: [`${Operator} runs ${serviceDescription(f)} and is responsible for the personal data described here.`] }];
  who.push({ p: contact ? ['Contact: ', contactInline(contact), '.'] : ['No contact address has been published for this service.'] });
  if (f.operator.jurisdiction) who.push({ p: [`The service is run under the law of ${dot(f.operator.jurisdiction)}`] });
  who.push({
    p: ['This policy is generated by the server software from its running configuration, so it describes what the server actually does, and it changes when that configuration changes.'],
  });

  // What is stored
  const stored: Block[] = [
    { p: ['The server stores the following about you, and nothing else:'] },
    { ul: f.stored.map(storedItem) },
  ];

  if (f.fileUpload) {
    stored.push({
      p: [`Files you share through HTTP File Upload are stored encrypted and can be downloaded by anyone who holds their link, without logging in: a link is long and random, so it can't be guessed, but whoever it is passed on to can open the file until it is deleted. Each account may keep up to ${humanSize(f.fileUpload.quotaBytes)} of files, at most ${humanSize(f.fileUpload.maxFileBytes)} each.`],
    });
  }

  // Messages
  const messages: Block[] = [];
  if (f.archive.enabled) {
    messages.push(...archiveBlocks(f));
    if (has('offline')) {
      messages.push({ p: ['Besides, a message for someone with no client online waits in the offline buffer until it is delivered, and is then removed from there, or until it expires (see below).'] });
    }
  } else {
    messages.push({ p: ['No chat history is kept: the server passes messages on to the recipient and does not keep an archive of them.'] });
    if (has('offline')) {
      messages.push({ p: ['The one exception is the offline buffer: a message for someone with no client online waits on the server until it is delivered, and is then removed, or until it expires (see below).'] });
    }
    messages.push({ p: ["Without an archive, your messages don't synchronize between your devices from the server."] });
  }
  if (f.endToEndRequired) {
    // src/modules/e2e-policy: refused messages are neither delivered, stored nor logged.
    messages.push({ p: [`One-to-one chats${onHosts(f.endToEndRequired.hosts)} must be end-to-end encrypted (OMEMO or OpenPGP), so the server can't read them: it refuses a message without such encryption and keeps nothing of it.`] });
  }
  if (has('muc')) {
    // src/modules/muc: room history lives in memory only (history_size, history_age).
    messages.push({ p: ['Group chats: a room keeps its most recent messages in memory only, so that people who join see the conversation so far; they are never written to disk and are lost when the server restarts.'] });
  }

  // What is not stored
  const notStored: Block[] = [];
  if (!f.addresses.logged) {
    const failedLoginLog = f.addresses.failedLoginLogRetentionMs;
    notStored.push({
      ul: [
        [failedLoginLog === undefined
          ? 'IP addresses: the address you connect from is neither stored nor logged.'
          : 'IP addresses: the address you connect from is neither stored nor logged, except after a failed login (see below).'],
        ['Connection times: when you are online, and for how long, is not recorded.'],
        ['Message contents never appear in the logs.'],
      ],
    });
    notStored.push({
      p: [`One exception protects accounts from password guessing: after a failed login, the address it came from (for IPv6, its /64 network) and the account name are kept in memory only, never on disk, for ${humanDuration(f.addresses.failedLoginWindowMs)}, to slow down and then refuse further attempts. After that they are forgotten.`],
    });
    if (failedLoginLog !== undefined) {
      notStored.push({
        p: [`In addition, the address of each failed login is written, with its time but without the account name, to a separate log from which a firewall blocks addresses that keep guessing passwords. Each line of it is deleted once it is older than ${humanDuration(failedLoginLog)}.`],
      });
    }
  } else {
    notStored.push({ p: ['IP addresses and connection times are recorded in the server logs.'] });
    notStored.push({ p: ['Message contents never appear in the logs.'] });
  }
  const n = f.status.blockRules;
  notStored.push({
    p: [
      `${Operator} may block single IP addresses or whole address ranges that threaten the security or continuity of the service; connections from them are refused before anything else happens. `,
      n === 0 ? 'No such block is in force at the moment.' : `${n} such block${n === 1 ? ' is' : 's are'} in force at the moment.`,
    ],
  });

  // Retention
  const retention: Block[] = f.retention.length > 0
    ? [{ ul: f.retention.map(retentionItem) }]
    : [{ p: ['No automatic time limits are configured.'] }];
  retention.push({
    p: [`The server deletes expired data when it starts and then at least ${every(f.retentionIntervalMs)}. Everything else is kept until you change or delete it, or until your account is deleted.`],
  });

  // Security
  const security: Inline[][] = [
    [`Connections are encrypted with TLS; only ${tlsName(f.tls.minVersion)} or newer is accepted${f.tls.required ? ', and no one can log in before the connection is encrypted' : ''}.`],
  ];
  if (f.encryptionAtRest.enabled) {
    security.push([
      `The stored data listed above is encrypted at rest with ${f.encryptionAtRest.algorithm}`,
      f.encryptionAtRest.keyOutsideStore
        ? '; the key is not kept with the data but supplied from outside the database and data directory when the server starts.'
        : '.',
      ' The identifiers needed to find it, such as account names, may remain readable.',
    ]);
  } else {
    security.push(['Stored data is not encrypted by the server software itself; it relies on the protection of the machine it runs on.']);
  }
  if (f.deletion.secureDelete) security.push(['Deleted data is overwritten in the database files, not just marked as free.']);

  // Logs
  const logs: Block[] = [];
  if (f.logging.level === 'silent') {
    logs.push({ p: ['The operational log is switched off.'] });
  } else {
    logs.push({
      p: [
        'The operational log records events such as start-up, errors and counts; never IP addresses, passwords or message contents.',
        f.logging.level === 'debug' || f.logging.level === 'trace' ? ` It is set to a detailed (${f.logging.level}) level.` : '',
      ],
    });
  }
  if (f.logging.debugOnDemand) {
    logs.push({
      p: [`To investigate a problem, ${operator} can switch on debug logging for a while. It goes into a separate file, which is deleted when debug logging is switched off or its time limit ends; it leaves out passwords, message contents and IP addresses too.`],
    });
  }
  logs.push({
    p: [f.status.debugActive ? `Debug logging is on at the moment${f.status.debugUntil ? `, until ${minute(f.status.debugUntil)}` : ''}.` : 'Debug logging is off at the moment.'],
  });

  // Rights
  const selfService = [has('roster') ? 'contact list' : '', has('vcard') ? 'profile' : ''].filter(Boolean);
  const rights: Inline[][] = [
    [f.exportAvailable
      ? 'get a copy of your data: a portable copy of everything stored for your account, which you can take to another provider;'
      : 'ask for a copy of the data stored about you;'],
    [`have inaccurate data corrected${selfService.length > 0 ? ` (your ${joinWords(selfService)} you can change yourself, from your chat client)` : ''};`],
    [f.deletion.inBand ? 'have your data deleted, which you can do yourself by deleting your account from your chat client;' : 'have your data deleted, by having your account deleted;'],
    ['restrict or object to the processing of your data;'],
    ['lodge a complaint with a data protection authority.'],
  ];
  const rightsBlocks: Block[] = [
    { p: ['Data protection law, such as the EU General Data Protection Regulation, gives you rights over your personal data. You may:'] },
    { ul: rights },
  ];
  if (contact) rightsBlocks.push({ p: ['Send requests to ', contactInline(contact), '.'] });

  // Deletion
  const deletion: Block[] = [
    {
      p: [
        f.deletion.inBand ? 'You can delete your account at any time from your chat client. ' : `To delete your account, ask ${dot(operator)} `,
        `Deleting an account removes everything stored for it at once${f.deletion.secureDelete ? ', overwriting it in the database' : ''}. The address becomes free immediately and may later belong to someone else.`,
      ],
    },
  ];

  return {
    title: `Privacy Policy of ${f.serviceName}`,
    sections: [
      { title: 'Who is responsible', blocks: who },
      { title: 'What is stored', blocks: stored },
      { title: 'Messages', blocks: messages },
      { title: 'What is not stored', blocks: notStored },
      { title: 'How long data is kept', blocks: retention },
      { title: 'Security', blocks: [{ ul: security }] },
      { title: 'Logs', blocks: logs },
      { title: 'Your rights', blocks: rightsBlocks },
      { title: 'Deleting your account', blocks: deletion },
      {
        title: 'Requests from authorities',
        blocks: [{
          p: [`${Operator} may be legally obliged to hand over data about an account to the authorities. Only what is listed under "What is stored" exists to be handed over; what is not stored can't be given.`],
        }],
      },
      {
        title: 'Changes',
        blocks: [
          { p: ['This policy changes with the configuration of the server; the date of the last change is always shown here.'] },
          { p: lastChanged(f) },
        ],
      },
    ],
    page: 'privacy',
  };
}

// ---------------------------------------------------------------------------------------------
// Output

/** C0/C1 controls and bidi overrides could garble a terminal or spoof text: they become spaces. */
function clean(s: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, ' ');
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Only our relative page links, https?: and mailto: become links; anything else stays text. */
function safeHref(href: string): boolean {
  return /^(terms|privacy)(\.txt)?$/.test(href) || WEB.test(href) || (href.startsWith('mailto:') && EMAIL.test(href.slice(7)));
}

function inlineHtml(parts: readonly Inline[]): string {
  return parts
    .map((x) => {
      if (typeof x === 'string') return escapeHtml(clean(x));
      const text = escapeHtml(clean(x.text));
      if (!safeHref(x.href)) return text;
      const external = !/^(terms|privacy)/.test(x.href);
      return `<a href="${escapeHtml(x.href)}"${external ? ' rel="noopener noreferrer"' : ''}>${text}</a>`;
    })
    .join('');
}

export const POLICY_CSS =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#1d1d1d;background:#fff}' +
  'h1{font-size:1.7rem;line-height:1.2}h2{font-size:1.2rem;margin-top:2rem}li{margin:.3rem 0}' +
  'footer{margin-top:3rem;padding-top:1rem;border-top:1px solid #ccc;font-size:.9rem}' +
  '@media (prefers-color-scheme:dark){body{color:#ddd;background:#151515}a{color:#8cf}}';

/** CSP source for the inline stylesheet (so the page needs no 'unsafe-inline'). */
export const POLICY_STYLE_HASH = `'sha256-${createHash('sha256').update(POLICY_CSS).digest('base64')}'`;

function toHtml(doc: PolicyDoc): string {
  const out: string[] = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${escapeHtml(clean(doc.title))}</title>`,
    `<style>${POLICY_CSS}</style>`,
    '</head>',
    '<body>',
    '<main>',
    `<h1>${escapeHtml(clean(doc.title))}</h1>`,
  ];
  for (const s of doc.sections) {
    out.push(`<h2>${escapeHtml(clean(s.title))}</h2>`);
    for (const b of s.blocks) {
      if ('p' in b) out.push(`<p>${inlineHtml(b.p)}</p>`);
      else out.push('<ul>', ...b.ul.map((item) => `<li>${inlineHtml(item)}</li>`), '</ul>');
    }
  }
  const other: Inline = doc.page === 'terms' ? { text: 'Privacy policy', href: 'privacy' } : { text: 'Terms of service', href: 'terms' };
  const footer = inlineHtml([other, ' · ', { text: 'Plain text', href: `${doc.page}.txt` }]);
  out.push('</main>', `<footer>${footer}</footer>`, '</body>', '</html>', '');
  return out.join('\n');
}

function inlineText(parts: readonly Inline[]): string {
  return clean(
    parts
      .map((x) => {
        if (typeof x === 'string') return x;
        if (x.href === x.text || x.href === `mailto:${x.text}`) return x.text;
        // Our own pages: point at their plain-text form.
        if (/^(terms|privacy)$/.test(x.href)) return `${x.text} (${x.href}.txt)`;
        return `${x.text} <${x.href}>`;
      })
      .join(''),
  ).replace(/ {2,}/g, ' ');
}

const WIDTH = 78;

/** Greedy word wrap; words longer than the line stay whole. */
function wrap(text: string, first: string, rest: string): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(' ').filter(Boolean)) {
    if (!empty && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = rest + word;
    } else {
      line += (empty ? '' : ' ') + word;
    }
    empty = false;
  }
  lines.push(line);
  return lines;
}

function toText(doc: PolicyDoc): string {
  const title = clean(doc.title);
  const out: string[] = [title, '='.repeat(Math.min(title.length, WIDTH)), ''];
  for (const s of doc.sections) {
    const t = clean(s.title);
    out.push(t, '-'.repeat(Math.min(t.length, WIDTH)), '');
    for (const b of s.blocks) {
      if ('p' in b) out.push(...wrap(inlineText(b.p), '', ''), '');
      else {
        for (const item of b.ul) out.push(...wrap(inlineText(item), '- ', '  '));
        out.push('');
      }
    }
  }
  const other = doc.page === 'terms' ? 'Privacy policy: privacy.txt' : 'Terms of service: terms.txt';
  out.push(`${other} · HTML: ${doc.page}`, '');
  return out.join('\n');
}

export function renderTerms(facts: PolicyFacts, format: PolicyFormat): string {
  const doc = termsDoc(facts);
  return format === 'html' ? toHtml(doc) : toText(doc);
}

export function renderPrivacy(facts: PolicyFacts, format: PolicyFormat): string {
  const doc = privacyDoc(facts);
  return format === 'html' ? toHtml(doc) : toText(doc);
}

export interface PolicyPage {
  contentType: string;
  body: string;
  /** CSP sources for the page's inline styles. */
  styleHashes: readonly string[];
}

const HTML_TYPE = 'text/html; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';

/** The page at a request path (/terms, /privacy, /terms.txt, /privacy.txt), or undefined. */
export function policyPage(path: string, facts: PolicyFacts): PolicyPage | undefined {
  switch (path) {
    case '/terms':
      return { contentType: HTML_TYPE, body: renderTerms(facts, 'html'), styleHashes: [POLICY_STYLE_HASH] };
    case '/privacy':
      return { contentType: HTML_TYPE, body: renderPrivacy(facts, 'html'), styleHashes: [POLICY_STYLE_HASH] };
    case '/terms.txt':
      return { contentType: TEXT_TYPE, body: renderTerms(facts, 'text'), styleHashes: [] };
    case '/privacy.txt':
      return { contentType: TEXT_TYPE, body: renderPrivacy(facts, 'text'), styleHashes: [] };
    default:
      return undefined;
  }
}
