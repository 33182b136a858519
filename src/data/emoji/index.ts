export {
  EMOJI_STYLES,
  EmojiDataError,
  emojiPackageDir,
  loadEmojiCatalog,
  type EmojiCatalog,
  type EmojiEntry,
  type EmojiSkipCounts,
  type EmojiStyle,
  type LoadEmojiCatalogOptions,
} from './catalog.js';
export { EMOJI_STYLE_WORDS, captionWords, emojiCaption, subcategoryLabel, subcategoryLabels } from './captions.js';
export { HELD_OUT_MODULUS, fnv1a32, isHeldOutEmoji, splitEmoji, type EmojiSplit } from './split.js';
export {
  applyEmojiAugmentation,
  augmentEmoji,
  drawEmojiAugmentation,
  emojiPngToPixels,
  loadEmojiImage,
  type EmojiAugmentation,
  type EmojiAugmentOptions,
  type EmojiImageOptions,
} from './images.js';
export {
  EMOJI_SPLIT_NAMES,
  emojiDataset,
  emojiEntries,
  type EmojiDataset,
  type EmojiDatasetOptions,
  type EmojiSplitName,
} from './dataset.js';
export {
  EMOJI_ATTRIBUTIONS,
  EMOJI_DATASOURCE_ATTRIBUTION,
  EMOJI_TRAINING_DATA_NOTICE,
  NOTO_EMOJI_ATTRIBUTION,
  TWEMOJI_ATTRIBUTION,
  formatAttribution,
  type DataAttribution,
} from './licence.js';
export {
  END_OF_TEXT,
  START_OF_TEXT,
  buildCaptionVocabulary,
  captionBpeWords,
  writeCaptionVocabulary,
  type CaptionVocabulary,
  type WriteVocabularyOptions,
} from './word-vocab.js';
