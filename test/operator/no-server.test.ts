// Commands that act on the running server only (status, debug, throttle), run when none runs
// (issue 13): one readable line naming the data directory, exit 69 (EX_UNAVAILABLE), no stack
// trace, nothing created.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jabberx } from '../harness/cli.ts';

const NEEDS_SERVER = [['status'], ['debug', 'status'], ['debug', 'on', '--for', '1h'], ['debug', 'off'], ['throttle', 'list'], ['throttle', 'clear', 'alice@localhost'], ['throttle', 'clear', '192.0.2.1']];

describe('commands that need a running server, when none runs', () => {
  let root: string;
  let config: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'jabberx-noserver-'));
    config = join(root, 'jabberx.yml');
    writeFileSync(config, 'data_dir: ./data\n');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  for (const args of NEEDS_SERVER) {
    it(`jabberx ${args.join(' ')}: one line, exit 69`, async () => {
      const r = await jabberx([...args, '--config', config]);
      assert.equal(r.code, 69, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, new RegExp(`^jabberx: no server is running on ${join(root, 'data').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\([^\\n]+\\)\\n$`));
      assert.deepEqual(readdirSync(root), ['jabberx.yml'], 'nothing created');
    });
  }
});
