// What a stream needs from a socket (RFC 6120 §4 over TCP, §5 STARTTLS, XEP-0368 direct TLS).
// Transports own framing and TLS; the stream owns negotiation.

export type ChannelBindingType = 'tls-exporter' | 'tls-server-end-point' | 'tls-unique';

export interface XmlTransport {
  /** TLS is established. */
  readonly secure: boolean;
  /** STARTTLS can still be offered on this connection. */
  readonly canStartTls: boolean;
  /** The SNI name the client asked for, if any. */
  readonly serverName: string | undefined;
  /** Writes serialized XML; false means the socket buffer is full (wait for drain). */
  write(data: string): boolean;
  /** Upgrades the socket to TLS (after <proceed/> was written). */
  startTls(host: string): Promise<void>;
  /** The channel-binding types this TLS session can supply, cheaply (no data is computed). */
  channelBindingTypes(): ChannelBindingType[];
  /** Channel-binding data for SCRAM -PLUS, or undefined when this TLS session can't supply that type. */
  channelBinding(type: ChannelBindingType): Buffer | undefined;
  /** The TLS protocol version, e.g. 'TLSv1.3'. */
  tlsVersion(): string | undefined;
  /** The peer address: only for brute-force throttling and blocks, never logged or stored. */
  readonly peerAddress: string | undefined;
  /** Buffered bytes not yet sent. */
  readonly pendingBytes: number;
  /** Ends the connection after queued data is flushed. */
  end(): void;
  destroy(): void;
  onData(cb: (chunk: Buffer) => void): void;
  onClose(cb: () => void): void;
  onDrain(cb: () => void): void;
  pause(): void;
  resume(): void;
}
