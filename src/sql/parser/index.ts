export { parseSql } from './parser.ts';
