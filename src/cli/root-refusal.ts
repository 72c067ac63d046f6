// `jabberx start` refuses to run as root: a flaw in a network server running as root gives away
// the whole machine, and files it creates as root (database, logs, keys) lock out the service user
// later. The operator may insist (--allow-root, security.allow_root), e.g. in a container.

/** Running as root without the operator's consent: exit 77, EX_NOPERM. */
export class RootRefusedError extends Error {}

export function refuseRoot(allowed: boolean, uid: number | undefined = process.getuid?.()): void {
  if (uid !== 0 || allowed) return;
  throw new RootRefusedError('refusing to run the server as root: run it as its own user (contrib/jabberx.service uses User=jabberx), '
    + 'e.g. sudo -u jabberx jabberx start; to run it as root all the same, give --allow-root or set security.allow_root: true');
}
