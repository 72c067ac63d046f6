// Test harness: Debian's profanity, a stock terminal XMPP client on libstrophe (C, OpenSSL), driven
// as a person drives it: keys typed into a detached tmux session, the screen read back with
// capture-pane. Each instance has its own HOME (a fresh configuration) holding its own tmux
// server socket, so cleanup ends only what the test started and leaves no file behind. It trusts
// the test CA through OpenSSL's SSL_CERT_FILE, like a system CA: no certificate question comes up
// and `/tls always` (which would accept an unverified certificate for good) is never typed.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { until } from './eventually.ts';
import { TEST_CA_FILE } from './test-ca.ts';
import type { StockClientAccount } from './stock-client.ts';

const execFileAsync = promisify(execFile);
const PROFANITY = process.env['JABBERX_PROFANITY'] ?? 'profanity';
const TMUX = process.env['JABBERX_TMUX'] ?? 'tmux';

/** Why profanity cannot run here, or undefined when it can (for `{ skip }` in tests). */
export function profanityUnavailable(): string | undefined {
  for (const [bin, pkg, flag] of [
    [PROFANITY, 'profanity', '--version'],
    [TMUX, 'tmux', '-V'],
  ] as const) {
    const r = spawnSync(bin, [flag], { encoding: 'utf8' });
    if (r.error) return `${bin} not found (apt-get install ${pkg}): ${r.error.message}`;
  }
  return undefined;
}

/** The account; direct TLS is profanity's `tls legacy`, STARTTLS its `tls force`. */
export interface ProfanityOptions extends StockClientAccount {
  /** `profanity -l DEBUG`: its log (log()) then holds every stanza libstrophe sends and receives. */
  debugLog?: boolean;
}

/** The HOME of every instance still open: its tmux server is killed if the runner exits first. */
const liveHomes = new Set<string>();
process.once('exit', () => {
  for (const home of liveHomes) {
    spawnSync(TMUX, ['-S', join(home, 'tmux.sock'), 'kill-server'], { stdio: 'ignore' });
    rmSync(home, { recursive: true, force: true });
  }
});

export class Profanity {
  readonly opts: ProfanityOptions;
  readonly home: string;
  readonly #socket: string;
  readonly #target = 'profanity';
  #closed = false;

  private constructor(opts: ProfanityOptions, home: string, socket: string) {
    this.opts = opts;
    this.home = home;
    this.#socket = socket;
  }

  /** Starts profanity in a detached 200x50 tmux session; it is ended when `t` ends. */
  static async start(t: TestContext | undefined, opts: ProfanityOptions): Promise<Profanity> {
    const home = mkdtempSync(join(tmpdir(), 'jabberx-profanity-'));
    const socket = join(home, 'tmux.sock');
    const p = new Profanity(opts, home, socket);
    liveHomes.add(home);
    t?.after(() => p.close());
    const bundle = opts.trustTestCa === false ? join(home, 'no-such-bundle.pem') : TEST_CA_FILE;
    // env(1) sets the client's environment whatever the tmux server inherited (XDG dirs included,
    // so two instances never share accounts or OMEMO keys); SSL_CERT_DIR is emptied so only the
    // bundle decides what OpenSSL trusts.
    const command = ['env', `HOME=${home}`, `XDG_CONFIG_HOME=${join(home, '.config')}`, `XDG_DATA_HOME=${join(home, '.local', 'share')}`, `SSL_CERT_FILE=${bundle}`, `SSL_CERT_DIR=${home}`, 'TERM=tmux-256color', PROFANITY, ...(opts.debugLog ? ['-l', 'DEBUG'] : [])].map(shellQuote).join(' ');
    try {
      await p.#tmux(['new-session', '-d', '-s', p.#target, '-x', '200', '-y', '50', command]);
      // Keep the pane after an exit, so a crash stays readable on the screen.
      await p.#tmux(['set-option', '-t', p.#target, 'remain-on-exit', 'on']);
      await p.waitForText('Type /help for help information', 10_000);
    } catch (e) {
      const screen = await p.screen().catch(() => '');
      await p.close();
      throw new Error(`profanity did not start: ${(e as Error).message}\n${screen}`, { cause: e });
    }
    return p;
  }

  async #tmux(args: string[]): Promise<string> {
    const { stdout } = await execFileAsync(TMUX, ['-S', this.#socket, ...args], { encoding: 'utf8', env: { ...process.env, TMUX: '' } });
    return stdout;
  }

  /** The current window's screen and scrollback, wrapped lines joined. */
  async screen(): Promise<string> {
    return this.#tmux(['capture-pane', '-p', '-J', '-S', '-2000', '-t', this.#target]);
  }

  /** Profanity's own log file (XDG data dir under this HOME); empty when not written yet. */
  log(): string {
    try {
      return readFileSync(join(this.home, '.local', 'share', 'profanity', 'logs', 'profanity.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Polls the screen until it contains `text` (or matches it); fails with the screen. */
  async waitForText(text: string | RegExp, timeoutMs = 10_000): Promise<string> {
    let last = '';
    const seen = (): boolean => (typeof text === 'string' ? last.includes(text) : text.test(last));
    try {
      await until(`profanity to show ${String(text)}`, async () => seen() || ((last = await this.screen()), seen()), timeoutMs, 100);
    } catch (e) {
      throw new Error(`${(e as Error).message}; the screen:\n${last.replace(/\s+\n/g, '\n').trim()}`, { cause: e });
    }
    return last;
  }

  /** Types `line` literally and presses Enter. */
  async type(line: string): Promise<void> {
    await this.#tmux(['send-keys', '-t', this.#target, '-l', '--', line]);
    await this.#tmux(['send-keys', '-t', this.#target, 'Enter']);
  }

  /**
   * `/connect jid server H port N tls force|legacy`, the password at its prompt, then waits for
   * "logged in successfully". Rejects with the screen if a certificate question or an error shows.
   */
  async connect(timeoutMs = 15_000): Promise<void> {
    const o = this.opts;
    await this.type(`/connect ${o.jid} server ${o.host ?? '127.0.0.1'} port ${String(o.port)} tls ${o.directTls ? 'legacy' : 'force'}`);
    await this.waitForText('Enter password:', 5000);
    await this.type(o.password);
    const screen = await this.waitForText(/logged in successfully|TLS certificate verification failed|Login failed|Connection failed|disconnected/i, timeoutMs);
    if (!/logged in successfully/.test(screen)) throw new Error(`profanity did not log in:\n${screen.replace(/\s+\n/g, '\n').trim()}`);
  }

  /** `/msg jid text`: opens (or switches to) the chat window with `jid` and sends `text`. */
  async sendMessage(jid: string, text: string): Promise<void> {
    await this.type(`/msg ${jid} ${text}`);
  }

  /** `/msg jid`: switches to the chat window with `jid`, where its messages show. */
  async openChat(jid: string): Promise<void> {
    await this.type(`/msg ${jid}`);
  }

  /**
   * `/join room nick NICK` (XEP-0045): waits for profanity's "You have joined the room as NICK";
   * the room's window is then the current one.
   */
  async joinRoom(room: string, nick: string, timeoutMs = 10_000): Promise<void> {
    await this.type(`/join ${room} nick ${nick}`);
    await this.waitForText(`You have joined the room as ${nick}`, timeoutMs);
  }

  /** Waits until the room's window shows `text` from `nick` (profanity prints "nick: text"). */
  async waitForRoomMessage(room: string, nick: string, text: string, timeoutMs = 10_000): Promise<void> {
    await this.openRoom(room);
    await this.waitForText(`${nick}: ${text}`, timeoutMs);
  }

  /** Switches to the room's window (`/win room`) and types `text` there, sent as groupchat. */
  async sendRoomMessage(room: string, text: string): Promise<void> {
    await this.openRoom(room);
    await this.type(text);
  }

  /** `/win room`: the room's window becomes current, so screen() shows its messages. */
  async openRoom(room: string): Promise<void> {
    await this.type(`/win ${room}`);
  }

  /** `/quit`, then waits for the process to end; close() still runs afterwards. */
  async quit(timeoutMs = 5000): Promise<void> {
    await this.type('/quit');
    await until('profanity to exit', async () => (await this.#tmux(['list-panes', '-t', this.#target, '-F', '#{pane_dead}'])).trim() === '1', timeoutMs, 100);
  }

  /** Kills this instance's tmux server (and profanity with it) and removes its HOME; never throws. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#tmux(['kill-server']).catch(() => undefined);
    liveHomes.delete(this.home);
    rmSync(this.home, { recursive: true, force: true });
  }
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
