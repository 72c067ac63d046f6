// Test side: reads a JabberX CAPTCHA PNG back, knowing its font and layout, so registration tests
// run the whole XEP-0158 flow. It proves the image is the answer, not that the image is strong.
import { inflateSync } from 'node:zlib';
import { CAPTCHA_ALPHABET, GLYPH_HEIGHT, GLYPH_WIDTH, glyph } from '../../src/lib/captcha-font.ts';
import { CAPTCHA_LENGTH, CAPTCHA_SLOT } from '../../src/lib/captcha.ts';

interface Image {
  width: number;
  height: number;
  /** RGB, 3 bytes a pixel. */
  rgb: Uint8Array;
}

/** Decodes an 8-bit RGB, non-interlaced PNG (any filter types). */
export function decodePng(png: Buffer): Image {
  let pos = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (pos < png.length) {
    const len = png.readUInt32BE(pos);
    const type = png.toString('latin1', pos + 4, pos + 8);
    const data = png.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[9] !== 2 || data[12] !== 0) throw new Error('decodePng: only 8-bit RGB, not interlaced');
    } else if (type === 'IDAT') idat.push(data);
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 3;
  const rgb = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i] ?? 0;
      const a = i >= 3 ? (rgb[y * stride + i - 3] ?? 0) : 0;
      const b = y > 0 ? (rgb[(y - 1) * stride + i] ?? 0) : 0;
      const c = i >= 3 && y > 0 ? (rgb[(y - 1) * stride + i - 3] ?? 0) : 0;
      let v = x;
      if (filter === 1) v = x + a;
      else if (filter === 2) v = x + b;
      else if (filter === 3) v = x + ((a + b) >> 1);
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v = x + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      }
      rgb[y * stride + i] = v & 0xff;
    }
  }
  return { width, height, rgb };
}

/**
 * Reads the six characters: in each slot, the glyph, size and place that best explain the dark
 * pixels (thin lines and dots removed when counting what a placement leaves out).
 */
export function solveCaptcha(png: Buffer): string {
  const { width, height, rgb } = decodePng(png);
  const ink = new Uint8Array(width * height);
  for (let i = 0; i < width * height; i++) {
    const lum = 0.299 * (rgb[i * 3] ?? 0) + 0.587 * (rgb[i * 3 + 1] ?? 0) + 0.114 * (rgb[i * 3 + 2] ?? 0);
    ink[i] = lum < 128 ? 1 : 0;
  }
  const at = (a: Uint8Array, x: number, y: number) => (x < 0 || y < 0 || x >= width || y >= height ? 0 : (a[y * width + x] ?? 0));
  // Opening with a 2x2 square: one-pixel lines and dots go, strokes three pixels wide stay.
  const eroded = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) eroded[y * width + x] = at(ink, x, y) & at(ink, x + 1, y) & at(ink, x, y + 1) & at(ink, x + 1, y + 1);
  const opened = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) opened[y * width + x] = at(eroded, x, y) | at(eroded, x - 1, y) | at(eroded, x, y - 1) | at(eroded, x - 1, y - 1);
  // Summed-area tables, for the ink in any rectangle.
  const table = (a: Uint8Array) => {
    const sat = new Float64Array((width + 1) * (height + 1));
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        sat[(y + 1) * (width + 1) + x + 1] = at(a, x, y) + (sat[y * (width + 1) + x + 1] ?? 0) + (sat[(y + 1) * (width + 1) + x] ?? 0) - (sat[y * (width + 1) + x] ?? 0);
      }
    }
    const clampX = (v: number) => Math.max(0, Math.min(width, v));
    const clampY = (v: number) => Math.max(0, Math.min(height, v));
    const s = (x: number, y: number) => sat[clampY(y) * (width + 1) + clampX(x)] ?? 0;
    return (x0: number, y0: number, x1: number, y1: number): number => s(x1, y1) - s(x0, y1) - s(x1, y0) + s(x0, y0);
  };
  const rawSum = table(ink);
  const openedSum = table(opened);
  const inkIn = (x0: number, y0: number, w: number, h: number): number => rawSum(x0, y0, x0 + w, y0 + h) / (w * h);
  const glyphs = [...CAPTCHA_ALPHABET].map((c) => ({ c, bits: glyph(c) }));
  const margin = (width - CAPTCHA_LENGTH * CAPTCHA_SLOT) / 2;
  let answer = '';
  for (let slot = 0; slot < CAPTCHA_LENGTH; slot++) {
    const left = margin + slot * CAPTCHA_SLOT;
    const inSlot = openedSum(left, 0, left + CAPTCHA_SLOT, height);
    let best = { c: '?', score: Infinity };
    for (let sx = 3; sx <= 4; sx++) {
      for (let sy = 3; sy <= 4; sy++) {
        const w = GLYPH_WIDTH * sx;
        const h = GLYPH_HEIGHT * sy;
        const centred = left + Math.floor((CAPTCHA_SLOT - w) / 2);
        for (let gx = centred - 4; gx <= centred + 4; gx++) {
          for (let gy = 0; gy + h <= height; gy++) {
            // The character's ink the template's box leaves out counts against it, in cells.
            const score0 = (inSlot - openedSum(gx, gy, gx + w, gy + h)) / (sx * sy);
            if (score0 >= best.score) continue;
            const fractions: number[] = [];
            for (let r = 0; r < GLYPH_HEIGHT; r++) for (let col = 0; col < GLYPH_WIDTH; col++) fractions.push(inkIn(gx + col * sx, gy + r * sy, sx, sy));
            for (const { c, bits } of glyphs) {
              let score = score0;
              for (let r = 0; r < GLYPH_HEIGHT && score < best.score; r++) for (let col = 0; col < GLYPH_WIDTH; col++) score += Math.abs((fractions[r * GLYPH_WIDTH + col] ?? 0) - (bits[r]?.[col] ? 1 : 0));
              if (score < best.score) best = { c, score };
            }
          }
        }
      }
    }
    answer += best.c;
  }
  return answer;
}
