/**
 * llama.cpp as a test peer, through the node-llama-cpp devDependency (CPU only, prebuilt
 * binary, never builds or downloads: `getLlama({gpu: false, build: "never"})`).
 *
 * One `Llama` runtime is created per process and shared; each model file is loaded once and
 * cached. Call `disposePeer()` at the end of a test file (an `after` hook) so node can exit.
 *
 * Today it tokenizes (vocab-only loads); logits / greedy helpers for full models belong here
 * too (see /work/shared/tools/peer.mjs for how those calls look in node-llama-cpp 3.22.1).
 */
import type { Llama, LlamaModel } from "node-llama-cpp";

let llamaPromise: Promise<Llama> | undefined;
const models = new Map<string, Promise<LlamaModel>>();

/** The shared llama.cpp runtime (CPU backend, errors only in the log). */
export function getPeer(): Promise<Llama> {
  llamaPromise ??= (async () => {
    const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
    return getLlama({
      gpu: false,
      build: "never",
      logLevel: LlamaLogLevel.error,
      // node-llama-cpp first tries a full load of a vocab-only GGUF and logs the missing tensor;
      // that line is expected, everything else at error level is shown.
      logger: (_level, message) => {
        if (!/missing tensor|failed to load model|token_embd/.test(message)) process.stderr.write(`[llama.cpp] ${message.trim()}\n`);
      },
    });
  })();
  return llamaPromise;
}

export interface PeerModelOptions {
  /** Load only the vocabulary (enough for tokenization; works on vocab-only GGUFs). */
  vocabOnly?: boolean;
}

/** Load (once) a GGUF with the peer. */
export function peerModel(modelPath: string, opts: PeerModelOptions = {}): Promise<LlamaModel> {
  const key = `${modelPath}\u0000${opts.vocabOnly ? "vocab" : "full"}`;
  let m = models.get(key);
  if (!m) {
    m = getPeer().then((llama) => llama.loadModel({ modelPath, gpuLayers: 0, vocabOnly: opts.vocabOnly ?? false }));
    models.set(key, m);
  }
  return m;
}

/**
 * llama.cpp's token ids for `text`: `common_tokenize(vocab, text, add_special=false,
 * parse_special=false)` — no BOS, and "<s>" in the text is plain text.
 */
export async function peerTokenize(modelPath: string, text: string): Promise<number[]> {
  const model = await peerModel(modelPath, { vocabOnly: true });
  return Array.from(model.tokenize(text, false), Number);
}

/** Release every loaded model and the runtime. */
export async function disposePeer(): Promise<void> {
  for (const m of models.values()) {
    try { await (await m).dispose(); } catch { /* failed loads have nothing to dispose */ }
  }
  models.clear();
  if (llamaPromise) {
    const llama = await llamaPromise;
    llamaPromise = undefined;
    await llama.dispose();
  }
}
