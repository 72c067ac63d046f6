// `jabberx export USER@HOST` and `jabberx import FILE...`: accounts in XEP-0227 documents, on the
// running server (control socket) or a stopped one. The CLI reads the files as a stream and hands
// the server one <user/> element at a time, so any file size stays in bounded memory.
import { createReadStream, closeSync, fchmodSync, openSync, readdirSync, statSync, writeSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import type { ServerConfig } from '../core/config.ts';
import { PieFormatError, readPie, type PieItem } from '../operations/pie-reader.ts';
import type { ExistingAccounts } from '../operations/portable.ts';
import { account, withAccounts } from './accounts.ts';
import type { Command } from './command.ts';
import { DataError, UsageError } from './errors.ts';

/** `export USER@HOST [--output FILE]`: stdout by default; a file is created readable by its owner only. */
export const exportAccount: Command = async ({ values, rest, config }) => {
  const cfg = config();
  const { host, user } = account(cfg, rest[0]);
  const xml = await withAccounts(cfg, (run) => run('export-user', { host, user }));
  if (values.output === undefined) {
    process.stdout.write(xml);
    return 0;
  }
  const fd = openSync(values.output, 'w', 0o600);
  try {
    // An existing file keeps its mode on open: made private all the same.
    fchmodSync(fd, 0o600);
    writeSync(fd, xml);
  } finally {
    closeSync(fd);
  }
  process.stdout.write(`exported ${user}@${host} to ${values.output}\n`);
  return 0;
};

/** `--host H` (every host of the files goes to H) or `--host FROM=TO` (repeatable). */
function hostMapping(cfg: ServerConfig, flags: readonly string[]): (fileHost: string) => string | undefined {
  let all: string | undefined;
  const pairs = new Map<string, string>();
  for (const f of flags) {
    const eq = f.indexOf('=');
    const to = eq < 0 ? f : f.slice(eq + 1);
    if (!cfg.hosts.has(to)) throw new UsageError(`--host ${f}: ${to} is not a host of this server (hosts: ${[...cfg.hosts.keys()].join(', ')})`);
    if (eq < 0) all = to;
    else pairs.set(f.slice(0, eq), to);
  }
  return (fileHost) => pairs.get(fileHost) ?? all ?? (cfg.hosts.has(fileHost) ? fileHost : undefined);
}

/** The files named: a directory stands for its *.xml files (Prosody's xep227 store writes one per user). */
function inputFiles(args: readonly string[]): string[] {
  if (args.length === 0) throw new UsageError('expected FILE (a XEP-0227 document, or a directory of them)');
  const out: string[] = [];
  for (const a of args) {
    let st;
    try {
      st = statSync(a);
    } catch (e) {
      throw new UsageError(`${a}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    if (st.isDirectory()) out.push(...readdirSync(a).filter((n) => n.endsWith('.xml')).sort().map((n) => join(a, n)));
    else out.push(a);
  }
  return out;
}

/** Items of a file and of the files it includes (ejabberd's main file), each with the file it came from. */
async function* itemsOf(file: string, nested = false): AsyncGenerator<{ file: string; item: PieItem }> {
  try {
    for await (const item of readPie(createReadStream(file))) {
      if (item.kind !== 'include') {
        yield { file, item };
        continue;
      }
      // Included files sit beside the main one; nothing outside that folder is read.
      const target = normalize(item.href);
      if (nested || isAbsolute(target) || target.startsWith('..')) throw new PieFormatError(`line ${item.line}: <xi:include href="${item.href}"/> must name a file beside this one`);
      yield* itemsOf(join(dirname(file), target), true);
    }
  } catch (e) {
    if (e instanceof PieFormatError) throw new DataError(`${file}: ${e.message}`);
    if ((e as NodeJS.ErrnoException).code !== undefined) throw new DataError(`${file}: ${(e as Error).message}`);
    throw e;
  }
}

/** `import FILE... [--host H|FROM=TO]... [--overwrite|--skip-existing]`. */
export const importAccounts: Command = async ({ values, rest, config }) => {
  const cfg = config();
  if (values.overwrite && values['skip-existing']) throw new UsageError('--overwrite and --skip-existing exclude each other');
  const existing: ExistingAccounts = values.overwrite ? 'overwrite' : values['skip-existing'] ? 'skip' : 'refuse';
  const mapHost = hostMapping(cfg, values.host ?? []);
  const files = inputFiles(rest);
  // A whole first reading: a malformed or foreign file imports nothing at all.
  for (const f of files) for await (const _ of itemsOf(f));

  let imported = 0;
  let skipped = 0;
  let failed = 0;
  const say = (line: string) => process.stderr.write(`${line}\n`);
  await withAccounts(cfg, async (run) => {
    for (const f of files) {
      for await (const { file, item } of itemsOf(f)) {
        if (item.kind === 'include') continue;
        const name = item.kind === 'user' ? item.user.attrs['name'] : item.name;
        const where = `${file}:${item.line}: ${name ?? '(no name)'}@${item.host}`;
        if (item.kind === 'skipped') {
          failed++;
          say(`failed ${where}: ${item.reason}`);
          continue;
        }
        const host = mapHost(item.host);
        if (host === undefined) {
          failed++;
          say(`skipped ${where}: ${item.host} is not a host of this server (map it with --host ${item.host}=HOST)`);
          continue;
        }
        try {
          const r = await run('import-user', { host, xml: item.user.toString(), existing });
          if (r.outcome === 'imported') {
            imported++;
            process.stdout.write(`imported ${r.account}\n`);
          } else {
            skipped++;
            say(`skipped ${r.account}: ${r.reason}`);
          }
        } catch (e) {
          failed++;
          say(`failed ${where}: ${(e as Error).message}`);
        }
      }
    }
  });
  process.stdout.write(`imported ${imported} account(s)${skipped ? `, skipped ${skipped}` : ''}${failed ? `, ${failed} not imported` : ''}\n`);
  return failed > 0 ? 1 : 0;
};
