// What the invites module offers besides the InviteService (src/core/invite-service.ts): making
// account invites for the operator's CLI.
export interface CreatedInvite {
  /** The xmpp: URI (XEP-0401 §5), for a client to open. */
  uri: string;
  /** The landing page on the HTTP listener, when there is one. */
  page: string | undefined;
  /** When it expires (ISO 8601). */
  expires: string;
}

export interface InviteIssuer {
  /** An account invite (single use), valid for `lifetimeMs` or the module's `lifetime`, whichever is shorter. */
  createAccountInvite(opts: { lifetimeMs?: number | undefined }): Promise<CreatedInvite>;
}

declare module '../../core/shared.ts' {
  interface SharedMap {
    'invite-issuer': InviteIssuer;
  }
}
