// What a test gives a stock command-line client (go-sendxmpp, profanity) to log in with.
export interface StockClientAccount {
  /** Bare JID of the account. */
  jid: string;
  password: string;
  /** The server's c2s_starttls port, or its c2s_direct_tls port with `directTls`. */
  port: number;
  /** XEP-0368 direct TLS instead of STARTTLS. */
  directTls?: boolean;
  /** The address the client connects to. Default 127.0.0.1. */
  host?: string;
  /**
   * Trust the test CA (default true). False runs it with a trust store lacking the test CA, as
   * on a machine that never heard of it: the connection must then fail verification.
   */
  trustTestCa?: boolean;
}
