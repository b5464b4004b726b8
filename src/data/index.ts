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
