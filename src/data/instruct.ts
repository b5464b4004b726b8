/**
 * Instruction data: JSONL dialogs to `[INST]` training sequences with the loss on the answers
 * (what `codellama data instruct` runs).
 *
 * Input: one JSON object per line, `{"dialog": [...]}` or `{"messages": [...]}`, each message
 * `{"role": "system"|"user"|"assistant", "content": "..."}`; blank lines are skipped. Roles
 * follow the chat rules (src/prompt/messages.ts): an optional system message, then user and
 * assistant alternating.
 *
 * Tokens: exactly the inference chat format of src/prompt/chat.ts (reference §5.1), whose
 * constants and Python strip this reuses: a leading system message is merged into the first user
 * message as B_SYS + system + E_SYS + user; every (user, answer) pair is
 *   encode(f"[INST] {user.strip()} [/INST] {answer.strip()} ", bos=True, eos=True)
 * so the prompt of turn k (chatPromptTokens of the dialog up to user k) is a prefix of the
 * sequence and the answer follows it. Loss mask: 1 on the answer's tokens (from the first token
 * after the prompt "[INST] u [/INST]", i.e. "▁answer ... ▁" and EOS), 0 on everything else.
 *
 * DECISIONS: a final user message without an answer is dropped (counted); a dialog with no
 * answer at all, one whose text contains the special tags (the reference refuses such prompts),
 * and one longer than ctx (cutting a dialog would train answers without their question) are
 * skipped and counted. Only the [INST] format is built; a vocabulary with `<step>` (70B) is refused.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { B_INST, B_SYS, chatFormat, E_INST, E_SYS, findSpecialTags, pyStrip } from "../prompt/chat.js";
import { checkMessageOrder, type ChatMessage } from "../prompt/messages.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { UserError } from "../util/errors.js";
import { checkCommonOptions, splitStats, tokenizerRecord } from "./build.js";
import { DatasetDir } from "./dataset-dir.js";
import { DOC_INSTRUCT, FORMAT_NAME, FORMAT_VERSION, tokenBytesFor, type DatasetManifest, type SplitName, type SplitStats } from "./format.js";
import { Packer, DEFAULT_MAX_OPEN } from "./packer.js";
import { splitDocuments } from "./split.js";
import { SplitWriter } from "./writer.js";

const Message = z.object({
  role: z.enum(["system", "user", "assistant"]),
  content: z.string(),
  destination: z.string().optional(),
});
const DialogSchema = z.array(Message);

export interface Dialog {
  /** 1-based line number in the file. */
  line: number;
  messages: ChatMessage[];
}

/** Parse a JSONL file of dialogs; a bad line is a UserError naming file, line and field. */
export function parseDialogs(text: string, file: string): Dialog[] {
  const out: Dialog[] = [];
  const lines = text.replace(/^\ufeff/, "").split("\n");
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "") return;
    const where = `${file}:${i + 1}`;
    let data: unknown;
    try {
      data = JSON.parse(line);
    } catch (e) {
      throw new UserError(`${where}: not valid JSON (${(e as Error).message})`);
    }
    // The dialog is under "dialog" or "messages"; zod checks each message and names the field.
    const obj = data !== null && typeof data === "object" && !Array.isArray(data) ? data as Record<string, unknown> : undefined;
    const key = obj && "dialog" in obj ? "dialog" : obj && "messages" in obj ? "messages" : undefined;
    if (!key) throw new UserError(`${where}: expected {"dialog": [{"role", "content"}, ...]} or {"messages": [...]}`);
    const r = DialogSchema.safeParse(obj![key]);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new UserError(`${where}: ${[key, ...issue.path].join(".")}: ${issue.message}`);
    }
    const messages = r.data as ChatMessage[];
    try {
      checkMessageOrder(messages, { endWithUser: false });
    } catch (e) {
      throw new UserError(`${where}: ${(e as Error).message}`);
    }
    out.push({ line: i + 1, messages });
  });
  return out;
}

export interface DialogTokens {
  tokens: number[];
  /** 1 on answer tokens (and their EOS), 0 elsewhere. */
  mask: Uint8Array;
  /** Whether a final unanswered user message was dropped. */
  droppedLastUser: boolean;
}

/**
 * The training tokens and loss mask of one dialog in the [INST] format; undefined when it has
 * no answered turn. `messages` must be in a valid order (checkMessageOrder).
 */
export function dialogTokens(tok: Tokenizer, messages: readonly ChatMessage[]): DialogTokens | undefined {
  if (chatFormat(tok) !== "inst") throw new UserError("this vocabulary has a <step> piece (the 70B chat format); instruction data is built only in the [INST] format");
  // 1. Merge a leading system message into the first user message (as instPromptTokens does).
  let dialog = messages.map((m) => ({ role: m.role, content: m.content }));
  if (dialog.length > 0 && dialog[0].role === "system") {
    if (dialog.length === 1) return undefined;
    dialog = [{ role: dialog[1].role, content: B_SYS + dialog[0].content + E_SYS + dialog[1].content }, ...dialog.slice(2)];
  }
  // 2. A last user message has no answer to learn: drop it.
  const droppedLastUser = dialog.length % 2 === 1;
  if (droppedLastUser) dialog = dialog.slice(0, -1);
  if (dialog.length === 0) return undefined;
  // 3. Each (user, answer) pair on its own, BOS ... EOS; the answer part is what follows the prompt's tokens.
  const tokens: number[] = [];
  const mask: number[] = [];
  for (let i = 0; i < dialog.length; i += 2) {
    const user = pyStrip(dialog[i].content), answer = pyStrip(dialog[i + 1].content);
    const pair = tok.encode(`${B_INST} ${user} ${E_INST} ${answer} `, { bos: true, eos: true });
    const prompt = tok.encode(`${B_INST} ${user} ${E_INST}`, { bos: true });
    let k = 0;
    while (k < prompt.length && k < pair.length && prompt[k] === pair[k]) k++;
    for (let j = 0; j < pair.length; j++) { tokens.push(pair[j]); mask.push(j >= k ? 1 : 0); }
  }
  return { tokens, mask: Uint8Array.from(mask), droppedLastUser };
}

export interface InstructOptions {
  input: string;
  out: string;
  tokenizer: Tokenizer;
  tokenizerFile: string;
  ctx?: number;
  val?: number;
  seed?: number;
  force?: boolean;
  maxOpen?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Build an instruction dataset; see the file comment. */
export function buildInstructDataset(opts: InstructOptions): { manifest: DatasetManifest } {
  const ctx = opts.ctx ?? 2048, val = opts.val ?? 0, seed = opts.seed ?? 0;
  checkCommonOptions({ ctx, val, seed });
  const tok = opts.tokenizer;
  // 1. Read and check every line.
  let text: string;
  try {
    text = readFileSync(opts.input, "utf8");
  } catch (e) {
    throw new UserError(`--in ${opts.input}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const dialogs = parseDialogs(text, opts.input);
  if (dialogs.length === 0) throw new UserError(`--in ${opts.input}: no dialogs (the file has no non-blank lines)`);
  // 2. Tokens and masks; skipped dialogs are counted.
  const counts = { read: dialogs.length, used: 0, noAnswer: 0, specialTags: 0, tooLong: 0, lastUserDropped: 0 };
  const built: { tokens: number[]; mask: Uint8Array }[] = [];
  dialogs.forEach((d, i) => {
    opts.onProgress?.(i + 1, dialogs.length);
    if (findSpecialTags(d.messages).length > 0) { counts.specialTags++; return; }
    const t = dialogTokens(tok, d.messages);
    if (!t) { counts.noAnswer++; return; }
    if (t.droppedLastUser) counts.lastUserDropped++;
    if (t.tokens.length > ctx) { counts.tooLong++; return; }
    counts.used++;
    built.push(t);
  });
  if (built.length === 0) {
    throw new UserError(`--in ${opts.input}: none of the ${dialogs.length} dialogs is usable (${counts.noAnswer} without an answer, ${counts.specialTags} with special tags, ${counts.tooLong} longer than --ctx ${ctx})`);
  }
  // 3. Split, pack, write.
  const split = splitDocuments(built.length, val, seed);
  const dir = new DatasetDir(opts.out, opts.force);
  try {
    const tokenBytes = tokenBytesFor(tok.vocabSize), padId = tok.special.eos;
    const stats = {} as Record<SplitName, SplitStats>;
    for (const name of ["train", "val"] as const) {
      const writer = new SplitWriter(dir.tmp, name, ctx, tokenBytes, padId);
      try {
        const packer = new Packer(writer, opts.maxOpen ?? DEFAULT_MAX_OPEN);
        for (const d of split[name]) packer.add(built[d].tokens, DOC_INSTRUCT, built[d].mask);
        packer.finish();
        writer.finish();
        stats[name] = splitStats(writer, packer.splitDocuments, { eligible: 0, transformed: 0, psm: 0, spm: 0, tooLongAfterTransform: 0, notEligible: 0 });
      } finally {
        writer.abort();
      }
    }
    const manifest: DatasetManifest = {
      format: FORMAT_NAME, version: FORMAT_VERSION, kind: "instruct",
      ctx, tokenBytes, padId, seed,
      tokenizer: tokenizerRecord(tok, opts.tokenizerFile),
      options: { input: opts.input, val },
      dialogs: counts,
      splits: stats,
    };
    dir.commit(manifest);
    return { manifest };
  } catch (e) {
    dir.abort();
    throw e;
  }
}
