import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CaptchaChallenges } from './captcha-challenges.ts';
import { solveCaptcha } from '../../../test/harness/captcha-solver.ts';

test('a challenge takes one answer, in time; the oldest go beyond the bound', () => {
  const c = new CaptchaChallenges(1000, 3);
  const a = c.issue(0);
  const answer = solveCaptcha(a.png);
  assert.equal(c.solve(a.id, 'WRONG1', 1), 'wrong');
  assert.equal(c.solve(a.id, answer, 2), 'unknown', 'a wrong answer used it up');
  const b = c.issue(0);
  assert.equal(c.solve(b.id, solveCaptcha(b.png).toLowerCase(), 1000), 'unknown', 'expired');
  // The solver reads 99%+ of images: a few tries make a misread no reason to fail.
  let solved = false;
  for (let i = 0; i < 3 && !solved; i++) {
    const d = c.issue(0);
    solved = c.solve(d.id, ` ${solveCaptcha(d.png).toLowerCase()} `, 999) === 'right';
  }
  assert.ok(solved, 'the right answer in time, whatever its case and spaces');
  for (let i = 0; i < 5; i++) c.issue(10);
  assert.equal(c.size, 3);
});
