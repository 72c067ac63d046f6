// STUN/TURN servers as the operator writes them: RFC 7064 (stun:, stuns:) and RFC 7065 (turn:,
// turns:) URIs, read into XEP-0215 <service/> attributes.

export type ServiceType = 'stun' | 'stuns' | 'turn' | 'turns';

export interface ExternalService {
  type: ServiceType;
  host: string;
  port: number;
  transport: 'udp' | 'tcp';
  /** TURN needs credentials (XEP-0215 'restricted'). */
  restricted: boolean;
}

// RFC 7064 §3.1 / RFC 7065 §3.1 default ports: 3478, and 5349 over TLS.
const DEFAULT_PORT: Record<ServiceType, number> = { stun: 3478, stuns: 5349, turn: 3478, turns: 5349 };
const URI = /^(stuns?|turns?):(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?(?:\?transport=(udp|tcp))?$/;

/** One URI, or a message saying what is wrong with it (thrown as a string, as option parsers do). */
export function parseServiceUri(raw: string): ExternalService {
  const m = URI.exec(raw.trim());
  if (!m) throw `expected a URI like "turn:turn.example.org:3478?transport=udp" or "stun:stun.example.org", got ${JSON.stringify(raw)}`;
  const type = m[1] as ServiceType;
  // RFC 7064: STUN URIs have no query.
  if (m[4] !== undefined && (type === 'stun' || type === 'stuns')) throw `${raw}: a ${type}: URI takes no ?transport= (RFC 7064)`;
  const port = m[3] === undefined ? DEFAULT_PORT[type] : Number(m[3]);
  if (port < 1 || port > 65535) throw `${raw}: port ${port} is out of range`;
  // RFC 7065 §3: without ?transport, UDP for turn:, TCP for turns: (TLS needs a stream).
  const secure = type === 'stuns' || type === 'turns';
  const transport = (m[4] as 'udp' | 'tcp' | undefined) ?? (secure ? 'tcp' : 'udp');
  if (secure && transport === 'udp') throw `${raw}: ${type}: runs over TLS, so over tcp`;
  return { type, host: (m[2] ?? '').replace(/^\[|\]$/g, ''), port, transport, restricted: type === 'turn' || type === 'turns' };
}
