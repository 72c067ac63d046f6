// What a stream needs from a connection (RFC 6120 §4 over TCP, §5 STARTTLS, XEP-0368 direct TLS;
// RFC 7395 WebSocket and XEP-0206 BOSH frame the same elements differently). Transports own the
// framing, the XML parser and TLS; the stream (src/core/stream/) owns negotiation.
import type { Element } from './xml/element.ts';
import type { StreamError } from './errors.ts';

export type ChannelBindingType = 'tls-exporter' | 'tls-server-end-point' | 'tls-unique';

/** What the transport's parser reports, in order. */
export interface TransportEvents {
  /** The peer opened (or, after a restart, reopened) the stream. */
  streamStart(attrs: Record<string, string>, name: string): void;
  /** A complete top-level element (stanza or nonza). */
  element(e: Element): void;
  /** The peer closed its stream. */
  streamEnd(): void;
  /** The input broke the framing rules (not well-formed, too large...): the stream must end. */
  error(err: StreamError): void;
  /** Input that carried no element (whitespace keepalives, partial data): the peer is alive. */
  activity(): void;
}

export interface ElementTransport {
  /** TLS is established (or, for direct TLS, being established before any input). */
  readonly secure: boolean;
  /** STARTTLS can still be offered on this connection. */
  readonly canStartTls: boolean;
  /** The peer address: only for brute-force throttling, admission and blocks, never logged or stored. */
  readonly peerAddress: string | undefined;
  /** Bytes accepted for sending but not yet sent. */
  readonly pendingBytes: number;
  /** Starts delivering events; called once, by the stream. */
  attach(events: TransportEvents): void;
  /** Opens our side of the stream with these attributes (TCP: the <stream:stream> header). */
  openStream(attrs: Record<string, string>): void;
  /**
   * Sends one element (`serialized`: its text, when the caller already has it); false means the
   * socket buffer is full (wait for drain).
   */
  send(e: Element, serialized?: string): boolean;
  /** Ends our side of the stream, with a stream error first if given (RFC 6120 §4.9). */
  closeStream(error?: StreamError): void;
  /** The peer will send a new stream header (after STARTTLS or SASL success, RFC 6120 §4.3.3). */
  restart(): void;
  /** The stanza size limit of the parser from now on (small before authentication). */
  setMaxStanzaSize(bytes: number): void;
  /**
   * Upgrades to TLS: as the server (after <proceed/> was sent) with the host's certificate, or as
   * the client of an outgoing stream, verifying that the peer's certificate names `host`.
   */
  startTls(host: string, role?: 'server' | 'client'): Promise<void>;
  /** The channel-binding types this TLS session can supply, cheaply (no data is computed). */
  channelBindingTypes(): ChannelBindingType[];
  /** Channel-binding data for SCRAM -PLUS, or undefined when this TLS session can't supply that type. */
  channelBinding(type: ChannelBindingType): Buffer | undefined;
  /** Ends the connection after queued data is flushed. */
  end(): void;
  destroy(): void;
  onClose(cb: () => void): void;
  onDrain(cb: () => void): void;
  /** Stops and restarts reading input (backpressure). */
  pause(): void;
  resume(): void;
}
