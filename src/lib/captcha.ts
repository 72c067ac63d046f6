// An image CAPTCHA made here (XEP-0158 'ocr'), no third-party service: six characters of a
// bitmap font, each at its own random place, width and height, in random dark ink, over a noisy
// background crossed by lines. It stops casual scripts; rate limits and invites stop determined ones.
import { randomInt } from 'node:crypto';
import { CAPTCHA_ALPHABET, GLYPH_HEIGHT, GLYPH_WIDTH, glyph } from './captcha-font.ts';
import { encodePng } from './png.ts';

export const CAPTCHA_WIDTH = 260;
export const CAPTCHA_HEIGHT = 80;
export const CAPTCHA_LENGTH = 6;
/** Each character gets a slot this wide; it is drawn somewhere inside it. */
export const CAPTCHA_SLOT = 40;
const MARGIN = (CAPTCHA_WIDTH - CAPTCHA_LENGTH * CAPTCHA_SLOT) / 2;

export interface Captcha {
  /** The answer, upper case. */
  text: string;
  png: Buffer;
}

class Canvas {
  readonly rgb = new Uint8Array(CAPTCHA_WIDTH * CAPTCHA_HEIGHT * 3);

  set(x: number, y: number, [r, g, b]: readonly number[]): void {
    if (x < 0 || y < 0 || x >= CAPTCHA_WIDTH || y >= CAPTCHA_HEIGHT) return;
    const i = (y * CAPTCHA_WIDTH + x) * 3;
    this.rgb[i] = r ?? 0;
    this.rgb[i + 1] = g ?? 0;
    this.rgb[i + 2] = b ?? 0;
  }

  /** A one-pixel line (Bresenham). */
  line(x0: number, y0: number, x1: number, y1: number, color: readonly number[]): void {
    const dx = Math.abs(x1 - x0);
    const dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1;
    const sy = y0 < y1 ? 1 : -1;
    let err = dx + dy;
    for (;;) {
      this.set(x0, y0, color);
      if (x0 === x1 && y0 === y1) return;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x0 += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y0 += sy;
      }
    }
  }
}

const dark = (): number[] => [randomInt(0, 90), randomInt(0, 90), randomInt(0, 90)];
const light = (): number[] => [randomInt(185, 256), randomInt(185, 256), randomInt(185, 256)];
const any = (): number[] => [randomInt(0, 256), randomInt(0, 256), randomInt(0, 256)];

function randomLine(c: Canvas, color: () => number[]): void {
  c.line(randomInt(0, CAPTCHA_WIDTH), randomInt(0, CAPTCHA_HEIGHT), randomInt(0, CAPTCHA_WIDTH), randomInt(0, CAPTCHA_HEIGHT), color());
}

export function generateCaptcha(): Captcha {
  const c = new Canvas();
  const base = light();
  for (let y = 0; y < CAPTCHA_HEIGHT; y++) {
    for (let x = 0; x < CAPTCHA_WIDTH; x++) c.set(x, y, base.map((v) => Math.min(255, v - 20 + randomInt(0, 30) + ((x + y) >> 4))));
  }
  for (let i = 0; i < 4; i++) randomLine(c, light);
  let text = '';
  for (let i = 0; i < CAPTCHA_LENGTH; i++) {
    const ch = CAPTCHA_ALPHABET[randomInt(0, CAPTCHA_ALPHABET.length)] ?? 'A';
    text += ch;
    const sx = randomInt(3, 5);
    const sy = randomInt(3, 5);
    const w = GLYPH_WIDTH * sx;
    const h = GLYPH_HEIGHT * sy;
    const gx = MARGIN + i * CAPTCHA_SLOT + Math.floor((CAPTCHA_SLOT - w) / 2) + randomInt(-4, 5);
    const gy = randomInt(4, CAPTCHA_HEIGHT - 4 - h + 1);
    const ink = dark();
    glyph(ch).forEach((row, r) =>
      row.forEach((on, col) => {
        if (!on) return;
        for (let y = 0; y < sy; y++) for (let x = 0; x < sx; x++) c.set(gx + col * sx + x, gy + r * sy + y, ink.map((v) => v + randomInt(0, 25)));
      }),
    );
  }
  // Dark lines cross the characters, light ones cut through them; dots of any colour everywhere.
  for (let i = 0; i < 4; i++) randomLine(c, dark);
  for (let i = 0; i < 3; i++) randomLine(c, light);
  for (let i = 0; i < 600; i++) c.set(randomInt(0, CAPTCHA_WIDTH), randomInt(0, CAPTCHA_HEIGHT), any());
  return { text, png: encodePng(CAPTCHA_WIDTH, CAPTCHA_HEIGHT, c.rgb) };
}
