/**
 * The compiled vocabulary: the lookup tables the BPE encoder and the decoder run on, built once
 * from a `VocabSpec` (whatever file it came from).
 *
 * The encoder never looks strings up. Every symbol it handles is an *atom*: either a piece that
 * can take part in merges (SentencePiece's `pieces_`: NORMAL, USER_DEFINED and UNUSED pieces;
 * its atom id is the piece id) or a single character that occurs inside such a piece without
 * being a piece itself (extra atom ids from `size` up). SentencePiece merges two adjacent
 * symbols when their concatenated text is in `pieces_`; since a symbol is always a single
 * character or a piece, that is the same as looking the pair (left atom, right atom) up in a
 * table of every split of every mergeable piece into two atoms. That table is `pairs`.
 */
import { FormatError } from "../util/errors.js";
import { PairTable } from "./pair-table.js";
import { PieceType, SPACE_SYMBOL, type VocabSpec } from "./types.js";

/** A node of the user-defined-symbol trie (code point → child); `id` ≥ 0 where a symbol ends. */
interface TrieNode { next: Map<number, TrieNode>; id: number }

export class Vocab {
  readonly size: number;
  /** piece text → id (the first id when a text appears twice). */
  readonly pieceToId: Map<string, number>;
  /** Atoms: `size` piece slots plus the extra single-character atoms. */
  readonly nAtoms: number;
  /** Code point → atom (BMP table; -1 = the character is in no mergeable piece). */
  readonly bmpAtom: Int32Array;
  readonly astralAtom: Map<number, number>;
  /** For extra (non-piece) character atoms, their code point, indexed by atom - size. */
  readonly extraAtomCp: Int32Array;
  /** (left atom, right atom) → the mergeable piece their concatenation spells. */
  readonly pairs: PairTable;
  /**
   * Merge priority per piece id: the dense rank of its score among all scores, times 2^32.
   * The encoder adds (2^32 - 1 - left position), so one number orders queue entries exactly
   * as SentencePiece does (higher score first, then leftmost); it stays below 2^53.
   */
  readonly priority: Float64Array;
  /** 1 for UNUSED pieces (split back into their parts after merging). */
  readonly unused: Uint8Array;
  readonly hasUnused: boolean;
  /** Id of `<0xNN>` per byte value (-1 when there is no byte fallback). */
  readonly byteIds: Int32Array;
  /** Per id: the byte value of a BYTE piece, else -1. */
  readonly byteValue: Int16Array;
  /** Per id: the text a piece decodes to (`▁` → ' '); "" for control pieces. */
  readonly decodeText: string[];
  /**
   * Per atom: 1 if the character occurs inside some mergeable piece of two or more characters.
   * A character that does not (a newline in Llama's vocabulary) can never be merged, so the
   * encoder treats it as a wall and merges the text between walls independently.
   */
  readonly joins: Uint8Array;
  /** User-defined symbols, matched longest-first before BPE (null when there are none). */
  readonly userTrie: TrieNode | null;
  /** First code points of user-defined symbols (fast reject before walking the trie). */
  readonly userFirst: Set<number>;

  constructor(readonly spec: VocabSpec) {
    const { pieces, types, scores, source } = spec;
    const n = pieces.length;
    this.size = n;
    if (scores.length !== n || types.length !== n) {
      throw new FormatError(source, 0, "scores/types", `${n} pieces but ${scores.length} scores and ${types.length} types`);
    }

    // 1. piece text → id, and the set of mergeable pieces (first occurrence of a text wins).
    this.pieceToId = new Map();
    const mergeable = new Map<string, number>();
    for (let id = 0; id < n; id++) {
      const p = pieces[id];
      if (p.length === 0) continue; // an empty piece (padding in some GGUFs) can never be produced
      if (!this.pieceToId.has(p)) this.pieceToId.set(p, id);
      const t = types[id];
      if ((t === PieceType.NORMAL || t === PieceType.USER_DEFINED || t === PieceType.UNUSED) && !mergeable.has(p)) mergeable.set(p, id);
    }

    // 2. Priorities (scores → dense ranks; a NaN score counts as the lowest) and UNUSED flags.
    const distinct = [...new Set(Array.from(scores, (x) => (Number.isNaN(x) ? -Infinity : x)))].sort((a, b) => a - b);
    const rankOf = new Map(distinct.map((x, i) => [x, i]));
    this.priority = new Float64Array(n);
    for (let id = 0; id < n; id++) this.priority[id] = rankOf.get(Number.isNaN(scores[id]) ? -Infinity : scores[id])! * 4294967296;
    this.unused = new Uint8Array(n);
    let anyUnused = false;
    for (let id = 0; id < n; id++) if (types[id] === PieceType.UNUSED) { this.unused[id] = 1; anyUnused = true; }
    this.hasUnused = anyUnused;

    // 3. Single-character atoms: mergeable one-character pieces keep their id; other characters
    //    get extra atom ids when some split of a mergeable piece needs them.
    this.bmpAtom = new Int32Array(0x10000).fill(-1);
    this.astralAtom = new Map();
    const extraCps: number[] = [];
    const setCharAtom = (cp: number, atom: number) => {
      if (cp < 0x10000) this.bmpAtom[cp] = atom; else this.astralAtom.set(cp, atom);
    };
    const charAtom = (cp: number): number => (cp < 0x10000 ? this.bmpAtom[cp] : this.astralAtom.get(cp) ?? -1);
    for (const [p, id] of mergeable) {
      const cp = p.codePointAt(0)!;
      if (p.length === (cp > 0xffff ? 2 : 1)) setCharAtom(cp, id);
    }
    const atomOfChar = (cp: number): number => {
      let a = charAtom(cp);
      if (a < 0) { a = n + extraCps.length; extraCps.push(cp); setCharAtom(cp, a); }
      return a;
    };

    // 4. The pair table: every split of every mergeable piece into (atom, atom).
    const splits: number[] = [];
    const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;
    for (const [p, id] of mergeable) {
      const len = p.length;
      // k runs over the code-point boundaries inside p (UTF-16 indices, never inside a pair).
      const firstEnd = isLow(p.charCodeAt(1)) ? 2 : 1;
      const lastStart = isLow(p.charCodeAt(len - 1)) && len >= 2 ? len - 2 : len - 1;
      if (firstEnd >= len) continue; // a single character
      for (let k = firstEnd; k < len; k++) {
        if (isLow(p.charCodeAt(k))) continue;
        const b = k === lastStart ? atomOfChar(p.codePointAt(k)!) : mergeable.get(p.substring(k)) ?? -1;
        if (b < 0) continue;
        const a = k === firstEnd ? atomOfChar(p.codePointAt(0)!) : mergeable.get(p.substring(0, k)) ?? -1;
        if (a < 0) continue;
        splits.push(a, b, id);
      }
    }
    this.pairs = new PairTable(splits.length / 3);
    for (let i = 0; i < splits.length; i += 3) this.pairs.add(splits[i], splits[i + 1], splits[i + 2]);
    this.nAtoms = n + extraCps.length;
    this.extraAtomCp = Int32Array.from(extraCps);
    this.joins = new Uint8Array(this.nAtoms);
    for (const p of mergeable.keys()) {
      if (p.length < 2 || (p.length === 2 && p.codePointAt(0)! > 0xffff)) continue;
      for (const ch of p) {
        const a = charAtom(ch.codePointAt(0)!);
        if (a >= 0) this.joins[a] = 1;
      }
    }

    // 5. Byte fallback: the 256 `<0xNN>` pieces.
    this.byteIds = new Int32Array(256).fill(-1);
    this.byteValue = new Int16Array(n).fill(-1);
    let nBytes = 0;
    for (let id = 0; id < n; id++) {
      if (types[id] !== PieceType.BYTE) continue;
      const m = /^<0x([0-9A-F]{2})>$/.exec(pieces[id]);
      if (!m) throw new FormatError(source, 0, `piece ${id}`, `byte piece ${JSON.stringify(pieces[id])} is not of the form <0xNN>`);
      const b = parseInt(m[1], 16);
      this.byteValue[id] = b;
      if (this.byteIds[b] < 0) { this.byteIds[b] = id; nBytes++; }
    }
    if (spec.byteFallback && nBytes !== 256) {
      throw new FormatError(source, 0, "byte pieces", `byte fallback is on but only ${nBytes} of the 256 <0xNN> pieces are present`);
    }
    if (!spec.byteFallback) this.byteIds.fill(-1);
    if (!spec.byteFallback && (spec.unkId < 0 || types[spec.unkId] !== PieceType.UNKNOWN)) {
      throw new FormatError(source, 0, "unk id", "the vocabulary has neither byte fallback nor an <unk> piece");
    }

    // 6. Decode text per id.
    this.decodeText = new Array(n);
    for (let id = 0; id < n; id++) {
      const t = types[id];
      this.decodeText[id] = t === PieceType.CONTROL || t === PieceType.BYTE ? "" : t === PieceType.UNKNOWN ? spec.unkSurface : pieces[id].replaceAll(SPACE_SYMBOL, " ");
    }

    // 7. User-defined symbols: a code-point trie for longest-prefix matching.
    this.userFirst = new Set();
    let trie: TrieNode | null = null;
    for (let id = 0; id < n; id++) {
      if (types[id] !== PieceType.USER_DEFINED || pieces[id].length === 0) continue;
      trie ??= { next: new Map(), id: -1 };
      let node = trie;
      for (const ch of pieces[id]) {
        const cp = ch.codePointAt(0)!;
        let child = node.next.get(cp);
        if (!child) { child = { next: new Map(), id: -1 }; node.next.set(cp, child); }
        node = child;
      }
      if (node.id < 0) node.id = id;
      this.userFirst.add(pieces[id].codePointAt(0)!);
    }
    this.userTrie = trie;
  }

  /** The atom of one code point (-1 when the character is in no mergeable piece). */
  atomOf(cp: number): number {
    return cp < 0x10000 ? this.bmpAtom[cp] : this.astralAtom.get(cp) ?? -1;
  }

  /**
   * Longest user-defined symbol starting at `cps[i]` (end `n`): returns its code-point length
   * and stores its id in `this.lastUserId`, or returns 0.
   */
  matchUser(cps: Int32Array, i: number, n: number): number {
    let node = this.userTrie;
    let best = 0;
    for (let k = i; node && k < n; k++) {
      node = node.next.get(cps[k]) ?? null;
      if (node && node.id >= 0) { best = k - i + 1; this.lastUserId = node.id; }
    }
    return best;
  }
  lastUserId = -1;
}
