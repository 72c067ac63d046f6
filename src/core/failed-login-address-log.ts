// The failed-login log (log.failed_login_file, off by default): one line per failed login with
// its time and the peer's address, for fail2ban or a firewall script, kept only for
// log.failed_login_retention by the retention engine. It is the privacy policy's one exception to
// "no IP addresses in logs", and the policy pages say so while it is on. Format (fixed):
//
//   2026-12-06T12:34:56.789Z failed login from 203.0.113.7
//
// UTC ISO 8601 time, one space, "failed login from ", the address (IPv4-mapped IPv6 written as
// IPv4); nothing else: no account, no port.
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** The text between the time and the address, for filters (contrib/fail2ban/filter.d/jabberx.conf). */
export const FAILED_LOGIN_LINE = 'failed login from';

/** One line of the log. */
export function failedLoginLine(address: string, at: Date): string {
  const a = address.toLowerCase().startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  return `${at.toISOString()} ${FAILED_LOGIN_LINE} ${a}\n`;
}

export class FailedLoginAddressLog {
  readonly path: string;
  /** Lines that could not be written (a full disk must not fail a login answer). */
  dropped = 0;

  constructor(path: string) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true });
  }

  /**
   * Appends one line. Opened per line (failures are rare and throttled): the retention engine can
   * replace the file at any time, and there is no descriptor to keep pointing at the old one.
   */
  record(address: string | undefined, at = new Date()): void {
    if (!address) return;
    try {
      appendFileSync(this.path, failedLoginLine(address, at), { mode: 0o600 });
    } catch {
      this.dropped++;
    }
  }

  /** Removes the lines older than `cutoff` (and any line that is not one of ours); returns how many went. */
  purge(cutoff: Date): number {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return 0;
    }
    const lines = text.split('\n').filter((l) => l !== '');
    const keep = lines.filter((l) => {
      const t = Date.parse(l.slice(0, l.indexOf(' ')));
      return Number.isFinite(t) && t >= cutoff.getTime();
    });
    if (keep.length === lines.length) return 0;
    // Synchronous read, filter and rename: no line appended meanwhile can be lost.
    const tmp = `${this.path}.purge`;
    writeFileSync(tmp, keep.map((l) => `${l}\n`).join(''), { mode: 0o600 });
    renameSync(tmp, this.path);
    return lines.length - keep.length;
  }
}
