// The operator's documents point only at files and README sections that exist (issue 13:
// jabberx.example.yml pointed at a docs/configuration.md that never existed).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/paths.ts';

/** Files an example tells the reader to write: named, not meant to exist. */
const EXAMPLE_FILES = new Set(['src/storage/postgres.test.ts']);

const DOCUMENTS = ['jabberx.example.yml', 'README.md', 'docs/encryption.md', 'docs/extending.md', 'docs/xml-parser.md'];

describe('documentation references', () => {
  for (const doc of DOCUMENTS) {
    it(`${doc} names only files that exist`, () => {
      const text = readFileSync(join(REPO_ROOT, doc), 'utf8');
      const named = [...text.matchAll(/(?<![\w/.-])((?:docs|bench|test|src|scripts|contrib|man)\/[\w./-]*\w\.(?:md|ts|yml|js|service|conf|local|1)|[\w-]+\.md)\b/g)].map((m) => m[1] ?? '');
      for (const path of new Set(named)) if (!EXAMPLE_FILES.has(path)) assert.ok(existsSync(join(REPO_ROOT, path)), `${doc} refers to ${path}, which does not exist`);
    });
  }

  it('README links only to its own sections that exist', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    // GitHub's anchors: the heading lower-cased, punctuation dropped, spaces as hyphens.
    const anchors = new Set([...readme.matchAll(/^#+ (.+)$/gm)].map((m) => (m[1] ?? '').toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-')));
    const links = [...readme.matchAll(/\]\(#([\w-]+)\)/g)].map((m) => m[1] ?? '');
    assert.ok(links.length > 0);
    for (const l of links) assert.ok(anchors.has(l), `README links to #${l}, which is no heading`);
  });

  it('option descriptions name README sections that exist', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const docs = readFileSync(join(REPO_ROOT, 'src', 'core', 'config.ts'), 'utf8');
    for (const [, section] of docs.matchAll(/README: "([^"]+)"/g)) assert.match(readme, new RegExp(`^#+ ${section ?? ''}$`, 'm'), `no README section "${section ?? ''}"`);
  });

  it('jabberx.example.yml names README sections that exist', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const example = readFileSync(join(REPO_ROOT, 'jabberx.example.yml'), 'utf8').replace(/\n# /g, ' ');
    const sections = [...example.matchAll(/README\.md, section "([^"]+)"/g)].map((m) => m[1] ?? '');
    assert.ok(sections.length > 0);
    for (const s of sections) assert.match(readme, new RegExp(`^#+ ${s}$`, 'm'), `no README section "${s}"`);
  });
});
