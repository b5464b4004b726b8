/**
 * Prompt building: pure functions from text (or chat messages) to token ids, exactly as Meta's
 * reference builds them. Infilling (PSM/SPM, the <FILL> marker) and the two chat formats.
 */
export { fimTokens, infillPromptTokens, splitFillMarker, FILL_MARKER, type FimTokens, type InfillPromptOptions } from "./infill.js";
export {
  chatPromptTokens, chatFormat, instPromptTokens, stepPromptTokens, assistantMessage, findSpecialTags, pyStrip,
  B_INST, E_INST, B_SYS, E_SYS, SPECIAL_TAGS, UNSAFE_ERROR, type ChatFormat, type ChatPrompt, type ChatPromptOptions,
} from "./chat.js";
export { checkMessageOrder, parseMessages, formatMessages, type ChatMessage, type ChatRole } from "./messages.js";
