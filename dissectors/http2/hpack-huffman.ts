/**
 * HPACK Huffman decoding (RFC 7541 §5.2, Appendix B).
 *
 * The Appendix B code is canonical: codes of equal length are consecutive and ordered by symbol,
 * and each length starts where the previous one ended (shifted). So the code lengths alone define
 * the whole code; the codes are derived from them once, and a 4-bit-at-a-time state machine is
 * built from the resulting tree (256 internal nodes × 16 nibbles). A nibble can complete at most
 * one symbol because the shortest code is 5 bits.
 */

/** Code length in bits for symbols 0..255 (RFC 7541 Appendix B); EOS (256) is 30 bits. */
const CODE_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

const EOS = 256;
const SYMBOLS = 257;

/** Canonical codes for symbols 0..256, derived from CODE_LENGTHS. Exported for tests. */
export const HUFFMAN_CODES: Uint32Array = deriveCodes();

function deriveCodes(): Uint32Array {
  const codes = new Uint32Array(SYMBOLS);
  let code = 0;
  let prevLen = 0;
  for (let len = 1; len <= 30; len++) {
    for (let sym = 0; sym < SYMBOLS; sym++) {
      if (CODE_LENGTHS[sym] !== len) continue;
      if (prevLen !== 0) code = code << (len - prevLen);
      prevLen = len;
      codes[sym] = code;
      code++;
    }
  }
  return codes;
}

export function huffmanCodeLength(sym: number): number {
  return CODE_LENGTHS[sym]!;
}

// Transition entry layout: bits 0-7 next state, bit 8 emits a symbol, bits 9-16 the symbol,
// bit 17 failure (EOS decoded or an impossible path).
const EMIT = 0x100;
const FAIL = 0x20000;

class HuffmanMachine {
  /** 256 states × 16 nibbles. */
  readonly transitions = new Uint32Array(256 * 16);
  /** 1 when ending in this state is valid padding (a prefix of EOS of at most 7 bits). */
  readonly accepting = new Uint8Array(256);

  constructor() {
    // Tree: internal nodes 0..255, children encoded as >= 0 internal node, or -(sym + 1) leaf.
    const left = new Int32Array(256).fill(0x7fffffff);
    const right = new Int32Array(256).fill(0x7fffffff);
    let nodes = 1;
    for (let sym = 0; sym < SYMBOLS; sym++) {
      const len = CODE_LENGTHS[sym]!;
      const code = HUFFMAN_CODES[sym]!;
      let node = 0;
      for (let b = len - 1; b >= 0; b--) {
        const bit = (code >>> b) & 1;
        const arr = bit === 0 ? left : right;
        if (b === 0) {
          arr[node] = -(sym + 1);
        } else {
          if (arr[node] === 0x7fffffff) arr[node] = nodes++;
          node = arr[node]!;
        }
      }
    }
    // Accepting: the root and the nodes reached by 1..7 one-bits.
    let node = 0;
    this.accepting[0] = 1;
    for (let i = 1; i <= 7; i++) {
      node = right[node]!;
      this.accepting[node] = 1;
    }
    for (let state = 0; state < 256; state++) {
      for (let nib = 0; nib < 16; nib++) {
        let cur = state;
        let entry = 0;
        for (let b = 3; b >= 0; b--) {
          const next = ((nib >>> b) & 1) === 0 ? left[cur]! : right[cur]!;
          if (next === 0x7fffffff) { entry = FAIL; break; }
          if (next < 0) {
            const sym = -next - 1;
            if (sym === EOS) { entry = FAIL; break; }
            entry = EMIT | (sym << 9);
            cur = 0;
          } else {
            cur = next;
          }
        }
        this.transitions[(state << 4) | nib] = entry & FAIL ? FAIL : (entry & ~0xff) | cur;
      }
    }
  }
}

let machine: HuffmanMachine | null = null;

/**
 * Decodes `src[start..end)` into `out` starting at 0. Returns the number of bytes written, or -1
 * when the input is not a valid Huffman string (EOS symbol, padding longer than 7 bits or not
 * all ones) or `out` is too small.
 */
export function huffmanDecode(src: Uint8Array, start: number, end: number, out: Uint8Array): number {
  const m = machine ?? (machine = new HuffmanMachine());
  const t = m.transitions;
  let state = 0;
  let n = 0;
  for (let i = start; i < end; i++) {
    const byte = src[i]!;
    let e = t[(state << 4) | (byte >>> 4)]!;
    if (e & FAIL) return -1;
    if (e & EMIT) {
      if (n >= out.length) return -1;
      out[n++] = (e >>> 9) & 0xff;
    }
    state = e & 0xff;
    e = t[(state << 4) | (byte & 0xf)]!;
    if (e & FAIL) return -1;
    if (e & EMIT) {
      if (n >= out.length) return -1;
      out[n++] = (e >>> 9) & 0xff;
    }
    state = e & 0xff;
  }
  return m.accepting[state] === 1 ? n : -1;
}
