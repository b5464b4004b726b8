// The paper's figures (Table 2, Table 14) and matching model names to its rows.
import { test } from "node:test";
import assert from "node:assert/strict";
import { matchPaperModel, paperFigures, resolvePaperModel } from "../../src/eval/paper.js";
import { UserError } from "../../src/util/errors.js";

test("matchPaperModel: file names, HF names, ollama tags, --compare spellings", () => {
  const cases: [string, string | undefined][] = [
    ["CodeLlama-7b-hf", "code-llama 7"],
    ["codellama-13b.Q4_K_M.gguf", "code-llama 13"],
    ["CodeLlama-7b-Python-hf", "code-llama-python 7"],
    ["codellama_codellama-34b-instruct-hf", "code-llama-instruct 34"],
    ["codellama:70b-instruct", "code-llama-instruct 70"],
    ["Llama-2-70b-hf", "llama-2 70"],
    ["llama-2-7b", "llama-2 7"],
    ["python-13b", "code-llama-python 13"],
    ["instruct-7b", "code-llama-instruct 7"],
    ["unnatural-34b", "unnatural-code-llama 34"],
    ["unnatural-7b", undefined], // no such row
    ["tiny.gguf", undefined],
    ["mistral-7b", undefined],
    ["codellama", undefined],
  ];
  for (const [name, want] of cases) {
    const m = matchPaperModel(name);
    assert.equal(m ? `${m.family} ${m.size}` : undefined, want, name);
  }
});

test("paperFigures: Table 2 rows for HumanEval and MBPP, Table 14 for infilling, none for the plus sets", () => {
  assert.deepEqual(paperFigures({ family: "code-llama", size: 7 }, "humaneval")?.figures, [{ k: 1, percent: 33.5 }, { k: 10, percent: 59.6 }, { k: 100, percent: 85.9 }]);
  assert.deepEqual(paperFigures({ family: "code-llama-python", size: 70 }, "mbpp")?.figures, [{ k: 1, percent: 65.6 }, { k: 10, percent: 81.5 }, { k: 100, percent: 91.9 }]);
  assert.equal(paperFigures({ family: "code-llama-instruct", size: 70 }, "humaneval")?.figures[0].percent, 67.8);
  assert.deepEqual(paperFigures({ family: "code-llama", size: 13 }, "humaneval-infill-multi", "spm")?.figures, [{ k: 1, percent: 56.1 }]);
  assert.deepEqual(paperFigures({ family: "code-llama", size: 7 }, "humaneval-infill-random", "psm")?.figures, [{ k: 1, percent: 59.7 }]);
  assert.equal(paperFigures({ family: "code-llama", size: 34 }, "humaneval-infill-single"), undefined);
  assert.equal(paperFigures({ family: "code-llama", size: 7 }, "humaneval-plus"), undefined);
});

test("resolvePaperModel: an explicit name wins; unknown names are one-line UserErrors", () => {
  assert.deepEqual(resolvePaperModel("python-7b", ["CodeLlama-13b-hf"]), { family: "code-llama-python", size: 7 });
  assert.deepEqual(resolvePaperModel(undefined, ["tiny.gguf", "CodeLlama-13b-hf"]), { family: "code-llama", size: 13 });
  assert.throws(() => resolvePaperModel("gpt-4", []), (e: unknown) => e instanceof UserError && /--compare: "gpt-4"/.test(e.message));
  assert.throws(() => resolvePaperModel(undefined, ["tiny.gguf"]), (e: unknown) => e instanceof UserError && /cannot tell/.test(e.message));
});
