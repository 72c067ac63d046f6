// XEP-0215 External Service Discovery (urn:xmpp:extdisco:2): the STUN and TURN servers the
// operator lists, for audio and video calls, with time-limited TURN credentials from a secret
// shared with the TURN server (coturn's use-auth-secret). Only for this host's logged-in users.
import { defineModule } from '../../core/modules.ts';
import { option, type OptionDecl } from '../../core/options.ts';
import { badRequest, forbidden, itemNotFound } from '../../core/errors.ts';
import { el, type Element } from '../../core/xml/element.ts';
import type { IqRequest } from '../../core/modules.ts';
import { parseServiceUri, type ExternalService } from './service-uris.ts';
import { turnCredentials } from './credentials.ts';

export const NS_EXTDISCO = 'urn:xmpp:extdisco:2';

const servicesOption: OptionDecl<ExternalService[]> = {
  ...option.list([], ''),
  default: [],
  doc: 'STUN and TURN servers as RFC 7064/7065 URIs, e.g. `["stun:turn.example.org", "turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"]`; TURN ones get credentials from `secret`',
  defaultText: '[] (none)',
  parse(raw) {
    if (!Array.isArray(raw) || !raw.every((x) => typeof x === 'string')) throw `expected a list of URIs, got ${JSON.stringify(raw)}`;
    return raw.map(parseServiceUri);
  },
};

export const externalServices = defineModule({
  name: 'external-services',
  description: 'Tells clients the STUN/TURN servers for calls (XEP-0215), with time-limited TURN credentials derived from a secret shared with the TURN server (coturn `use-auth-secret`): they never name the user. Only for logged-in users of the host.',
  stores: {},
  enabledByDefault: false,
  xeps: [{ number: 215, version: '1.0.0', status: 'partial', note: 'no push of changed services (the list is the configuration\'s)' }],
  options: {
    services: servicesOption,
    secret: option.string('', "the TURN server's shared secret (coturn: `static-auth-secret`); needed for turn:/turns: services; never logged"),
    credential_lifetime: option.period('1d', 'how long TURN credentials handed out stay valid (their user name is the expiry time)', { min: 60_000, max: 30 * 86_400_000 }),
  },
  validate: (o) => (!o.secret && o.services.some((s) => s.restricted) ? { option: 'secret', message: "needed for turn:/turns: services (the TURN server's static-auth-secret)" } : undefined),
  setup(ctx) {
    const { services, secret, credential_lifetime: lifetime } = ctx.options;
    ctx.disco.addFeature(NS_EXTDISCO);

    const serviceElement = (s: ExternalService): Element => {
      const creds = s.restricted ? turnCredentials(secret, lifetime) : undefined;
      return el('service', {
        type: s.type, host: s.host, port: String(s.port), transport: s.transport,
        restricted: s.restricted ? '1' : undefined,
        username: creds?.username, password: creds?.password, expires: creds?.expires,
      });
    };
    // Relays cost bandwidth and are handed out per user: this host's own logged-in users only.
    const mayUse = (req: IqRequest): void => {
      if (!req.origin || req.from.domain !== ctx.host) throw forbidden('External services are offered to users of this server only');
    };

    ctx.iq.get('host', NS_EXTDISCO, 'services', (req) => {
      mayUse(req);
      const type = req.payload.attrs['type'];
      const listed = services.filter((s) => type === undefined || s.type === type);
      return el('services', { xmlns: NS_EXTDISCO, type }, ...listed.map(serviceElement));
    });

    // §3.3: credentials for one service, named by host and type (and port, when given).
    ctx.iq.get('host', NS_EXTDISCO, 'credentials', (req) => {
      mayUse(req);
      const wanted = req.payload.getChild('service');
      const host = wanted?.attrs['host'];
      const type = wanted?.attrs['type'];
      if (!wanted || !host || !type) throw badRequest("Name the service with its 'host' and 'type'");
      const port = wanted.attrs['port'];
      const found = services.find((s) => s.host === host && s.type === type && (port === undefined || String(s.port) === port));
      if (!found) throw itemNotFound('No such service');
      return el('credentials', { xmlns: NS_EXTDISCO }, serviceElement(found));
    });
  },
});
