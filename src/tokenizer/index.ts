export {
  ClipTokenizer,
  type ClipTokenizerData,
  type EncodeForModelOptions,
  type ModelInput,
  type ModelInputBatch,
} from './clip-tokenizer.js';
export { TokenizerError } from './errors.js';
export { BytePairEncoder, END_OF_WORD } from './bpe.js';
export { BYTE_TO_CHAR, byteCharsInVocabOrder, toByteChars, fromByteChars } from './byte-level.js';
export { basicClean, preTokenize, isCjkIdeograph } from './normalize.js';
export {
  readVocab,
  readMerges,
  parseMerges,
  readSpecialTokens,
  MAX_MERGES,
  CLIP_DEFAULT_TOKENS,
  type SpecialTokenSettings,
  type SpecialTokenRole,
} from './files.js';
export {
  parsePromptAttention,
  isPlainPrompt,
  encodeWeightedChunks,
  BREAK_WEIGHT,
  type WeightedText,
  type WeightedChunks,
  type WeightedChunkOptions,
} from './emphasis.js';
