// The CAPTCHA's bitmap font: 5x7 glyphs of characters nobody confuses (no 0/O, 1/I/L, 2/Z, 5/S,
// 8/B, G/6, Q, U/V). Each glyph touches all four sides of its box and is one connected shape.
export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 7;

const ROWS: Record<string, string> = {
  A: '.###. #...# #...# ##### #...# #...# #...#',
  C: '.#### #.... #.... #.... #.... #.... .####',
  D: '####. #...# #...# #...# #...# #...# ####.',
  E: '##### #.... #.... ####. #.... #.... #####',
  F: '##### #.... #.... ####. #.... #.... #....',
  H: '#...# #...# #...# ##### #...# #...# #...#',
  J: '..### ...#. ...#. ...#. ...#. #..#. .##..',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...#',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...#',
  N: '#...# ##..# #.#.# #..## #...# #...# #...#',
  P: '####. #...# #...# ####. #.... #.... #....',
  R: '####. #...# #...# ####. #.#.. #..#. #...#',
  T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  W: '#...# #...# #...# #.#.# #.#.# ##.## #...#',
  X: '#...# #...# .#.#. ..#.. .#.#. #...# #...#',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..',
  '3': '####. ....# ....# .###. ....# ....# ####.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  '6': '.###. #.... #.... ####. #...# #...# .###.',
  '7': '##### ....# ...#. ..#.. ..#.. ..#.. ..#..',
  '9': '.###. #...# #...# .#### ....# ....# .###.',
};

/** The characters a CAPTCHA is made of. */
export const CAPTCHA_ALPHABET = Object.keys(ROWS).join('');

/** glyph(c)[row][col]: true where the character is inked. */
export function glyph(c: string): boolean[][] {
  const rows = ROWS[c];
  if (!rows) throw new Error(`no glyph for ${JSON.stringify(c)}`);
  return rows.split(' ').map((r) => [...r].map((p) => p === '#'));
}
