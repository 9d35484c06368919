export type * from './expressions.ts';
export type * from './query.ts';
export type * from './match-recognize.ts';
export type * from './stream-model.ts';
export type * from './statements.ts';
export { childrenOf, exprChildren, exprKey, fixedUnitMs, FIXED_UNIT_MS, mapChildren, someExpr } from './expressions.ts';
