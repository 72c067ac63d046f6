// Sends mail through the operator's SMTP server (nodemailer). Errors are reported by code only:
// an SMTP reply can quote the recipient's address, which must never reach a log.
import nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';

export interface SmtpSettings {
  host: string;
  port: number;
  /** starttls: upgrade required (submission, 587); tls: TLS from the first byte (465); none: plain (a relay on the same machine). */
  tls: 'starttls' | 'tls' | 'none';
  user: string;
  password: string;
  from: string;
}

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

export class MailError extends Error {
  /** nodemailer's error code (e.g. ECONNECTION, EAUTH) and the SMTP reply code, without the reply text. */
  readonly code: string;
  constructor(code: string) {
    super(`mail not sent (${code})`);
    this.code = code;
  }
}

export class Mailer {
  readonly #transport: Transporter<SMTPTransport.SentMessageInfo>;
  readonly #from: string;

  constructor(s: SmtpSettings) {
    this.#from = s.from;
    this.#transport = nodemailer.createTransport({
      host: s.host,
      port: s.port,
      secure: s.tls === 'tls',
      requireTLS: s.tls === 'starttls',
      ignoreTLS: s.tls === 'none',
      ...(s.user ? { auth: { user: s.user, pass: s.password } } : {}),
      connectionTimeout: 30_000,
      greetingTimeout: 30_000,
      socketTimeout: 60_000,
      logger: false,
    });
  }

  async send(mail: Mail): Promise<void> {
    try {
      await this.#transport.sendMail({ from: this.#from, to: mail.to, subject: mail.subject, text: mail.text });
    } catch (err) {
      const e = err as { code?: unknown; responseCode?: unknown };
      throw new MailError([e.code, e.responseCode].filter((x) => x !== undefined).map(String).join(' ') || 'unknown');
    }
  }

  close(): void {
    this.#transport.close();
  }
}
