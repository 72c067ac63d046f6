// XEP-0227 Portable Import/Export Format: an account and everything stored of it as one document.
// The account's credentials are the core's part (SCRAM keys as they are, never a password); every
// other part comes from the module that stores it, through the user/export and user/import hooks.
// FAST login tokens (XEP-0484) are secrets tied to this server: never exported.
import { AccountError } from '../core/accounts.ts';
import { StreamError } from '../core/errors.ts';
import { JidError, prepLocalpart } from '../core/jid.ts';
import { el, escapeXml, type Element } from '../core/xml/element.ts';
import type { ScramHash } from '../lib/scram.ts';
import type { OperationsDeps } from './deps.ts';
import { NS_PIE, readPie } from './pie-reader.ts';

export const NS_PIE_SCRAM = 'urn:xmpp:pie:0#scram';

const MECHANISMS: Record<string, ScramHash> = { 'SCRAM-SHA-1': 'SHA-1', 'SCRAM-SHA-256': 'SHA-256' };
const KEY_BYTES: Record<ScramHash, number> = { 'SHA-1': 20, 'SHA-256': 32 };
/** As the SCRAM code accepts (src/lib/scram.ts). */
const MAX_ITERATIONS = 100_000_000;

/** What to do with an account of the file that exists here already. */
export type ExistingAccounts = 'refuse' | 'overwrite' | 'skip';

export interface ImportOptions {
  existing?: ExistingAccounts;
  /** The host a user of the file's host goes to; undefined skips the file's host. Default: the same name. */
  mapHost?: (fileHost: string) => string | undefined;
}

export interface ImportReport {
  imported: string[];
  skipped: { account: string; reason: string }[];
  failed: { account: string; reason: string }[];
}

export type UserImportResult = { account: string; outcome: 'imported' } | { account: string; outcome: 'skipped'; reason: string };

function checkHost(deps: OperationsDeps, host: string): void {
  if (!deps.hosts().includes(host)) throw new AccountError(`${host} is not a host of this server`);
}

/** The canonical order of a user's parts: credentials first, then by namespace and name. */
function partKey(e: Element): string {
  return `${e.attrs['xmlns'] ?? ''} ${e.name}`;
}

/** Indented where an element holds only elements; text-bearing elements stay as they are. */
function pretty(e: Element, depth: number): string {
  const pad = '\n' + '  '.repeat(depth);
  if (e.children.length === 0 || e.children.some((c) => typeof c === 'string')) return pad + e.toString();
  const open = e.toString();
  const head = open.slice(0, open.indexOf('>') + 1);
  return pad + head + e.children.map((c) => pretty(c as Element, depth + 1)).join('') + pad + `</${e.name}>`;
}

function credentialElements(scram: Partial<Record<ScramHash, { salt: string; iterations: number; storedKey: string; serverKey: string }>>): Element[] {
  const out: Element[] = [];
  for (const [mechanism, hash] of Object.entries(MECHANISMS)) {
    const c = scram[hash];
    if (!c) continue;
    out.push(el('scram-credentials', { xmlns: NS_PIE_SCRAM, mechanism },
      el('iter-count', {}, String(c.iterations)),
      el('salt', {}, c.salt),
      el('server-key', {}, c.serverKey),
      el('stored-key', {}, c.storedKey)));
  }
  return out;
}

/** The account's <user/> element: credentials and every module's part, in canonical order. */
export async function exportUserElement(deps: OperationsDeps, host: string, user: string): Promise<Element> {
  checkHost(deps, host);
  const scram = await deps.accounts.storedCredentials(host, user);
  if (!scram) throw new AccountError(`${user}@${host} does not exist`);
  const parts: Element[] = [];
  await deps.hooks(host)?.emit('user/export', { host, user, add: (e) => void parts.push(e) });
  parts.sort((a, b) => (partKey(a) < partKey(b) ? -1 : partKey(a) > partKey(b) ? 1 : 0));
  return el('user', { name: user }, ...credentialElements(scram), ...parts);
}

/** `user@host`'s complete data as a XEP-0227 document. */
export async function exportUser(deps: OperationsDeps, host: string, user: string): Promise<string> {
  const userEl = await exportUserElement(deps, host, user);
  return `<?xml version='1.0' encoding='UTF-8'?>\n<server-data xmlns="${NS_PIE}">\n  <host jid="${escapeXml(host)}">${pretty(userEl, 2)}\n  </host>\n</server-data>\n`;
}

function base64Bytes(text: string | undefined, what: string): Buffer {
  const s = (text ?? '').trim();
  const bytes = Buffer.from(s, 'base64');
  if (!s || bytes.toString('base64').replace(/=+$/, '') !== s.replace(/=+$/, '')) throw new AccountError(`${what} is not base64`);
  return bytes;
}

/** <scram-credentials/> (XEP-0227 §4) as the account store keeps them; other mechanisms are left out. */
function readScram(userEl: Element): Partial<Record<ScramHash, { salt: string; iterations: number; storedKey: string; serverKey: string }>> {
  const out: Partial<Record<ScramHash, { salt: string; iterations: number; storedKey: string; serverKey: string }>> = {};
  for (const c of userEl.getChildren('scram-credentials', NS_PIE_SCRAM)) {
    const mechanism = c.attrs['mechanism'] ?? '';
    const hash = MECHANISMS[mechanism];
    if (!hash) continue;
    const iterText = c.getChildText('iter-count')?.trim() ?? '';
    const iterations = /^\d{1,9}$/.test(iterText) ? Number(iterText) : NaN;
    if (!(iterations >= 1 && iterations <= MAX_ITERATIONS)) throw new AccountError(`${mechanism}: <iter-count/> must be a whole number in 1..${MAX_ITERATIONS}`);
    let salt = base64Bytes(c.getChildText('salt'), `${mechanism}: <salt/>`);
    let storedKey = base64Bytes(c.getChildText('stored-key'), `${mechanism}: <stored-key/>`);
    let serverKey = base64Bytes(c.getChildText('server-key'), `${mechanism}: <server-key/>`);
    // ejabberd 23.01's export_piefxis encodes its (already base64) SCRAM fields in base64 once
    // more: keys of the wrong length that are base64 of keys of the right length say so.
    const inner = (b: Buffer) => Buffer.from(b.toString('latin1'), 'base64');
    if (storedKey.length !== KEY_BYTES[hash] && inner(storedKey).length === KEY_BYTES[hash] && inner(serverKey).length === KEY_BYTES[hash]) {
      [salt, storedKey, serverKey] = [inner(salt), inner(storedKey), inner(serverKey)];
    }
    if (salt.length === 0) throw new AccountError(`${mechanism}: empty <salt/>`);
    if (storedKey.length !== KEY_BYTES[hash] || serverKey.length !== KEY_BYTES[hash]) throw new AccountError(`${mechanism}: the keys must be ${KEY_BYTES[hash]} bytes`);
    out[hash] = { salt: salt.toString('base64'), iterations, storedKey: storedKey.toString('base64'), serverKey: serverKey.toString('base64') };
  }
  return out;
}

/**
 * Imports one <user/> element into `host`, atomically: when any part fails, the account and
 * whatever was stored of it are removed again, and the error says what failed.
 */
export async function importUser(deps: OperationsDeps, host: string, userEl: Element, existing: ExistingAccounts = 'refuse'): Promise<UserImportResult> {
  checkHost(deps, host);
  const rawName = userEl.attrs['name'];
  if (rawName === undefined || rawName === '') throw new AccountError('a <user/> element has no name attribute');
  let user: string;
  try {
    user = prepLocalpart(rawName);
  } catch (e) {
    if (e instanceof JidError) throw new AccountError(`user "${rawName}": not a valid username: ${e.message}`);
    throw e;
  }
  const account = `${user}@${host}`;
  const fail = (e: unknown): never => {
    throw new AccountError(`${account}: ${(e as Error).message.replace(`${account}: `, '')}`);
  };
  let scram;
  try {
    scram = readScram(userEl);
  } catch (e) {
    return fail(e);
  }
  const password = userEl.attrs['password'];
  if (!scram['SHA-1'] && !scram['SHA-256'] && !password) fail(new Error('no credentials: neither <scram-credentials/> (SCRAM-SHA-1 or SCRAM-SHA-256) nor a password'));
  if (await deps.accounts.exists(host, user)) {
    if (existing === 'skip') return { account, outcome: 'skipped', reason: 'the account exists (--skip-existing)' };
    if (existing === 'refuse') fail(new Error('the account exists already; nothing of it was imported (use --overwrite to replace it or --skip-existing)'));
    deps.endSessions(host, user, new StreamError('not-authorized', 'This account has been replaced by an import'));
    await deps.accounts.delete(host, user);
    await deps.hooks(host)?.emit('user/deleted', { host, user, forImport: true });
  }
  try {
    // A plaintext password (ejabberd's plain format) becomes SCRAM credentials, and only those are kept.
    if (scram['SHA-1'] || scram['SHA-256']) await deps.accounts.createWithCredentials(host, user, scram);
    else await deps.accounts.create(host, user, password ?? '');
    // No login sees the account half-filled.
    await deps.accounts.setDisabled(host, user, true);
  } catch (e) {
    return fail(e);
  }
  try {
    const elements = userEl.elements.filter((e) => !(e.name === 'scram-credentials' && e.attrs['xmlns'] === NS_PIE_SCRAM));
    await deps.hooks(host)?.emit('user/import', { host, user, elements });
    await deps.accounts.setDisabled(host, user, false);
  } catch (e) {
    await deps.accounts.delete(host, user).catch(() => undefined);
    await deps.hooks(host)?.emit('user/deleted', { host, user, forImport: true }).catch(() => undefined);
    return fail(e);
  }
  await deps.hooks(host)?.emit('user/created', { host, user });
  return { account, outcome: 'imported' };
}

/**
 * Imports a whole document given as text: checked whole first (a malformed file imports nothing),
 * then user by user. Users of a host not served here are skipped, each with the reason.
 */
export async function importFile(deps: OperationsDeps, xml: string, opts: ImportOptions = {}): Promise<ImportReport> {
  for await (const _ of readPie([xml]));
  const report: ImportReport = { imported: [], skipped: [], failed: [] };
  const mapHost = opts.mapHost ?? ((h: string) => h);
  for await (const item of readPie([xml])) {
    if (item.kind === 'include') {
      report.skipped.push({ account: item.href, reason: `line ${item.line}: <xi:include/> is read only from files (jabberx import FILE)` });
      continue;
    }
    const name = item.kind === 'user' ? item.user.attrs['name'] : item.name;
    const label = `${name ?? '(no name)'}@${item.host}`;
    if (item.kind === 'skipped') {
      report.failed.push({ account: label, reason: `line ${item.line}: ${item.reason}` });
      continue;
    }
    const host = mapHost(item.host);
    if (host === undefined || !deps.hosts().includes(host)) {
      report.skipped.push({ account: label, reason: `${host ?? item.host} is not a host of this server (map it with --host)` });
      continue;
    }
    try {
      const r = await importUser(deps, host, item.user, opts.existing);
      if (r.outcome === 'imported') report.imported.push(r.account);
      else report.skipped.push({ account: r.account, reason: r.reason });
    } catch (e) {
      report.failed.push({ account: label, reason: `line ${item.line}: ${(e as Error).message}` });
    }
  }
  return report;
}
