// Infilling against llama.cpp (node-llama-cpp 3.22.1, CPU) on a tiny random FIM model (F32, GQA,
// Code Llama's 32016-piece vocabulary): our PSM/SPM prompt ids are fed to llama.cpp as ids (its
// own infill prompt builder is not used: its suffix tokenization and SPM order differ from
// Meta's), with an F32 KV cache and flash attention off; the greedy middle must be the same
// as our engine's (kvType f32), up to the first <EOT> or N tokens.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeSynthLlama } from "../../src/format/synth-llama.js";
import { Engine } from "../../src/engine/engine.js";
import { infillPromptTokens } from "../../src/prompt/infill.js";
import { LLAMA_VOCAB_GGUF, SCRATCH } from "../helpers/paths.js";
import { peerGreedy } from "../helpers/peer-model.js";

const N = 24;
const EOT = 32010;
const CASES = [
  { prefix: 'def remove_non_ascii(s: str) -> str:\n    """ ', suffix: "\n    return result\n" },
  { prefix: "def fibon", suffix: "acci(n):\n    pass\n" },
  { prefix: "", suffix: " = compute(x)\n" },
  { prefix: "class Point:\n    def __init__(self, x, y):\n", suffix: "" },
];

/** Tokens up to (not including) the first <EOT>. */
const untilEot = (t: number[]) => (t.includes(EOT) ? t.slice(0, t.indexOf(EOT)) : t);

test("greedy infill middles equal llama.cpp's on the same prompt ids (PSM and SPM)", async () => {
  mkdirSync(SCRATCH, { recursive: true });
  const path = join(SCRATCH, "prompt-infill-parity.gguf");
  writeSynthLlama(path, {
    dim: 128, layers: 3, heads: 8, kvHeads: 2, ffn: 320, type: "f32", vocab: LLAMA_VOCAB_GGUF, fim: true,
    seed: 21, normNoise: 0.1, outputStd: 0.2, name: "codellama-infill-parity",
  });
  const engine = await Engine.load(path, { kvType: "f32", threads: 2, ctx: 256 });
  try {
    for (const c of CASES) {
      for (const spm of [false, true]) {
        const what = `${JSON.stringify(c)} spm=${spm}`;
        const ours = await engine.infill(c.prefix, c.suffix, { spm, temperature: 0, maxTokens: N }).result;
        const ids = infillPromptTokens(engine.tokenizer, c.prefix, c.suffix, { spm });
        assert.deepEqual(ours.promptTokens, ids);
        const peer = await peerGreedy(path, ids, N, { kv: "f32", flashAttention: false });
        assert.deepEqual(ours.tokens, untilEot(peer.tokens), what);
        assert.ok(ours.tokens.length > 0, what);
        assert.equal(ours.generation, engine.tokenizer.decodeInfilling(ours.tokens));
      }
    }
  } finally {
    await engine.close();
  }
});
