// `jabberx cert import DIR`: takes certificates from Let's Encrypt's layout (DIR/live/<domain>/
// fullchain.pem and privkey.pem, as certbot and most ACME clients write them) and copies each
// host's into the place the configuration reads it from: the host's own files, the shared tls.*
// files, or the managed folder data_dir/certs/<host>/. Only a pair that could be served is copied.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ServerConfig } from '../core/config.ts';
import { certificateNames, certificateSource, hostFileName, managedCertificatePaths, namesHost } from '../transports/certificates.ts';

export interface ImportOutcome {
  host: string;
  status: 'imported' | 'unchanged' | 'skipped';
  /** The live/<domain> folder taken. */
  from?: string;
  /** The certificate file written. */
  to?: string;
  /** Why a host was skipped. */
  reason?: string;
}

/** A live/<domain> folder as read: its pair, or why it can't be used. */
interface Candidate {
  folder: string;
  cert?: string;
  key?: string;
  leaf?: X509Certificate;
  problem?: string;
}

/** The folder is not in Let's Encrypt's layout. */
export class ImportSourceError extends Error {}

function readCandidate(folder: string): Candidate {
  try {
    const cert = readFileSync(join(folder, 'fullchain.pem'), 'utf8');
    const key = readFileSync(join(folder, 'privkey.pem'), 'utf8');
    const leaf = new X509Certificate(cert);
    if (!leaf.checkPrivateKey(createPrivateKey(key))) return { folder, problem: 'privkey.pem is not the key of fullchain.pem' };
    if (Date.parse(leaf.validTo) <= Date.now()) return { folder, problem: `its certificate expired on ${new Date(leaf.validTo).toISOString().slice(0, 10)}` };
    return { folder, cert, key, leaf };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { folder, problem: code === 'ENOENT' ? 'no fullchain.pem and privkey.pem in it' : code === 'EACCES' ? 'permission denied (run as root, as certbot does)' : 'not a PEM certificate and key' };
  }
}

function readLive(dir: string): Map<string, Candidate> {
  const live = join(dir, 'live');
  let names: string[];
  try {
    names = readdirSync(live, { withFileTypes: true }).filter((d) => d.isDirectory() || d.isSymbolicLink()).map((d) => d.name);
  } catch {
    throw new ImportSourceError(`${live} is not a folder: expected Let's Encrypt's layout DIR/live/<domain>/fullchain.pem and privkey.pem (e.g. DIR = /etc/letsencrypt)`);
  }
  return new Map(names.sort().map((n) => [n, readCandidate(join(live, n))]));
}

/** The host's own live/<host> folder first, then any other whose certificate names it (a wildcard, a SAN list). */
function pick(candidates: Map<string, Candidate>, hosts: string[]): Candidate | string {
  const own = candidates.get(hostFileName(hosts[0] ?? ''));
  const covers = (c: Candidate) => c.leaf !== undefined && hosts.every((h) => namesHost(c.leaf as X509Certificate, h));
  if (own && covers(own)) return own;
  const other = [...candidates.values()].find(covers);
  if (other) return other;
  if (own?.problem) return `live/${hostFileName(hosts[0] ?? '')}: ${own.problem}`;
  if (own?.leaf) return `live/${hostFileName(hosts[0] ?? '')} is for ${certificateNames(own.leaf)}, not ${hosts.join(', ')}`;
  return `no live/<domain> folder holds a usable certificate for ${hosts.join(', ')}`;
}

/** Writes through a temporary file and rename; as root, hands the file to the owner of its folder (the server's user). */
function writeFile(path: string, data: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  if (process.getuid?.() === 0) {
    const owner = statSync(dirname(path));
    chownSync(tmp, owner.uid, owner.gid);
  }
  renameSync(tmp, path);
}

const sameContent = (path: string, data: string) => existsSync(path) && readFileSync(path, 'utf8') === data;

/**
 * Imports a certificate for every host that has one in DIR. Hosts sharing tls.certificate get one
 * only if a single certificate covers them all (the file is theirs together).
 */
export function importCertificates(config: ServerConfig, dir: string): ImportOutcome[] {
  const candidates = readLive(dir);
  // Destinations: one per host, except tls.* which the hosts without their own files share.
  const groups = new Map<string, { hosts: string[]; certificate: string; key: string }>();
  for (const host of config.hosts.keys()) {
    const source = certificateSource(config, host);
    const dest = source.kind === 'configured' ? source : managedCertificatePaths(config.data_dir, host);
    const group = groups.get(dest.certificate) ?? { hosts: [], certificate: dest.certificate, key: dest.key };
    group.hosts.push(host);
    groups.set(dest.certificate, group);
  }
  const out: ImportOutcome[] = [];
  for (const group of groups.values()) {
    const chosen = pick(candidates, group.hosts);
    for (const host of group.hosts) {
      if (typeof chosen === 'string') {
        out.push({ host, status: 'skipped', reason: chosen });
        continue;
      }
      const { cert = '', key = '' } = chosen;
      const unchanged = sameContent(group.certificate, cert) && sameContent(group.key, key);
      if (!unchanged && host === group.hosts[0]) {
        writeFile(group.key, key, 0o600);
        writeFile(group.certificate, cert, 0o644);
      }
      out.push({ host, status: unchanged ? 'unchanged' : 'imported', from: chosen.folder, to: group.certificate });
    }
  }
  return out;
}
