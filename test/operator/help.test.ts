// `jabberx help [COMMAND]` and `COMMAND --help` (issue 13): every command prints its own usage,
// options, examples and exit codes; the global usage lists every command.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HELP, exitCodes } from '../../src/cli/help.ts';
import { jabberx } from '../harness/cli.ts';
import { REPO_ROOT } from '../harness/paths.ts';

/** The commands src/main.ts dispatches (its COMMANDS map), read from its source. */
const dispatched = [...readFileSync(join(REPO_ROOT, 'src', 'main.ts'), 'utf8').matchAll(/^ {2}\['([a-z-]+)', /gm)].map((m) => m[1] ?? '');

describe('help', () => {
  it('exists for every command the CLI dispatches', () => {
    assert.ok(dispatched.length >= 14, `found ${dispatched.join(', ')}`);
    for (const c of dispatched) assert.ok(HELP.has(c), `no help for ${c}`);
  });

  it('jabberx help and --help print the global usage listing every command', async () => {
    for (const args of [['help'], ['--help']]) {
      const r = await jabberx(args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Usage: jabberx <command>/m);
      for (const c of HELP.keys()) assert.match(r.stdout, new RegExp(`^ {2}${c}\\b`, 'm'), `${c} missing from ${args.join(' ')}`);
    }
    const none = await jabberx([]);
    assert.equal(none.code, 64);
  });

  for (const name of HELP.keys()) {
    it(`jabberx help ${name} and ${name} --help print its usage, options, examples and exit codes`, async () => {
      const viaHelp = await jabberx(['help', name]);
      assert.equal(viaHelp.code, 0, viaHelp.stderr);
      assert.match(viaHelp.stdout, new RegExp(`^Usage: jabberx ${name}\\b`));
      assert.match(viaHelp.stdout, /\nExamples:\n {2}jabberx /);
      assert.match(viaHelp.stdout, /\nExit codes:\n {2}0 +success\n/);
      assert.match(viaHelp.stdout, /\n {2}64 +usage error/);
      // Every code the command documents (test/operator/exit-codes.test.ts makes each one happen).
      for (const [code, meaning] of exitCodes(name)) assert.ok(viaHelp.stdout.includes(`\n  ${String(code).padEnd(4)}${meaning}\n`), `${name}: exit ${code}`);
      assert.equal(exitCodes(name).some(([c]) => c === 78), name !== 'help', 'every command but help reads the configuration');
      if (name !== 'help') assert.match(viaHelp.stdout, /\nOptions:\n(.*\n)* {2}--config FILE /);
      assert.doesNotMatch(viaHelp.stdout, /^Commands:/m, 'not the global usage');
      if (name === 'help') return;
      // --help never runs the command (start would start a server, adduser would prompt).
      const viaFlag = await jabberx([name, '--help'], { timeoutMs: 10_000 });
      assert.equal(viaFlag.code, 0, viaFlag.stderr);
      assert.equal(viaFlag.stdout, viaHelp.stdout);
    });
  }

  it('refuses help for an unknown command (exit 64)', async () => {
    const r = await jabberx(['help', 'frobnicate']);
    assert.equal(r.code, 64);
    assert.match(r.stderr, /^jabberx: unknown command "frobnicate" \(see jabberx help\)/);
  });
});
