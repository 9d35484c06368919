export { parseSql } from './parser.ts';
export { parseTimestampText } from './expressions.ts';
