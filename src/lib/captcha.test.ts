import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateCaptcha, CAPTCHA_HEIGHT, CAPTCHA_WIDTH } from './captcha.ts';
import { CAPTCHA_ALPHABET } from './captcha-font.ts';
import { crc32 } from './png.ts';
import { decodePng, solveCaptcha } from '../../test/harness/captcha-solver.ts';

test('CRC-32 of a known string (ISO 3309 check value)', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
});

test('a CAPTCHA is a valid PNG of six unambiguous characters', () => {
  const { text, png } = generateCaptcha();
  assert.match(text, new RegExp(`^[${CAPTCHA_ALPHABET}]{6}$`));
  const img = decodePng(png);
  assert.equal(img.width, CAPTCHA_WIDTH);
  assert.equal(img.height, CAPTCHA_HEIGHT);
});

test('the test-side solver reads at least 99% of 200 CAPTCHAs', () => {
  let solved = 0;
  const misses: string[] = [];
  for (let i = 0; i < 200; i++) {
    const { text, png } = generateCaptcha();
    const read = solveCaptcha(png);
    if (read === text) solved++;
    else misses.push(`${text} read as ${read}`);
  }
  assert.ok(solved >= 198, `solved ${solved}/200: ${misses.join(', ')}`);
});
