/**
 * Chat prompts for the Instruct models, token by token as Meta's `chat_completion` builds them.
 *
 * Two formats; the vocabulary decides (the reference switches on `<step>` being a piece):
 *
 *  - "inst" (7B/13B/34B Instruct, the Llama-2 format, reference §5.1). A leading system
 *    message is merged into the first user message between B_SYS and E_SYS. Each completed
 *    (user, assistant) pair is encoded on its own as
 *      encode(f"[INST] {user.strip()} [/INST] {answer.strip()} ", bos=True, eos=True)
 *    (note the trailing space after the answer), and the final user message as
 *      encode(f"[INST] {user.strip()} [/INST]", bos=True, eos=False).
 *    Generation stops at EOS.
 *
 *  - "step" (70B Instruct, reference §5.2): an empty system message is inserted when there is
 *    none; then BOS and, per message, enc(" Source: {role}" [+ "\nDestination: {dest}"]),
 *    enc("\n\n " + content.strip()) when the content is non-empty, and `<step>`; the reply header
 *    is enc(" Source: assistant\nDestination: user") + enc("\n\n "). Every piece is a separate
 *    encode call, so each brings its own implicit leading space (`▁`, 29871). Generation stops
 *    at `<step>` only (as the reference's generate(stop_token=step_id)).
 *
 * In both, the answer is decoded with plain SentencePiece decode (a leading space is dropped).
 *
 * `strip()` is Python's str.strip(): its whitespace set differs from JavaScript's trim() (it
 * strips \x1c-\x1f and \x85 but not \ufeff), so `pyStrip` reproduces it.
 *
 * Special tags: Meta flags a dialog whose messages contain any of SPECIAL_TAGS, still generates,
 * and replaces the answer by UNSAFE_ERROR. DECISION (the brief leaves it to us): we refuse such a
 * conversation up front with a UserError that carries Meta's UNSAFE_ERROR text and names the
 * message and the tag — the user gets the same outcome (no answer), without paying for a
 * generation that is thrown away. `allowSpecialTags: true` turns the check off (our tokenizer
 * never turns text into control tokens, so the tags are harmless text to the model's tokenizer;
 * e.g. a question about this very format).
 *
 * Pure functions: messages in, token ids out. No model.
 */
import type { Tokenizer } from "../tokenizer/index.js";
import { UserError } from "../util/errors.js";
import { checkMessageOrder, type ChatMessage } from "./messages.js";

export const B_INST = "[INST]";
export const E_INST = "[/INST]";
export const B_SYS = "<<SYS>>\n";
export const E_SYS = "\n<</SYS>>\n\n";
/** `<step>` was added to the list with the 70B release. */
export const SPECIAL_TAGS = ["[INST]", "[/INST]", "<<SYS>>", "<</SYS>>", "<step>"] as const;
export const UNSAFE_ERROR = "Error: special tags are not allowed as part of the prompt.";

/** "inst": the Llama-2 [INST] format (7B–34B); "step": the 70B Source/Destination/<step> format. */
export type ChatFormat = "inst" | "step";

export interface ChatPromptOptions {
  /** Build the prompt even if a message contains one of SPECIAL_TAGS (default false: UserError). */
  allowSpecialTags?: boolean;
}

export interface ChatPrompt {
  tokens: number[];
  format: ChatFormat;
  /** Tokens that end the answer (`<step>` for "step"; none besides EOS for "inst"). */
  stopTokens: number[];
  /** Whether EOS ends the answer ("inst": yes; "step": no, the reference stops at <step> only). */
  stopAtEos: boolean;
}

/** The characters Python's str.isspace() accepts (str.strip() with no argument removes these). */
const PY_SPACE = "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000";

/** Python's `s.strip()`. */
export function pyStrip(s: string): string {
  let a = 0, b = s.length;
  while (a < b && PY_SPACE.includes(s[a])) a++;
  while (b > a && PY_SPACE.includes(s[b - 1])) b--;
  return s.slice(a, b);
}

/** The format the reference would pick for this vocabulary: "step" when `<step>` is a piece. */
export function chatFormat(tokenizer: Tokenizer): ChatFormat {
  return tokenizer.special.step !== undefined ? "step" : "inst";
}

/** Every (message index, tag) where a message's content contains one of SPECIAL_TAGS. */
export function findSpecialTags(messages: readonly ChatMessage[]): { index: number; tag: string }[] {
  const out: { index: number; tag: string }[] = [];
  messages.forEach((m, index) => { for (const tag of SPECIAL_TAGS) if (m.content.includes(tag)) out.push({ index, tag }); });
  return out;
}

/** The whole prompt for `messages` (which must end with the user's turn) in the vocabulary's format. */
export function chatPromptTokens(tokenizer: Tokenizer, messages: readonly ChatMessage[], opts: ChatPromptOptions = {}): ChatPrompt {
  // 1. The order rules (optional system, user/assistant alternating, ending with user).
  checkMessageOrder(messages, { endWithUser: true });
  // 2. The special-tags rule (see the file comment for why this refuses instead of generating).
  const tags = findSpecialTags(messages);
  if (tags.length > 0 && !opts.allowSpecialTags) {
    const { index, tag } = tags[0];
    throw new UserError(`${UNSAFE_ERROR} (message ${index + 1} (${messages[index].role}) contains "${tag}")`);
  }
  // 3. The format follows the vocabulary.
  if (chatFormat(tokenizer) === "step") {
    return { tokens: stepPromptTokens(tokenizer, messages), format: "step", stopTokens: [tokenizer.special.step!], stopAtEos: false };
  }
  return { tokens: instPromptTokens(tokenizer, messages), format: "inst", stopTokens: [], stopAtEos: true };
}

/** The 7B–34B [INST] prompt (reference §5.1). `messages` must already be in a valid order. */
export function instPromptTokens(tokenizer: Tokenizer, messages: readonly ChatMessage[]): number[] {
  // 1. Merge a leading system message into the next message (its role is kept). The system
  //    text itself is not stripped; the merged content is, at its outer ends, in step 2.
  let dialog = messages.map((m) => ({ role: m.role, content: m.content }));
  if (dialog[0].role === "system") {
    dialog = [{ role: dialog[1].role, content: B_SYS + dialog[0].content + E_SYS + dialog[1].content }, ...dialog.slice(2)];
  }
  // 2. Each completed (user, assistant) pair: <s>[INST] u [/INST] a </s>, encoded on its own.
  const out: number[] = [];
  for (let i = 0; i + 1 < dialog.length; i += 2) {
    const [user, answer] = [dialog[i], dialog[i + 1]];
    out.push(...tokenizer.encode(`${B_INST} ${pyStrip(user.content)} ${E_INST} ${pyStrip(answer.content)} `, { bos: true, eos: true }));
  }
  // 3. The final user message: BOS, no EOS; the model answers after "[/INST]".
  const last = dialog[dialog.length - 1];
  out.push(...tokenizer.encode(`${B_INST} ${pyStrip(last.content)} ${E_INST}`, { bos: true, eos: false }));
  return out;
}

/** The 70B Source/Destination/<step> prompt (reference §5.2). `messages` must be in a valid order. */
export function stepPromptTokens(tokenizer: Tokenizer, messages: readonly ChatMessage[]): number[] {
  const step = tokenizer.special.step;
  if (step === undefined) throw new UserError(`this model's vocabulary has no <step> piece, so it cannot use the 70B chat format`);
  // 1. The format requires a system message; the reference inserts an empty one.
  const dialog: readonly ChatMessage[] = messages[0].role === "system" ? messages : [{ role: "system", content: "" }, ...messages];
  // 2. BOS once, then per message: header, body (only when the content is non-empty), <step>.
  const enc = (s: string) => tokenizer.encode(s);
  const out: number[] = [tokenizer.special.bos];
  for (const m of dialog) {
    const headers = [`Source: ${pyStrip(m.role)}`];
    if (m.destination !== undefined && m.destination !== null) headers.push(`Destination: ${pyStrip(m.destination)}`);
    out.push(...enc(" " + headers.join("\n")));
    // The reference tests the raw content (`if message["content"]`), so "  " still gets a body.
    if (m.content) out.push(...enc("\n\n " + pyStrip(m.content)));
    out.push(step);
  }
  // 3. The reply header, then a blank line and a single space, each its own encode call.
  out.push(...enc(" Source: assistant\nDestination: user"));
  out.push(...enc("\n\n "));
  return out;
}

/** The answer as the reference returns it: 70B answers carry destination "user". */
export function assistantMessage(format: ChatFormat, content: string): ChatMessage {
  return format === "step" ? { role: "assistant", destination: "user", content } : { role: "assistant", content };
}
