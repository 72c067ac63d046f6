// The key under which a client address is counted by limits kept in memory (failed logins, reset
// mails): one subscriber's range, so a client can't escape a limit by changing its address.

/** IPv6 peers are counted per /64 (one subscriber's range); IPv4-mapped IPv6 as IPv4. */
export function addressKey(address: string | undefined): string {
  if (!address) return '?';
  const a = address.toLowerCase();
  if (a.startsWith('::ffff:') && a.includes('.')) return a.slice(7);
  if (!a.includes(':')) return a;
  const [head = '', tail = ''] = a.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = a.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':') + '::/64';
}
