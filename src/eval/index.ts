/** Issue 7's evaluation: the emoji classifier (FD-emoji features, alignment), Fréchet distance, the table's rows and the runner. */
export { EvalError } from './errors.js';
export {
  classifierForward,
  softmaxCrossEntropy,
  defaultArchitecture,
  featureSize,
  type ClassifierArchitecture,
} from './classifier-graph.js';
export {
  EmojiClassifier,
  loadEmojiClassifier,
  saveClassifier,
  readClassifierFile,
  CLASSIFIER_FORMAT,
  type ClassifierInfo,
  type ClassifierOptions,
  type Classification,
} from './classifier.js';
export {
  trainEmojiClassifier,
  classifierTrainingDefaults,
  accuracy,
  type TrainClassifierOptions,
  type ClassifierProgress,
  type TrainedClassifier,
} from './classifier-train.js';
export {
  featureStatistics,
  frechetDistance,
  frechetDistanceFromStatistics,
  symmetricEigen,
  symmetricSqrt,
  type FeatureStatistics,
} from './frechet.js';
export {
  EVAL_ROWS,
  LORA_ROLES,
  TEACHER_ROW,
  TEACHER_GUIDANCE,
  TDD_SAMPLING,
  TDD_X0_CLIPPING,
  selectRows,
  type EvalRow,
  type LoraRole,
} from './rows.js';
export { runEval, evalDefaults, type EvalOptions, type EvalEvents, type LoraPaths } from './run-eval.js';
export { checkClaims, type EvalResults, type RowResult, type ClaimCheck } from './results.js';
export { evalMarkdown } from './report.js';
