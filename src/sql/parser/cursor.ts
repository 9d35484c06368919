/** A position in the token list with the small helpers every parsing function needs. */
import type { TollstreamError } from '../../core/errors.ts';
import type { SourcePos } from '../diagnostics.ts';
import { sqlError } from '../diagnostics.ts';
import type { Token } from './lexer.ts';

export class Cursor {
  private index = 0;

  constructor(
    readonly sql: string,
    private readonly tokens: readonly Token[],
  ) {}

  peek(ahead = 0): Token {
    return this.tokens[Math.min(this.index + ahead, this.tokens.length - 1)]!;
  }

  next(): Token {
    const t = this.peek();
    if (t.type !== 'eof') this.index++;
    return t;
  }

  atEnd(): boolean {
    return this.peek().type === 'eof';
  }

  isWord(upper: string): boolean {
    return this.isWordAt(0, upper);
  }

  isWordAt(ahead: number, upper: string): boolean {
    const t = this.peek(ahead);
    return t.type === 'word' && t.upper === upper;
  }

  isOp(op: string): boolean {
    return this.isOpAt(0, op);
  }

  isOpAt(ahead: number, op: string): boolean {
    const t = this.peek(ahead);
    return t.type === 'op' && t.text === op;
  }

  acceptWord(upper: string): boolean {
    if (!this.isWord(upper)) return false;
    this.index++;
    return true;
  }

  acceptOp(op: string): boolean {
    if (!this.isOp(op)) return false;
    this.index++;
    return true;
  }

  expectWord(upper: string, hint = ''): Token {
    if (!this.isWord(upper)) throw this.error(`expected ${upper} but found ${this.describe()}`, hint);
    return this.next();
  }

  expectOp(op: string, hint = ''): Token {
    if (!this.isOp(op)) throw this.error(`expected '${op}' but found ${this.describe()}`, hint);
    return this.next();
  }

  /** An unquoted word or a "quoted identifier". */
  identifier(what: string): string {
    const t = this.peek();
    if (t.type !== 'word' && t.type !== 'quoted') {
      throw this.error(`expected ${what} but found ${this.describe()}`, 'Names are words or "double-quoted" identifiers.');
    }
    this.index++;
    return t.text;
  }

  stringLiteral(what: string): string {
    const t = this.peek();
    if (t.type !== 'string') throw this.error(`expected ${what} but found ${this.describe()}`, "String literals use single quotes: 'text'.");
    this.index++;
    return t.text;
  }

  describe(t: Token = this.peek()): string {
    switch (t.type) {
      case 'eof':
        return 'the end of the text';
      case 'string':
        return `'${t.text}'`;
      case 'quoted':
        return `"${t.text}"`;
      default:
        return `'${t.text}'`;
    }
  }

  error(problem: string, hint = ''): TollstreamError {
    return sqlError('SQL_SYNTAX', this.sql, this.peek().pos, problem, hint);
  }

  errorAt(pos: SourcePos, problem: string, hint = ''): TollstreamError {
    return sqlError('SQL_SYNTAX', this.sql, pos, problem, hint);
  }
}
