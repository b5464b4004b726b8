/**
 * Loading an HF `tokenizer.json` of the Llama / Code Llama kind: a BPE model with
 * `byte_fallback`, pieces spelled with `▁`, and either the old normalizer
 * (`Prepend("▁")` + `Replace(" ", "▁")`) or the newer `Metaspace` pre-tokenizer.
 *
 * tokenizer.json has no scores, only the merge list. HF's converter (SentencePieceExtractor)
 * emits, for every piece in descending score order, all of its splits into two pieces; so the
 * rank of the *first* merge that produces a piece orders pieces exactly as their SentencePiece
 * scores do. We therefore use score(piece) = -(rank of its first merge) and run the
 * SentencePiece algorithm on it (any adjacent pair whose concatenation is a piece may merge,
 * ties go to the leftmost pair). Pieces that no merge produces get lower scores than all merge
 * products, in id order. Types: added tokens marked `special` are CONTROL (the unk token is
 * UNKNOWN), other added tokens USER_DEFINED (matched in the text first, as HF does), `<0xNN>`
 * pieces BYTE when byte_fallback is on, everything else NORMAL.
 */
import { FormatError } from "../util/errors.js";
import { DEFAULT_UNK_SURFACE, PieceType, SPACE_SYMBOL, type NormalizerSettings, type VocabSpec } from "./types.js";

type Json = Record<string, unknown>;
const isObj = (x: unknown): x is Json => typeof x === "object" && x !== null && !Array.isArray(x);

export function vocabFromHFTokenizerJson(input: string | object, name = "tokenizer.json"): VocabSpec {
  const bad = (field: string, problem: string, offset = 0): never => { throw new FormatError(name, offset, field, problem); };

  // 1. Parse (a JSON syntax error reports its position as the offset).
  let root: unknown = input;
  if (typeof input === "string") {
    try {
      root = JSON.parse(input);
    } catch (e) {
      const m = /position (\d+)/.exec(String((e as Error).message));
      bad("JSON", `is not valid JSON: ${(e as Error).message}`, m ? Number(m[1]) : 0);
    }
  }
  if (!isObj(root)) return bad("(root)", "is not a JSON object");
  const model = root.model;
  if (!isObj(model)) return bad("model", "is missing");
  if (model.type !== undefined && model.type !== "BPE") bad("model.type", `is ${JSON.stringify(model.type)}; only BPE tokenizers (Llama-style, with byte_fallback) are supported`);
  const vocab = model.vocab;
  if (!isObj(vocab)) return bad("model.vocab", "is missing or not an object");
  const merges = model.merges;
  if (!Array.isArray(merges)) return bad("model.merges", "is missing or not an array");
  const byteFallback = model.byte_fallback === true;

  // 2. Pieces by id: the vocab plus the added tokens; ids must be dense 0..n-1.
  const byId = new Map<number, string>();
  const put = (id: unknown, piece: string, field: string) => {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > 1 << 24) bad(field, `id ${JSON.stringify(id)} is not a valid token id`);
    const prev = byId.get(id as number);
    if (prev !== undefined && prev !== piece) bad(field, `id ${id} is both ${JSON.stringify(prev)} and ${JSON.stringify(piece)}`);
    byId.set(id as number, piece);
  };
  for (const [piece, id] of Object.entries(vocab)) put(id, piece, `model.vocab[${JSON.stringify(piece)}]`);
  const added = Array.isArray(root.added_tokens) ? root.added_tokens : [];
  const special = new Set<string>(), userDefined = new Set<string>();
  added.forEach((t, i) => {
    if (!isObj(t) || typeof t.content !== "string") return bad(`added_tokens[${i}]`, "has no string content");
    put(t.id, t.content, `added_tokens[${i}].id`);
    (t.special === true ? special : userDefined).add(t.content);
  });
  const n = byId.size === 0 ? 0 : Math.max(...byId.keys()) + 1;
  if (n === 0) bad("model.vocab", "is empty");
  const pieces = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const p = byId.get(i);
    if (p === undefined) bad("model.vocab", `token ids are not contiguous: id ${i} is missing (largest id ${n - 1})`);
    pieces[i] = p!;
  }
  const idOf = new Map<string, number>();
  pieces.forEach((p, i) => { if (!idOf.has(p)) idOf.set(p, i); });

  // 3. Scores from merge ranks.
  const scores = new Float32Array(n).fill(NaN);
  merges.forEach((m, rank) => {
    let a: unknown, b: unknown;
    if (typeof m === "string") {
      const parts = m.split(" ");
      if (parts.length !== 2) bad(`model.merges[${rank}]`, `${JSON.stringify(m)} is not "left right"`);
      [a, b] = parts;
    } else if (Array.isArray(m) && m.length === 2) [a, b] = m;
    else bad(`model.merges[${rank}]`, "is neither \"left right\" nor [left, right]");
    const id = idOf.get(String(a) + String(b));
    if (id === undefined) bad(`model.merges[${rank}]`, `${JSON.stringify(String(a) + String(b))} is not in the vocabulary`);
    if (Number.isNaN(scores[id!])) scores[id!] = -rank;
  });
  for (let i = 0; i < n; i++) if (Number.isNaN(scores[i])) scores[i] = -(merges.length + i);

  // 4. Types.
  const unkToken = typeof model.unk_token === "string" ? model.unk_token : "<unk>";
  const types = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const p = pieces[i];
    if (p === unkToken) types[i] = PieceType.UNKNOWN;
    else if (special.has(p)) types[i] = PieceType.CONTROL;
    else if (userDefined.has(p)) types[i] = PieceType.USER_DEFINED;
    else if (byteFallback && /^<0x[0-9A-F]{2}>$/.test(p)) types[i] = PieceType.BYTE;
    else types[i] = PieceType.NORMAL;
  }

  // 5. Normalisation: accept the two Llama layouts, refuse anything else.
  const norm: NormalizerSettings = { addDummyPrefix: false, removeExtraWhitespaces: false, escapeWhitespaces: false };
  const steps = (x: unknown): Json[] => (x == null ? [] : isObj(x) && x.type === "Sequence" ? ((x.normalizers ?? x.pretokenizers ?? []) as Json[]) : [x as Json]);
  for (const s of steps(root.normalizer)) {
    if (s.type === "Prepend" && s.prepend === SPACE_SYMBOL) norm.addDummyPrefix = true;
    else if (s.type === "Replace" && isObj(s.pattern) && s.pattern.String === " " && s.content === SPACE_SYMBOL) norm.escapeWhitespaces = true;
    else bad("normalizer", `${JSON.stringify(s.type)} is not supported (only Llama's Prepend("▁") and Replace(" ", "▁"))`);
  }
  for (const s of steps(root.pre_tokenizer)) {
    if (s.type === "Metaspace" && (s.replacement ?? SPACE_SYMBOL) === SPACE_SYMBOL && s.split !== true) {
      norm.escapeWhitespaces = true;
      norm.addDummyPrefix = s.prepend_scheme !== "never" && s.add_prefix_space !== false;
    } else bad("pre_tokenizer", `${JSON.stringify(s.type)} is not supported (only Metaspace without splitting, as in Llama)`);
  }
  if (!norm.escapeWhitespaces) bad("normalizer", "does not map ' ' to '▁'; not a SentencePiece-style tokenizer");

  // 6. Special ids and add_bos (from the post-processor template, default true).
  const bosId = idOf.get("<s>") ?? -1, eosId = idOf.get("</s>") ?? -1;
  let addBos = true;
  const pp = root.post_processor;
  if (isObj(pp) && pp.type === "TemplateProcessing" && Array.isArray(pp.single)) {
    addBos = pp.single.some((x) => isObj(x) && isObj(x.SpecialToken) && x.SpecialToken.id === "<s>");
  }
  const unkId = idOf.get(unkToken) ?? -1;
  return { source: name, pieces, scores, types, byteFallback, normalizer: norm, unkId, bosId, eosId, addBos, unkSurface: DEFAULT_UNK_SURFACE };
}
