// Tests for the `jabberx audit` scan: markers in every encoding, IP and e-mail shapes, binary
// files, chunk borders, folders, and masked output.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { gzipSync } from 'node:zlib';
import { parseConfigText } from '../core/config.ts';
import { auditPaths, auditTargets, formatFinding, mask, runAudit, type AuditOptions, type Finding } from './audit.ts';

const MARKER = 'Zebra-Quokka-4711';

let dir: string;
let n = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'jabberx-audit-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Writes one file in its own folder and audits that folder. */
async function auditBytes(content: string | Buffer, opts: Partial<AuditOptions> = {}, name = 'f.bin'): Promise<Finding[]> {
  const d = join(dir, `case-${++n}`);
  mkdirSync(d);
  writeFileSync(join(d, name), content);
  return auditPaths([d], { markers: [MARKER], ...opts });
}

/** Deterministic pseudo-random bytes (xorshift32), standing in for encrypted values. */
function noise(length: number, seed = 0x9e3779b9): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

const summary = (fs: Finding[]) => fs.map((f) => [f.kind, f.detail, f.offset]);

describe('markers', () => {
  it('in UTF-8 text, any ASCII case, with the exact byte offset', async () => {
    const fs = await auditBytes(`héllo ${MARKER.toLowerCase()} and ${MARKER}\n`);
    assert.deepEqual(summary(fs), [
      ['marker', 'utf-8', 7],
      ['marker', 'utf-8', 7 + MARKER.length + 5],
    ]);
  });

  it('inside binary data, in UTF-16LE and in base64 at every alignment', async () => {
    const parts = [noise(100), Buffer.from(MARKER, 'utf8'), noise(50, 7), Buffer.from(MARKER, 'utf16le'), noise(50, 8)];
    for (const prefix of ['', 'a', 'ab']) parts.push(Buffer.from(` ${Buffer.from(prefix + MARKER).toString('base64')} `));
    const fs = await auditBytes(Buffer.concat(parts));
    assert.deepEqual(fs.map((f) => f.detail), ['utf-8', 'utf-16le', 'base64', 'base64', 'base64']);
    assert.equal(fs[0]?.offset, 100);
    // A marker whose base64 holds "+" and "/" is also found in the URL-safe alphabet.
    const odd = '<<???>>>~~~';
    assert.match(Buffer.from(odd).toString('base64'), /[+/]/);
    const url = await auditBytes(` ${Buffer.from(odd).toString('base64url')} `, { markers: [odd] });
    assert.deepEqual(url.map((f) => f.detail), ['base64url']);
  });

  it('never repeats the marker: samples are masked', async () => {
    const fs = await auditBytes(`x ${MARKER} y alice@example.org 203.0.113.77`);
    assert.equal(fs.length, 3);
    const printed = JSON.stringify(fs) + fs.map(formatFinding).join('\n');
    for (const secret of [MARKER, 'alice', 'example.org', '203.0.113.77', '113']) assert.ok(!printed.includes(secret), secret);
    assert.deepEqual(fs.map((f) => f.sample), ['Z…1', 'a…g', '2…7']); // in file order
    assert.equal(mask('ab'), '…');
  });

  it('is found once across a chunk border, wherever it falls', async () => {
    const chunk = 1 << 20;
    for (const at of [chunk - 5, chunk - MARKER.length, chunk, chunk + 1, 2 * chunk - 1]) {
      const buf = Buffer.alloc(2 * chunk + 4096, 0x20);
      buf.write(MARKER, at, 'latin1');
      buf.write('198.51.100.23', at + 100, 'latin1');
      const fs = await auditBytes(buf);
      assert.deepEqual(summary(fs), [['marker', 'utf-8', at], ['ip', 'IPv4', at + 100]], `at ${at}`);
    }
  });

  it('rejects markers too short to mean anything', async () => {
    await assert.rejects(auditPaths([dir], { markers: ['ab'] }), RangeError);
  });
});

describe('IP addresses', () => {
  it('IPv4 in text, not version numbers, OIDs or 0.0.0.0', async () => {
    const fs = await auditBytes('peer=192.0.2.1, at 10.0.0.255.\n v1.2.3.4.5 1.3.6.1.4.1.311 256.1.1.1 0.0.0.0 01.02.03.04 2025-01-01\n');
    assert.deepEqual(fs.map((f) => [f.detail, f.offset]), [['IPv4', 5], ['IPv4', 19]]);
  });

  it('IPv6 in text; IPv4-mapped ones once', async () => {
    const text = '{"a":"2001:db8::7","b":"::1","c":"::ffff:192.0.2.9","d":"[fe80::1%eth0]:5222"}';
    const fs = await auditBytes(text);
    assert.deepEqual(fs.map((f) => [f.detail, text.slice(f.offset, f.offset + 4)]), [
      ['IPv6', '2001'],
      ['IPv6', '::1"'],
      ['IPv6', '::ff'],
      ['IPv6', 'fe80'],
    ]);
  });

  it('not times, hashes, MAC addresses or C++ scopes', async () => {
    const fs = await auditBytes('2025-01-01T12:34:56.789Z 12:34:56 std::string a::b::c 00:11:22:33:44:55 AB:CD:EF:01:23:45:67:89:AB:CD deadbeef::\n', { kinds: ['ip'] });
    assert.deepEqual(fs, []);
  });
});

describe('e-mail addresses', () => {
  it('e-mail and JID shapes with a domain; not bare host names', async () => {
    const text = 'to: <Bob.Smith+x@Mail.Example.COM>, jid alice@example.org/phone; user@localhost; @handle; a@b; x@y.z\n';
    const fs = await auditBytes(text);
    assert.deepEqual(fs.map((f) => text.slice(f.offset, f.offset + 9)), ['Bob.Smith', 'alice@exa']);
    assert.ok(fs.every((f) => f.kind === 'email'));
  });
});

describe('binary data', () => {
  it('4 MiB of random bytes (like encrypted values) yield nothing', async () => {
    const fs = await auditBytes(noise(4 << 20, 12345), { markers: [MARKER] });
    assert.deepEqual(fs, []);
  });

  it('finds plaintext in a SQLite database file', async () => {
    const d = join(dir, 'sqlite');
    mkdirSync(d);
    const db = new DatabaseSync(join(d, 'x.sqlite'));
    db.exec('CREATE TABLE t (k TEXT, v BLOB)');
    db.prepare('INSERT INTO t VALUES (?, ?)').run('roster:carol@example.net', Buffer.from(`{"name":"${MARKER}","ip":"203.0.113.5"}`));
    db.prepare('INSERT INTO t VALUES (?, ?)').run('sealed', noise(20_000));
    db.close();
    const fs = await auditPaths([d], { markers: [MARKER] });
    assert.deepEqual(fs.map((f) => [f.kind, f.detail]).sort(), [['email', 'e-mail or JID'], ['ip', 'IPv4'], ['marker', 'utf-8']]);
  });

  it('scans the content of gzipped logs', async () => {
    const fs = await auditBytes(gzipSync(`{"msg":"${MARKER}"}\n`), {}, 'old.log.gz');
    assert.deepEqual(summary(fs), [['marker', 'utf-8, gzip', 8]]);
  });
});

describe('options and file handling', () => {
  it('kinds, allow and the per-file cap', async () => {
    const text = `${MARKER} 192.0.2.1 192.0.2.2 a@example.org 127.0.0.1\n`;
    assert.deepEqual((await auditBytes(text, { kinds: ['marker'] })).map((f) => f.kind), ['marker']);
    assert.deepEqual((await auditBytes(text, { kinds: ['ip'], allow: ['127.0.0.1'] })).length, 2);
    assert.equal((await auditBytes(text, { maxPerFile: 2 })).length, 2);
  });

  it('walks folders, reports each file once, skips links, sockets and missing paths', async () => {
    const d = join(dir, 'tree');
    mkdirSync(join(d, 'sub', 'deeper'), { recursive: true });
    writeFileSync(join(d, 'a.log'), `${MARKER}\n`);
    writeFileSync(join(d, 'sub', 'deeper', 'b.db'), `x 192.0.2.4 y`);
    writeFileSync(join(d, 'clean.txt'), 'nothing to see\n');
    symlinkSync(join(d, 'a.log'), join(d, 'link.log'));
    const sock = join(d, 'control.sock');
    const server = net.createServer();
    await new Promise<void>((res) => server.listen(sock, res));
    try {
      const skipped: [string, string][] = [];
      const fs = await auditPaths([d, join(d, 'a.log'), join(d, 'missing.log')], { markers: [MARKER], onSkip: (p, why) => skipped.push([p, why]) });
      assert.deepEqual(fs.map((f) => [f.file, f.kind]), [[join(d, 'a.log'), 'marker'], [join(d, 'sub', 'deeper', 'b.db'), 'ip']]);
      assert.deepEqual(skipped, [
        [sock, 'socket'],
        [join(d, 'link.log'), 'symbolic link, not followed'],
        [join(d, 'missing.log'), 'does not exist'],
      ]);
    } finally {
      await new Promise<void>((res) => server.close(() => res()));
    }
  });
});

describe('runAudit and auditTargets', () => {
  it('scans the data dir, the database side files and the log; exit code 1 when anything is found', async () => {
    const base = join(dir, 'server');
    mkdirSync(join(base, 'data'), { recursive: true });
    const config = parseConfigText('data_dir: data\nlog: { file: ../logs/jabberx.log }\nstorage: { path: /elsewhere/db.sqlite }\n', base, { knownModules: [], defaultModules: [] });
    assert.deepEqual(auditTargets(config), [
      join(base, 'data'),
      '/elsewhere/db.sqlite',
      '/elsewhere/db.sqlite-wal',
      '/elsewhere/db.sqlite-shm',
      '/elsewhere/db.sqlite-journal',
      join(base, 'logs', 'jabberx.log'),
    ]);
    const lines: string[] = [];
    assert.equal(await runAudit(config, [MARKER], (l) => lines.push(l)), 0);
    assert.deepEqual(lines, ['audit: nothing found']);

    writeFileSync(join(base, 'data', 'debug.log'), `{"peer":"198.51.100.9","body":"${MARKER}"}\n`);
    lines.length = 0;
    assert.equal(await runAudit(config, [MARKER], (l) => lines.push(l)), 1);
    assert.equal(lines.length, 3);
    assert.match(lines[0] ?? '', /debug\.log: ip \(IPv4\) at byte 9: 1…9$/);
    assert.match(lines[1] ?? '', /debug\.log: marker \(utf-8\) at byte 31: Z…1$/);
    assert.equal(lines[2], 'audit: 2 finding(s) in 1 file(s)');
  });
});
