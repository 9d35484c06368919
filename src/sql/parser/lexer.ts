/** Splits SQL text into tokens that remember where they start. */
import type { SourcePos } from '../diagnostics.ts';
import { sqlError } from '../diagnostics.ts';

export type TokenType = 'word' | 'quoted' | 'string' | 'number' | 'op' | 'eof';

export interface Token {
  readonly type: TokenType;
  /** For `word` the text as written; keywords are matched case-insensitively through `upper`. */
  readonly text: string;
  readonly upper: string;
  readonly pos: SourcePos;
}

const OPERATORS = ['<>', '!=', '<=', '>=', '||', '::', '=', '<', '>', '+', '-', '*', '/', '%', '(', ')', ',', '.', ';', '{', '}', '?', '|'];

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const posAt = (offset: number): SourcePos => ({ offset, line, column: offset - lineStart + 1 });
  const push = (type: TokenType, text: string, pos: SourcePos) =>
    tokens.push({ type, text, upper: type === 'word' ? text.toUpperCase() : text, pos });

  while (i < sql.length) {
    const c = sql[i]!;
    if (c === '\n') {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const start = posAt(i);
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) throw sqlError('SQL_SYNTAX', sql, start, 'unterminated comment', 'Close the comment with */.');
      for (let j = i; j < end; j++) if (sql[j] === '\n') {
        line++;
        lineStart = j + 1;
      }
      i = end + 2;
      continue;
    }
    const pos = posAt(i);
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < sql.length && /[A-Za-z0-9_$]/.test(sql[j]!)) j++;
      push('word', sql.slice(i, j), pos);
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      let j = i;
      while (j < sql.length && /[0-9]/.test(sql[j]!)) j++;
      if (sql[j] === '.' && /[0-9]/.test(sql[j + 1] ?? '')) {
        j++;
        while (j < sql.length && /[0-9]/.test(sql[j]!)) j++;
      }
      if ((sql[j] === 'e' || sql[j] === 'E') && /[-+0-9]/.test(sql[j + 1] ?? '')) {
        j += 2;
        while (j < sql.length && /[0-9]/.test(sql[j]!)) j++;
      }
      push('number', sql.slice(i, j), pos);
      i = j;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      let text = '';
      for (;;) {
        if (j >= sql.length) {
          const what = c === "'" ? 'string literal' : 'quoted identifier';
          throw sqlError('SQL_SYNTAX', sql, pos, `unterminated ${what}`, `Close it with ${c}; write ${c}${c} for a ${c} inside.`);
        }
        const d = sql[j]!;
        if (d === c) {
          if (sql[j + 1] === c) {
            text += c;
            j += 2;
            continue;
          }
          break;
        }
        if (d === '\n') {
          line++;
          lineStart = j + 1;
        }
        text += d;
        j++;
      }
      push(c === "'" ? 'string' : 'quoted', text, pos);
      i = j + 1;
      continue;
    }
    const op = OPERATORS.find((o) => sql.startsWith(o, i));
    if (!op) throw sqlError('SQL_SYNTAX', sql, pos, `unexpected character '${c}'`, 'Remove it or quote it inside a string literal.');
    push('op', op, pos);
    i += op.length;
  }
  push('eof', '', posAt(i));
  return tokens;
}
