// Test harness: a raw XEP-0388 SASL2 client over RawConnection, with what clients put inline
// (XEP-0386 Bind 2, XEP-0198 resumption, XEP-0484 FAST). Its own SCRAM client (RFC 5802, RFC 7677,
// channel binding as RFC 5929 / RFC 9266 define it), PLAIN and the HT mechanisms
// (draft-schmaus-kitten-sasl-ht-08), so the server is checked against an independent computation.
// It sends exactly what a test asks for, including what no well-behaved client would.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { channelBindingData, connectSecured, PATTERN, type CbType, type RawConnectOptions, type RawConnection } from './raw.ts';

export const NS2 = {
  SASL: 'urn:ietf:params:xml:ns:xmpp-sasl',
  SASL2: 'urn:xmpp:sasl:2',
  BIND2: 'urn:xmpp:bind:0',
  FAST: 'urn:xmpp:fast:0',
  SM: 'urn:xmpp:sm:3',
  CARBONS: 'urn:xmpp:carbons:2',
  CSI: 'urn:xmpp:csi:0',
} as const;

/** A complete <challenge/>, <success/> or <failure/> (nested children included). */
const REPLY = /<(challenge|success|failure)\b[^>]*?(?:\/>|>[\s\S]*?<\/\1>)/;

function xor(a: Buffer, b: Buffer): Buffer {
  return Buffer.from(a.map((x, i) => x ^ (b[i] ?? 0)));
}

/** The text of the first `<name>` in `xml` (undefined when absent). */
export function childText(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}(?:\\s[^>]*)?>([^<]*)</${name}>`).exec(xml);
  return m?.[1]?.trim();
}

/** An attribute of the first `<name .../>` in `xml`. */
export function attrOf(xml: string, name: string, attr: string): string | undefined {
  const tag = new RegExp(`<${name}\\b[^>]*>`).exec(xml)?.[0];
  return tag === undefined ? undefined : new RegExp(`\\s${attr}=["']([^"']*)["']`).exec(tag)?.[1];
}

/** The client side of SCRAM-SHA-1/-256 (RFC 5802 §3, §5), with channel binding for -PLUS. */
export class ScramClient {
  readonly #algo: string;
  readonly #password: string;
  readonly #gs2: string;
  readonly #cbData: Buffer;
  readonly #nonce = randomBytes(18).toString('base64');
  readonly #firstBare: string;
  #serverSignature: Buffer | undefined;

  constructor(mechanism: string, username: string, password: string, cb?: { flag: string; data: Buffer }) {
    const m = /^SCRAM-SHA-(1|256)(-PLUS)?$/.exec(mechanism);
    if (!m) throw new Error(`not SCRAM: ${mechanism}`);
    this.#algo = m[1] === '1' ? 'sha1' : 'sha256';
    this.#password = password;
    this.#gs2 = `${cb?.flag ?? 'n'},,`;
    this.#cbData = cb?.data ?? Buffer.alloc(0);
    this.#firstBare = `n=${username.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${this.#nonce}`;
  }

  first(): Buffer {
    return Buffer.from(this.#gs2 + this.#firstBare);
  }

  final(serverFirst: Buffer): Buffer {
    const text = serverFirst.toString('utf8');
    const attrs = new Map(text.split(',').map((p) => [p.slice(0, 1), p.slice(2)] as const));
    const nonce = attrs.get('r') ?? '';
    if (!nonce.startsWith(this.#nonce)) throw new Error(`server nonce does not extend ours: ${text}`);
    const salted = pbkdf2Sync(this.#password, Buffer.from(attrs.get('s') ?? '', 'base64'), Number(attrs.get('i')), this.#algo === 'sha1' ? 20 : 32, this.#algo);
    const clientKey = createHmac(this.#algo, salted).update('Client Key').digest();
    const storedKey = createHash(this.#algo).update(clientKey).digest();
    const withoutProof = `c=${Buffer.concat([Buffer.from(this.#gs2), this.#cbData]).toString('base64')},r=${nonce}`;
    const authMessage = `${this.#firstBare},${text},${withoutProof}`;
    const proof = xor(clientKey, createHmac(this.#algo, storedKey).update(authMessage).digest());
    const serverKey = createHmac(this.#algo, salted).update('Server Key').digest();
    this.#serverSignature = createHmac(this.#algo, serverKey).update(authMessage).digest();
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`);
  }

  /** Checks the server-final-message ('v=...'): the server knew the password's keys. */
  verify(serverFinal: Buffer): boolean {
    const v = /(?:^|,)v=([^,]+)/.exec(serverFinal.toString('utf8'))?.[1];
    const got = Buffer.from(v ?? '', 'base64');
    return this.#serverSignature !== undefined && got.length === this.#serverSignature.length && timingSafeEqual(got, this.#serverSignature);
  }
}

const HT_CB: Record<string, CbType | undefined> = { NONE: undefined, ENDP: 'tls-server-end-point', UNIQ: 'tls-unique', EXPR: 'tls-exporter' };

export interface Sasl2Options {
  /** SCRAM-SHA-1/-256(-PLUS), PLAIN or HT-SHA-256-NONE/-ENDP/-UNIQ/-EXPR. */
  mechanism: string;
  username: string;
  /** SCRAM and PLAIN. */
  password?: string;
  /** HT: the token the server issued. */
  token?: string;
  /** -PLUS: the channel-binding type. Default tls-exporter on TLS 1.3, else tls-server-end-point. */
  cbType?: CbType;
  /** Overrides the channel-binding data sent (to test that the server checks it). */
  cbData?: Buffer;
  /** <user-agent id=...>; null leaves the element out. */
  userAgentId?: string | null;
  /** Raw XML added inside <authenticate/> (bind, resume, request-token, fast, ...). */
  inline?: string;
  /** Attributes added to <authenticate/>, raw. */
  attrs?: string;
}

export interface Sasl2Result {
  success: boolean;
  /** The SASL failure condition (RFC 6120 §6.5), when not successful. */
  condition?: string;
  /** The <success/> or <failure/> element, raw. */
  final: string;
  /** Every reply of the server, raw. */
  transcript: string[];
  /** SCRAM: the server signature checked out; HT: the responder message did. */
  serverVerified?: boolean;
  /** <authorization-identifier/>. */
  identity?: string;
  /** The stream features that follow <success/> (no restart). */
  features?: string;
}

async function reply(conn: RawConnection, transcript: string[]): Promise<string> {
  const text = await conn.readUntil(REPLY);
  const r = REPLY.exec(text)?.[0] ?? text;
  transcript.push(r);
  return r;
}

function dataOf(element: string, name = ''): Buffer {
  const inner = name ? childText(element, name) : /^<[^>]*>([\s\S]*)<\/[^>]+>$/.exec(element)?.[1];
  return Buffer.from((inner ?? '').trim(), 'base64');
}

/** Runs one SASL2 exchange on an open, secured stream. */
export async function sasl2Authenticate(conn: RawConnection, opts: Sasl2Options): Promise<Sasl2Result> {
  const transcript: string[] = [];
  const tls = conn.tlsSocket;
  const mech = opts.mechanism;
  let initial: Buffer;
  let scram: ScramClient | undefined;
  let responder: Buffer | undefined;
  const defaultCb = (): CbType => (tls?.getProtocol() === 'TLSv1.3' ? 'tls-exporter' : 'tls-server-end-point');
  const cbOf = (type: CbType): Buffer => opts.cbData ?? (tls ? channelBindingData(tls, type) : Buffer.alloc(0));
  if (mech === 'PLAIN') {
    initial = Buffer.from(`\0${opts.username}\0${opts.password ?? ''}`);
  } else if (mech.startsWith('HT-')) {
    const suffix = mech.split('-').pop() ?? '';
    const type = HT_CB[suffix];
    const cb = type ? cbOf(opts.cbType ?? type) : (opts.cbData ?? Buffer.alloc(0));
    const token = opts.token ?? '';
    // Keyed by the token text itself, as clients do; the server holds only its hash (RFC 2104 §2).
    initial = Buffer.concat([Buffer.from(opts.username), Buffer.from([0]), createHmac('sha256', token).update('Initiator').update(cb).digest()]);
    responder = createHmac('sha256', token).update('Responder').update(cb).digest();
  } else {
    const plus = mech.endsWith('-PLUS');
    const type = opts.cbType ?? defaultCb();
    scram = new ScramClient(mech, opts.username, opts.password ?? '', plus ? { flag: `p=${type}`, data: cbOf(type) } : undefined);
    initial = scram.first();
  }
  const ua = opts.userAgentId === null ? '' : `<user-agent id='${opts.userAgentId ?? 'c4f0c4f0-1b0b-4f5e-9d3a-000000000001'}'><software>raw-test</software><device>test runner</device></user-agent>`;
  await conn.send(`<authenticate xmlns='${NS2.SASL2}' mechanism='${mech}'${opts.attrs ? ` ${opts.attrs}` : ''}><initial-response>${initial.toString('base64')}</initial-response>${ua}${opts.inline ?? ''}</authenticate>`);

  let r = await reply(conn, transcript);
  while (r.startsWith('<challenge') && scram) {
    await conn.send(`<response xmlns='${NS2.SASL2}'>${scram.final(dataOf(r)).toString('base64')}</response>`);
    r = await reply(conn, transcript);
  }
  if (!r.startsWith('<success')) {
    const condition = /<failure[^>]*>\s*<([a-z-]+)/.exec(r)?.[1];
    return { success: false, ...(condition ? { condition } : {}), final: r, transcript };
  }
  const additional = dataOf(r, 'additional-data');
  const serverVerified = scram ? scram.verify(additional) : responder ? additional.length === responder.length && timingSafeEqual(additional, responder) : undefined;
  const features = await conn.readUntil(PATTERN.features);
  const identity = childText(r, 'authorization-identifier');
  return { success: true, final: r, transcript, features, ...(identity ? { identity } : {}), ...(serverVerified === undefined ? {} : { serverVerified }) };
}

/** Connects, secures (STARTTLS unless direct TLS) and authenticates with SASL2. */
export async function sasl2Login(opts: RawConnectOptions & Sasl2Options): Promise<{ conn: RawConnection; offer: string; result: Sasl2Result }> {
  const { conn, features } = await connectSecured(opts);
  const result = await sasl2Authenticate(conn, opts);
  return { conn, offer: features, result };
}

/** A Bind 2 request, with the given inline feature requests (raw XML). */
export function bind2(tag: string | undefined, ...features: string[]): string {
  return `<bind xmlns='${NS2.BIND2}'>${tag === undefined ? '' : `<tag>${tag}</tag>`}${features.join('')}</bind>`;
}
