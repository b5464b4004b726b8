/**
 * `codellama chat --model FILE`: talk to an Instruct model (src/prompt/chat.ts picks the [INST]
 * or the 70B <step> format from the vocabulary).
 *
 *  - Interactive (no --message): a terminal chat that streams each answer and keeps the history.
 *    Commands: /reset (keep only the system prompt), /save FILE, /load FILE (JSON of messages),
 *    /help, /exit. Ctrl-C stops the current answer (it is kept, cut short) without leaving; at
 *    the prompt, Ctrl-C twice or Ctrl-D leaves. A line starting with "//" is sent with one "/"
 *    less. Answers go to stdout; notices and errors go to stderr, and an error in one turn
 *    (a prompt too long, special tags, a bad /load file) is reported without leaving.
 *    The KV cache is reused between turns for the part of the prompt that did not change.
 *  - Scripts: --message M answers one message (after --history FILE, if given) and exits;
 *    --json prints {"message", "messages", "promptTokens", "tokens", "stopReason"}.
 *    --save FILE writes the conversation with the answer (after every answer when interactive).
 *
 * --system S sets the system prompt (replacing the one of a loaded history). Sampling defaults are
 * example_instructions.py's (temperature 0.2, top-p 0.95).
 */
import { readFileSync } from "node:fs";
import { createInterface, type Interface } from "node:readline";
import type { Command } from "commander";
import { Engine, type ChatResult } from "../../engine/engine.js";
import type { StopReason } from "../../generate/generate.js";
import { formatMessages, parseMessages, type ChatMessage } from "../../prompt/messages.js";
import { writeFileAtomic } from "../../util/atomic-write.js";
import { UserError } from "../../util/errors.js";
import { addModelOptions, addSamplingOptions, loadOptions, samplingOptions, type ModelCliOptions, type SamplingCliOptions, modelPath } from "../options.js";
import { setDefault } from "./infill.js";

interface ChatCliOptions extends ModelCliOptions, SamplingCliOptions {
  system?: string;
  message?: string;
  history?: string;
  save?: string;
  json?: boolean;
  allowSpecialTags?: boolean;
}

const HELP = [
  "/reset        start over (the system prompt stays)",
  "/save FILE    write the conversation as JSON",
  "/load FILE    continue a saved conversation",
  "/exit         leave (or Ctrl-D); Ctrl-C stops an answer",
  "//text        send a line that starts with \"/\"",
].join("\n");

// ------------------------------------------------------------------ conversation files

/** A saved conversation, with clear errors for a missing file or bad JSON. */
export function readConversation(path: string): ChatMessage[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${path}: ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a folder, not a file" : `cannot be read (${code ?? (e as Error).message})`}`);
  }
  return parseMessages(text, path);
}

function writeConversation(path: string, messages: readonly ChatMessage[]): void {
  try {
    writeFileAtomic(path, formatMessages(messages));
  } catch (e) {
    throw new UserError(`${path}: cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** `messages` with `system` as its system prompt (replacing one that is there). */
function withSystem(messages: readonly ChatMessage[], system: string | undefined): ChatMessage[] {
  if (system === undefined) return [...messages];
  const rest = messages[0]?.role === "system" ? messages.slice(1) : messages;
  return [{ role: "system", content: system }, ...rest];
}

// ------------------------------------------------------------------ the command

export function register(program: Command): void {
  const cmd = program.command("chat").description("chat with an Instruct model (interactive, or one --message for scripts)");
  addModelOptions(cmd, { defaultModel: true });
  addSamplingOptions(cmd);
  // example_instructions.py's sampling.
  setDefault(cmd, "--temperature", 0.2);
  setDefault(cmd, "--top-p", 0.95);
  cmd
    .option("-s, --system <text>", "system prompt")
    .option("--message <text>", "answer this one message and exit (for scripts)")
    .option("--history <file>", "start from a saved conversation (JSON of messages)")
    .option("--save <file>", "write the conversation (JSON) after the answer")
    .option("--json", 'with --message: print {"message", "messages", "promptTokens", "tokens", "stopReason"}')
    .option("--allow-special-tags", "allow [INST], <<SYS>>, <step>, ... inside messages (Meta refuses them)")
    .action(async (o: ChatCliOptions) => {
      // 1. Flags and the starting conversation, before the model is loaded.
      if (o.json && o.message === undefined) throw new UserError("--json needs --message (the interactive chat prints text)");
      const start = withSystem(o.history !== undefined ? readConversation(o.history) : [], o.system);
      o.model = modelPath(o);
      const engine = await Engine.load(o.model, loadOptions(o));
      try {
        if (o.message !== undefined) await answerOnce(engine, o, start, o.message);
        else await interactive(engine, o, start);
      } finally {
        await engine.close();
      }
    });
}

function chatOptions(o: ChatCliOptions) {
  return { ...samplingOptions(o), allowSpecialTags: o.allowSpecialTags === true };
}

/** --message: one answer, streamed or as JSON. */
async function answerOnce(engine: Engine, o: ChatCliOptions, history: ChatMessage[], message: string): Promise<void> {
  const messages: ChatMessage[] = [...history, { role: "user", content: message }];
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once("SIGINT", onSigint);
  try {
    const gen = engine.chat(messages, { ...chatOptions(o), signal: abort.signal });
    for await (const step of gen) if (!o.json) process.stdout.write(step.text);
    const r = await gen.result;
    const conversation = [...messages, r.message];
    if (o.save !== undefined) writeConversation(o.save, conversation);
    if (o.json) {
      process.stdout.write(JSON.stringify({ message: r.message, messages: conversation, promptTokens: r.promptTokens, tokens: r.tokens, stopReason: r.stopReason }) + "\n");
    } else process.stdout.write("\n");
  } finally {
    process.off("SIGINT", onSigint);
  }
}

// ------------------------------------------------------------------ interactive

/** Why an answer ended, when that is worth telling the user. */
function endNote(reason: StopReason): string | undefined {
  if (reason === "aborted") return "(stopped)";
  if (reason === "context") return "(the context is full; /reset to start over, or use a larger --ctx)";
  return undefined;
}

async function interactive(engine: Engine, o: ChatCliOptions, start: ChatMessage[]): Promise<void> {
  const tty = process.stdin.isTTY === true;
  const note = (s: string) => process.stderr.write(s + "\n");
  let messages = start;
  let cached: number[] = [];
  // 1. While an answer streams, Ctrl-C aborts it. At the prompt it clears a typed line; on an
  //    empty line it warns, and a second one right after leaves (as Node's REPL). Without a
  //    terminal, SIGINT arrives as a signal instead of a key, and leaves when no answer runs.
  let abort: AbortController | undefined;
  let armed = false;
  const rl: Interface = createInterface({ input: process.stdin, output: process.stdout, terminal: tty, prompt: ">>> " });
  const onSigint = () => {
    if (abort) { abort.abort(); return; }
    if (tty && rl.line.length > 0) {
      rl.write(null, { ctrl: true, name: "u" });
      armed = false;
      return;
    }
    if (!tty || armed) { rl.close(); return; }
    armed = true;
    note("\n(press Ctrl-C again or Ctrl-D to leave)");
    rl.prompt();
  };
  rl.on("SIGINT", onSigint);
  process.on("SIGINT", onSigint);
  if (tty) note(`Chat with ${o.model}. /help for commands, Ctrl-D to leave.`);
  const prompt = () => { if (tty) rl.prompt(); };
  prompt();
  try {
    for await (const raw of rl) {
      armed = false;
      const line = raw.trimEnd();
      try {
        // 2. Commands.
        if (line.startsWith("/") && !line.startsWith("//")) {
          const [name, ...rest] = line.slice(1).split(/\s+/);
          const arg = rest.join(" ").trim();
          if (name === "exit" || name === "quit") break;
          else if (name === "help") note(HELP);
          else if (name === "reset") {
            messages = messages[0]?.role === "system" ? [messages[0]] : [];
            note("(conversation cleared)");
          } else if (name === "save" || name === "load") {
            if (!arg) throw new UserError(`/${name} needs a file name: /${name} FILE`);
            if (name === "save") {
              writeConversation(arg, messages);
              note(`(saved ${messages.length} messages to ${arg})`);
            } else {
              messages = readConversation(arg);
              note(`(loaded ${messages.length} messages from ${arg})`);
            }
          } else throw new UserError(`unknown command /${name} (try /help)`);
        } else if (line.trim() !== "") {
          // 3. A question: answer it, keep both in the history.
          await turn(line.startsWith("//") ? line.slice(1) : line);
        }
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        note(`error: ${e.message}`);
      }
      prompt();
    }
  } finally {
    rl.off("SIGINT", onSigint);
    process.off("SIGINT", onSigint);
    rl.close();
  }

  async function turn(content: string): Promise<void> {
    const asked: ChatMessage[] = [...messages, { role: "user", content }];
    abort = new AbortController();
    try {
      // engine.chat throws UserErrors (order, special tags, prompt too long) before generating.
      const gen = engine.chat(asked, { ...chatOptions(o), signal: abort.signal, cachedTokens: cached });
      for await (const step of gen) process.stdout.write(step.text);
      const r: ChatResult = await gen.result;
      process.stdout.write("\n");
      const why = endNote(r.stopReason);
      if (why) note(why);
      // An answer cut short by Ctrl-C is kept as it was shown.
      messages = [...asked, r.message];
      cached = r.cachedTokens;
      if (o.save !== undefined) writeConversation(o.save, messages);
    } finally {
      abort = undefined;
    }
  }
}
