/**
 * Fill-in-the-middle prompts, token by token as Meta's reference builds them
 * (`llama/generation.py` `infilling_prompt_tokens`; reference §4.1):
 *
 *   PSM (default):  [BOS, PRE] + enc(prefix) + [SUF] + encInf(suffix) + [MID]
 *   SPM:            [BOS, PRE, SUF] + encInf(suffix) + [MID] + enc(prefix)
 *
 * `enc` is SentencePiece encode with the implicit leading space; `encInf` is `encode_infilling`
 * (the ☺ trick: no implicit space). SPM keeps `<PRE>` first: it is the "compatible" SPM of
 * Bavarian et al. that Code Llama was trained on, NOT llama.cpp's `--spm-infill` order
 * (`[BOS] <SUF> suffix <PRE> prefix <MID>`). An empty prefix or suffix still gives the full FIM
 * prompt (Meta does; HF's tokenizers fall back to plain completion for an empty suffix).
 *
 * Generation then stops at `<EOT>` only (EOS is not a stop token when infilling) and the middle
 * is decoded with `decode_infilling`, which keeps a leading space (see Engine.infill).
 *
 * Pure functions: text in, token ids out. No model.
 */
import type { Tokenizer } from "../tokenizer/index.js";
import { UserError } from "../util/errors.js";

/** The sentinel ids of a FIM tokenizer (ids 32007..32010 on Code Llama's 32016-piece vocabulary). */
export interface FimTokens {
  bos: number;
  prefix: number;
  suffix: number;
  middle: number;
  eot: number;
}

export interface InfillPromptOptions {
  /** Suffix-prefix-middle order (Meta's `suffix_first=True`); default false (PSM). */
  spm?: boolean;
}

/** The marker that example_infilling.py splits its prompts on. */
export const FILL_MARKER = "<FILL>";

/** The four sentinel piece names, in the order Meta's tokenizer looks them up. */
const SENTINELS = [["prefix", "\u2581<PRE>"], ["middle", "\u2581<MID>"], ["suffix", "\u2581<SUF>"], ["eot", "\u2581<EOT>"]] as const;

/**
 * The sentinel ids, or a UserError saying why this model cannot infill. Meta's reference asserts
 * `eot_id is not None`; we check all four, since a prompt without any one of them is meaningless.
 * `name` (the model file) is put in front of the message when given.
 */
export function fimTokens(tokenizer: Tokenizer, name?: string): FimTokens {
  const sp = tokenizer.special;
  // 1. Which of the four pieces are missing (looked up by piece name, as the reference does).
  const missing = SENTINELS.filter(([k]) => sp[k] === undefined).map(([, piece]) => piece);
  if (missing.length > 0) {
    const who = name ? `${name}: ` : "";
    // 2. The usual case: a 32000-piece vocabulary (Python models, every 34B) has none of them.
    const why = missing.length === SENTINELS.length
      ? `its ${tokenizer.vocabSize}-piece vocabulary has none of Code Llama's fill-in-the-middle pieces (${SENTINELS.map(([, p]) => p).join(", ")}); ` +
        "only the FIM-trained models (7B/13B base and Instruct, 32016 pieces) can infill, not the Python or 34B models"
      : `its vocabulary lacks the fill-in-the-middle piece${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`;
    throw new UserError(`${who}this model cannot fill in the middle: ${why}`);
  }
  // 3. BOS must exist too (every Llama vocabulary has it; a negative id means "none").
  if (sp.bos < 0) throw new UserError(`${name ? `${name}: ` : ""}this model cannot fill in the middle: its vocabulary has no BOS token`);
  return { bos: sp.bos, prefix: sp.prefix!, suffix: sp.suffix!, middle: sp.middle!, eot: sp.eot! };
}

/** Meta's `infilling_prompt_tokens(tokenizer, prefix, suffix, suffix_first)`. */
export function infillPromptTokens(tokenizer: Tokenizer, prefix: string, suffix: string, opts: InfillPromptOptions = {}): number[] {
  const t = fimTokens(tokenizer);
  // The prefix carries the implicit leading space (plain encode); the suffix does not (☺ trick).
  const pre = tokenizer.encode(prefix);
  const suf = tokenizer.encodeInfilling(suffix);
  if (opts.spm) {
    // SPM, "compatible" variant: <PRE> still comes first, immediately followed by <SUF>.
    return [t.bos, t.prefix, t.suffix, ...suf, t.middle, ...pre];
  }
  // PSM: "<PRE> {pre} <SUF>{suf} <MID>" in the reference's own comment.
  return [t.bos, t.prefix, ...pre, t.suffix, ...suf, t.middle];
}

/**
 * Split a text at its single `<FILL>` marker into prefix and suffix, as example_infilling.py's
 * `prompt.split("<FILL>")`. No marker, or more than one, is a UserError (`name` names the file).
 */
export function splitFillMarker(text: string, name = "the text"): { prefix: string; suffix: string } {
  const parts = text.split(FILL_MARKER);
  if (parts.length === 1) throw new UserError(`${name} has no ${FILL_MARKER} marker; put one where the code should be filled in`);
  if (parts.length > 2) {
    // Name the lines of the markers so the user can find them.
    const lines: number[] = [];
    let at = 0;
    for (let i = 0; i < parts.length - 1; i++) {
      at += parts[i].length;
      lines.push(text.slice(0, at).split("\n").length);
      at += FILL_MARKER.length;
    }
    throw new UserError(`${name} has ${parts.length - 1} ${FILL_MARKER} markers (lines ${lines.join(", ")}); it must have exactly one`);
  }
  return { prefix: parts[0], suffix: parts[1] };
}
