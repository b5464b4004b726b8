/**
 * The Code Llama data pipeline: source trees to packed token datasets (format.ts describes the
 * files; PackedDataset reads them), FIM, instruction dialogs, and the Code Llama vocabulary file.
 */
export * from "./format.js";
export { PackedDataset, readManifest, type DocumentInfo } from "./reader.js";
export { SplitWriter } from "./writer.js";
export { Packer, DEFAULT_MAX_OPEN } from "./packer.js";
export { DatasetDir } from "./dataset-dir.js";
export { FimTransformer, fimLayout, fimSplit, fimSplitAt, codePointCount, type FimParts, type FimOptions, type FimCounts, type DocumentTokens } from "./fim.js";
export { buildDataset, checkCommonOptions, MIN_CTX, MAX_CTX, type BuildOptions, type BuildResult, type ProgressStage } from "./build.js";
export { buildInstructDataset, dialogTokens, parseDialogs, type Dialog, type DialogTokens, type InstructOptions } from "./instruct.js";
export { walkSources, parseLanguages, languageOf, LANGUAGES, type SourceFile, type WalkResult } from "./walk.js";
export { readAndFilter, classifyText, FILTER_REASONS, DEFAULT_FILTER, type FilterOptions, type FilterReason } from "./filter.js";
export { MinHasher, NearDedup, shingleHashes, estimateJaccard, DEFAULT_MINHASH, type MinHashOptions } from "./minhash.js";
export { identifyLicense, packageJsonLicense } from "./licenses.js";
export { splitDocuments, validationCount, shuffled } from "./split.js";
export { writeCodeLlamaVocab, ensureCodeLlamaVocab, loadDataTokenizer, defaultModelPath, vocabFingerprint } from "./vocab.js";
