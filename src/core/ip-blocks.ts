// Operator blocks of single IP addresses and CIDR ranges (IPv4 and IPv6), checked before TLS on
// every listener. Built on node's net.BlockList; the rule list is kept to list and remove rules.
import { BlockList, isIP } from 'node:net';

export class BlockRuleError extends Error {}

/** Parses "203.0.113.7", "203.0.113.0/24" or "2001:db8::/32" into a canonical rule. */
export function parseBlockRule(raw: string): { rule: string; address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const text = raw.trim();
  const slash = text.indexOf('/');
  const address = slash >= 0 ? text.slice(0, slash) : text;
  const version = isIP(address);
  if (version === 0) throw new BlockRuleError(`"${raw}" is not an IP address or CIDR range`);
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const max = version === 4 ? 32 : 128;
  const prefixText = slash >= 0 ? text.slice(slash + 1) : String(max);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) throw new BlockRuleError(`"${raw}": the prefix length must be 0 to ${max}`);
  const prefix = Number(prefixText);
  return { rule: `${address.toLowerCase()}/${prefix}`, address, prefix, family };
}

export class IpBlocks {
  #rules: string[] = [];
  #list = new BlockList();

  constructor(rules: Iterable<string> = []) {
    for (const r of rules) this.add(r);
  }

  /** Adds a rule; returns false when it was already there. Throws BlockRuleError when invalid. */
  add(raw: string): boolean {
    const p = parseBlockRule(raw);
    if (this.#rules.includes(p.rule)) return false;
    this.#list.addSubnet(p.address, p.prefix, p.family);
    this.#rules.push(p.rule);
    return true;
  }

  remove(raw: string): boolean {
    const { rule } = parseBlockRule(raw);
    if (!this.#rules.includes(rule)) return false;
    this.#rules = this.#rules.filter((r) => r !== rule);
    this.#list = new BlockList();
    for (const r of this.#rules) {
      const p = parseBlockRule(r);
      this.#list.addSubnet(p.address, p.prefix, p.family);
    }
    return true;
  }

  list(): string[] {
    return [...this.#rules];
  }

  isBlocked(address: string | undefined): boolean {
    if (!address || this.#rules.length === 0) return false;
    // IPv4 peers on a dual-stack socket appear as ::ffff:a.b.c.d.
    const a = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
    const family = isIP(a) === 4 ? 'ipv4' : 'ipv6';
    return this.#list.check(a, family);
  }
}
