/**
 * Chat messages: their type, the order rules of Meta's `chat_completion`, and reading a saved
 * conversation (JSON) back with clear errors.
 *
 * Order rule (both chat formats, reference §5.1 step 3 and §5.2 step 3): an optional system
 * message first, then user and assistant alternating, starting with user. A prompt must end with
 * a user message; a saved history may also end with the assistant's answer.
 *
 * Saved form: a JSON array of `{"role", "content"}` objects (70B answers also carry
 * `"destination": "user"`, as the reference returns them). `{"messages": [...]}` is accepted too.
 */
import { UserError } from "../util/errors.js";

export type ChatRole = "system" | "user" | "assistant";

export interface ChatMessage {
  role: ChatRole;
  content: string;
  /** 70B format only: adds "\nDestination: <destination>" to the message header. */
  destination?: string;
}

const ROLES: readonly string[] = ["system", "user", "assistant"];

/** 1-based message number plus its role, for error messages. */
const at = (i: number, m: ChatMessage) => `message ${i + 1} (${m.role})`;

/**
 * Check the order of `messages`. With `endWithUser` (a prompt), the last message must be the
 * user's; without it (a saved history) it may also be the assistant's, and the list may be empty.
 */
export function checkMessageOrder(messages: readonly ChatMessage[], opts: { endWithUser: boolean }): void {
  // 1. An empty prompt has nothing to answer.
  if (messages.length === 0) {
    if (opts.endWithUser) throw new UserError("the conversation has no messages; it needs at least one user message");
    return;
  }
  // 2. An optional system message first, then user, assistant, user, ...
  const first = messages[0].role === "system" ? 1 : 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (!ROLES.includes(m.role)) throw new UserError(`${at(i, m)}: the role must be "system", "user" or "assistant"`);
    if (i < first) continue;
    const want: ChatRole = (i - first) % 2 === 0 ? "user" : "assistant";
    if (m.role !== want) {
      const why = m.role === "system" ? "a system message may only come first" : `expected a ${want} message here`;
      throw new UserError(`${at(i, m)}: ${why}; roles must be an optional system message, then user and assistant alternating, starting with user`);
    }
  }
  // 3. A prompt ends with the user's turn (the reference asserts dialog[-1]["role"] == "user").
  const last = messages[messages.length - 1];
  if (opts.endWithUser && last.role !== "user") {
    throw new UserError(`the conversation must end with a user message, but the last one is from the ${last.role}`);
  }
}

/** Parse and check a saved conversation; `name` (the file) starts every error message. */
export function parseMessages(json: string, name: string): ChatMessage[] {
  // 1. JSON syntax.
  let data: unknown;
  try {
    data = JSON.parse(json.replace(/^\ufeff/, ""));
  } catch (e) {
    throw new UserError(`${name}: not valid JSON (${(e as Error).message})`);
  }
  // 2. An array of messages, or an object holding one under "messages".
  if (data !== null && typeof data === "object" && !Array.isArray(data) && Array.isArray((data as { messages?: unknown }).messages)) {
    data = (data as { messages: unknown[] }).messages;
  }
  if (!Array.isArray(data)) throw new UserError(`${name}: expected a JSON array of {"role", "content"} messages`);
  // 3. Each message: a known role, string content, optional string destination.
  const out: ChatMessage[] = data.map((m: unknown, i) => {
    const where = `${name}: message ${i + 1}`;
    if (m === null || typeof m !== "object" || Array.isArray(m)) throw new UserError(`${where} is not an object with "role" and "content"`);
    const { role, content, destination } = m as Record<string, unknown>;
    if (typeof role !== "string" || !ROLES.includes(role)) throw new UserError(`${where}: "role" must be "system", "user" or "assistant", got ${JSON.stringify(role) ?? "nothing"}`);
    if (typeof content !== "string") throw new UserError(`${where}: "content" must be a string`);
    if (destination !== undefined && destination !== null && typeof destination !== "string") throw new UserError(`${where}: "destination" must be a string`);
    const msg: ChatMessage = { role: role as ChatRole, content };
    if (typeof destination === "string") msg.destination = destination;
    return msg;
  });
  // 4. The order rules, allowing a history that ends with the assistant's answer.
  try {
    checkMessageOrder(out, { endWithUser: false });
  } catch (e) {
    throw new UserError(`${name}: ${(e as Error).message}`);
  }
  return out;
}

/** The saved form of a conversation (pretty JSON, one trailing newline). */
export function formatMessages(messages: readonly ChatMessage[]): string {
  return JSON.stringify(messages, null, 2) + "\n";
}
