/**
 * JSON read straight from bytes: one scanner that validates a text as `JSON.parse` does, finds the members a
 * caller wants (`JsonFields`), or builds the whole value (`parseJsonBytes`). The only door of this folder.
 */
export { JsonFields } from './fields.ts';
export { parseJsonBytes } from './parse.ts';
export {
  JSON_ABSENT,
  JSON_ARRAY,
  JSON_FALSE,
  JSON_NULL,
  JSON_NUMBER,
  JSON_OBJECT,
  JSON_STRING,
  JSON_TRUE,
  MAX_JSON_DEPTH,
  STRING_NON_ASCII,
  lastTopKind,
  scanJson,
  stringText,
  type MemberSink,
  type ScanOutcome,
} from './scan.ts';
