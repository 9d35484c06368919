/**
 * A small lexer of PostgreSQL statement text: just enough to bind `$name` parameters as PostgreSQL's `$1`,
 * to find the first keyword, and to tell one statement from several. Strings, quoted identifiers, comments
 * and dollar-quoted bodies are skipped, so a `$name` or `;` inside them is left alone.
 */
import { TollstreamError } from '../core/errors.ts';

export interface NamedStatement {
  /** The text with every `$name` replaced by `$n` (the same name, the same number). */
  readonly text: string;
  /** Parameter names in `$n` order (those rendered with a placeholder). */
  readonly names: readonly string[];
  /** The first keyword, upper case (`SELECT`, `WITH`, `DELETE`...); '' for an empty text. */
  readonly firstKeyword: string;
  /** True when another statement follows a `;` (a trailing `;` alone does not count). */
  readonly multipleStatements: boolean;
}

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;

/**
 * Rewrites named parameters into positional ones. `render(name, placeholder)` gives the text of one occurrence
 * (e.g. the placeholder with `::timestamptz` for a Date); a name gets its `$n` only once `placeholder()` is called.
 */
export function toPositional(sql: string, render: (name: string, placeholder: () => string) => string = (_n, p) => p()): NamedStatement {
  const names: string[] = [];
  let out = '';
  let firstKeyword = '';
  let multipleStatements = false;
  let afterSemicolon = false;
  let i = 0;
  const n = sql.length;
  const code = (from: number, to: number) => {
    const piece = sql.slice(from, to);
    if (afterSemicolon && /\S/.test(piece)) multipleStatements = true;
    out += piece;
  };
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? n : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '/' && next === '*') {
      const stop = skipBlockComment(sql, i);
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === "'") {
      const escapes = i > 0 && /[eE]/.test(sql[i - 1]!) && (i < 2 || !IDENT_PART.test(sql[i - 2]!));
      const stop = skipQuoted(sql, i, "'", escapes);
      code(i, stop);
      i = stop;
    } else if (c === '"') {
      const stop = skipQuoted(sql, i, '"', false);
      code(i, stop);
      i = stop;
    } else if (c === '$' && next !== undefined && IDENT_START.test(next)) {
      let j = i + 1;
      while (j < n && IDENT_PART.test(sql[j]!)) j++;
      if (sql[j] === '$') {
        // $tag$ ... $tag$: a dollar-quoted body.
        const tag = sql.slice(i, j + 1);
        const end = sql.indexOf(tag, j + 1);
        const stop = end < 0 ? n : end + tag.length;
        code(i, stop);
        i = stop;
      } else {
        const name = sql.slice(i + 1, j);
        const placeholder = () => {
          let index = names.indexOf(name);
          if (index < 0) index = names.push(name) - 1;
          return `$${index + 1}`;
        };
        if (afterSemicolon) multipleStatements = true;
        out += render(name, placeholder);
        i = j;
      }
    } else if (c === '$' && next === '$') {
      const end = sql.indexOf('$$', i + 2);
      const stop = end < 0 ? n : end + 2;
      code(i, stop);
      i = stop;
    } else if (c === ';') {
      afterSemicolon = true;
      out += c;
      i++;
    } else if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < n && (IDENT_PART.test(sql[j]!) || sql[j] === '$')) j++;
      if (firstKeyword === '') firstKeyword = sql.slice(i, j).toUpperCase();
      code(i, j);
      i = j;
    } else {
      code(i, i + 1);
      i++;
    }
  }
  return { text: out, names, firstKeyword, multipleStatements };
}

function skipBlockComment(sql: string, start: number): number {
  // PostgreSQL block comments nest.
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql.startsWith('/*', i)) {
      depth++;
      i += 2;
    } else if (sql.startsWith('*/', i)) {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  return sql.length;
}

function skipQuoted(sql: string, start: number, quote: string, backslashEscapes: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i]!;
    if (backslashEscapes && c === '\\') {
      i += 2;
    } else if (c === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else {
      i++;
    }
  }
  return sql.length;
}

/** Statements a warehouse query may start with: they read (a data-modifying CTE is stopped by the read-only transaction). */
const READ_KEYWORDS: ReadonlySet<string> = new Set(['SELECT', 'WITH', 'VALUES', 'TABLE', 'EXPLAIN']);

/** Refuses anything but one reading statement, before it reaches the server. */
export function checkReadStatement(statement: NamedStatement): void {
  if (statement.multipleStatements) {
    throw new TollstreamError('INVALID_ARGUMENT', 'a query must be exactly one SQL statement; remove the extra statements after the ";"');
  }
  if (!READ_KEYWORDS.has(statement.firstKeyword)) {
    throw new TollstreamError('WAREHOUSE_READ_ONLY', `warehouse queries are read-only: only SELECT, WITH ... SELECT, VALUES, TABLE and EXPLAIN may run (got ${statement.firstKeyword || 'an empty statement'})`, {
      context: { statement: statement.firstKeyword },
    });
  }
}

/**
 * Cuts a text of several statements at its top-level `;`, as PostgreSQL's simple query protocol does; strings,
 * quoted identifiers, comments and dollar-quoted bodies are not cut. Statements of only blanks are left out.
 */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end;
    } else if (c === '/' && next === '*') {
      i = skipBlockComment(sql, i);
    } else if (c === "'" || c === '"') {
      const escapes = c === "'" && i > 0 && /[eE]/.test(sql[i - 1]!) && (i < 2 || !IDENT_PART.test(sql[i - 2]!));
      i = skipQuoted(sql, i, c, escapes);
    } else if (c === '$' && (next === '$' || (next !== undefined && IDENT_START.test(next)))) {
      let j = i + 1;
      while (j < n && IDENT_PART.test(sql[j]!)) j++;
      if (sql[j] === '$') {
        const tag = sql.slice(i, j + 1);
        const end = sql.indexOf(tag, j + 1);
        i = end < 0 ? n : end + tag.length;
      } else {
        i = j;
      }
    } else if (c === ';') {
      out.push(sql.slice(start, i));
      start = ++i;
    } else {
      i++;
    }
  }
  out.push(sql.slice(start));
  return out.filter((s) => /\S/.test(stripComments(s)));
}

/** The text without its `--` and block comments (used only to tell an empty statement). */
function stripComments(sql: string): string {
  return sql.replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
}
