/**
 * The packed token dataset format written by `codellama data build` / `data instruct` and read by
 * `PackedDataset` (reader.ts). One folder per dataset:
 *
 *   DATASET/manifest.json   what was built and how (DatasetManifest below; no timestamps, so the
 *                           same inputs and seed give the same bytes)
 *   DATASET/train.bin       tokens: numSeqs sequences of exactly `ctx` tokens, little-endian,
 *                           uint16 (tokenBytes 2, vocabularies of at most 65,536 pieces) or uint32
 *                           (tokenBytes 4). Sequence s starts at byte s * ctx * tokenBytes.
 *   DATASET/train.mask      loss mask: one byte per token, same positions as train.bin.
 *                           1 = token i is a target (the loss of predicting it from the tokens
 *                           before it counts), 0 = not (padding; instruction prompts).
 *                           Pretraining data: 1 everywhere except padding.
 *   DATASET/train.idx       the segment index (binary, little-endian u32 throughout):
 *                             0  magic "CLDI" (43 4C 44 49)
 *                             4  version (1)
 *                             8  ctx
 *                            12  tokenBytes (2 | 4)
 *                            16  numSeqs
 *                            20  numSegs
 *                            24  numDocs
 *                            28  padId (the token that fills padding; its mask is 0)
 *                            32  segStart: u32[numSeqs + 1]; the segments of sequence s are
 *                                records segStart[s] .. segStart[s+1]-1, in position order
 *                            ..  segments: numSegs records of 4 x u32 {pos, len, doc, part}
 *                                pos/len: where the segment lies in its sequence;
 *                                doc: the document (0-based, in this split);
 *                                part: chunk number; chunk k holds the document's tokens
 *                                [k*ctx, k*ctx + len) (only documents longer than ctx have k > 0)
 *                            ..  docs: numDocs records of 2 x u32 {tokens, flags}
 *                                tokens: the document's length in tokens (with BOS/EOS);
 *                                flags: DOC_FIM | DOC_SPM | DOC_INSTRUCT
 *   DATASET/val.bin, val.mask, val.idx   the same for the validation split (possibly 0 sequences)
 *
 * Packing rules (packer.ts): a segment is a whole document (BOS ... EOS) or one ctx-sized chunk of
 * a longer one; segments never overlap; positions after the last segment of a sequence are
 * padding (padId, mask 0). A trainer that respects document boundaries resets attention (and,
 * if it wants, positions) at every segment start; one that does not can read the tokens as is.
 */

export const IDX_MAGIC = 0x49444c43; // "CLDI" read as a little-endian u32
export const IDX_VERSION = 1;
export const IDX_HEADER_BYTES = 32;
/** u32 words per segment record: pos, len, doc, part. */
export const SEG_WORDS = 4;
/** u32 words per document record: tokens, flags. */
export const DOC_WORDS = 2;

/** Document flags (docs[].flags). */
export const DOC_FIM = 1;
export const DOC_SPM = 2;
export const DOC_INSTRUCT = 4;

export const FORMAT_NAME = "codellama-packed";
export const FORMAT_VERSION = 1;

export type SplitName = "train" | "val";
export const SPLITS: readonly SplitName[] = ["train", "val"];

/** The three files of a split, relative to the dataset folder. */
export function splitFiles(split: SplitName): { bin: string; mask: string; idx: string } {
  return { bin: `${split}.bin`, mask: `${split}.mask`, idx: `${split}.idx` };
}

/** Bytes per token for a vocabulary size. */
export function tokenBytesFor(vocabSize: number): 2 | 4 {
  return vocabSize <= 65536 ? 2 : 4;
}

/** One segment of a sequence. */
export interface Segment {
  /** First position in the sequence. */
  pos: number;
  len: number;
  /** Document number in the split. */
  doc: number;
  /** Chunk number within the document (0 = starts with the document's first token). */
  part: number;
}

/** Per-split statistics in the manifest. */
export interface SplitStats {
  documents: number;
  sequences: number;
  segments: number;
  /** Document tokens (excluding padding). */
  tokens: number;
  padTokens: number;
  /** Tokens whose mask is 1. */
  targetTokens: number;
  /** Documents longer than ctx, cut into ctx-sized chunks. */
  splitDocuments: number;
  /** FIM: documents transformed (psm + spm), those short enough to be eligible, and the rest. */
  fim: { eligible: number; transformed: number; psm: number; spm: number; tooLongAfterTransform: number; notEligible: number };
}

export interface LicenseRecord {
  /** The folder (a --src root or an npm package inside it), as given / relative to its root. */
  path: string;
  /** License files found there (LICENSE*, LICENCE*, COPYING*, ...) and what they look like. */
  files: { file: string; license: string }[];
  /** package.json "license" (or legacy "licenses"), when there is a package.json. */
  packageJson?: string;
  /** The package name, when there is a package.json. */
  package?: string;
}

export interface SourceRecord {
  path: string;
  /** Files with a requested extension found under it. */
  files: number;
  /** Of those, documents that made it into the dataset (after filters and dedup). */
  documents: number;
  bytes: number;
  licenses: LicenseRecord[];
}

export interface DatasetManifest {
  format: typeof FORMAT_NAME;
  version: typeof FORMAT_VERSION;
  kind: "pretrain" | "instruct";
  ctx: number;
  tokenBytes: 2 | 4;
  padId: number;
  seed: number;
  tokenizer: { file: string; sha256: string; vocabSize: number; bos: number; eos: number; prefix?: number; suffix?: number; middle?: number; eot?: number };
  /** The build options (pretrain: languages, fimRate, spmRate, val, maxBytes; instruct: val, input). */
  options: Record<string, unknown>;
  /** Pretrain only. */
  sources?: SourceRecord[];
  /** Pretrain: candidate files and why each removed one was dropped (first matching reason). */
  filter?: Record<string, number>;
  /** Pretrain: exact and near duplicates removed, and the MinHash parameters. */
  dedup?: { exact: number; near: number; kept: number; minhash: Record<string, number> };
  /** Documents per language (pretrain) after filtering and dedup. */
  languages?: Record<string, number>;
  /** Instruct: dialogs read, dropped and why. */
  dialogs?: Record<string, number>;
  splits: Record<SplitName, SplitStats>;
}
