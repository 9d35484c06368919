import { describe, expect, it } from 'vitest';
import { checkReadStatement, toPositional, splitStatements } from './sql-text.ts';

describe('named parameters for PostgreSQL', () => {
  it('numbers each name once, in order of first use', () => {
    const s = toPositional('SELECT * FROM t WHERE ($plaza IS NULL OR plaza_id = $plaza) AND event_time >= $from');
    expect(s.text).toBe('SELECT * FROM t WHERE ($1 IS NULL OR plaza_id = $1) AND event_time >= $2');
    expect(s.names).toEqual(['plaza', 'from']);
  });

  it('leaves strings, escaped strings, quoted identifiers, comments and dollar-quoted bodies alone', () => {
    const sql = `SELECT 'it''s $a', E'\\' $b', "$c", $$ $d $$, $tag$ $e $tag$ /* $f /* nested $g */ $h */, $real -- $i`;
    const s = toPositional(sql);
    expect(s.names).toEqual(['real']);
    expect(s.text).toBe(sql.replace('$real', '$1'));
  });

  it('tells one statement (with a trailing semicolon) from several, and finds the first keyword', () => {
    expect(toPositional('  -- report\n(SELECT 1);  ').multipleStatements).toBe(false);
    expect(toPositional('  -- report\n(SELECT 1);  ').firstKeyword).toBe('SELECT');
    expect(toPositional("SELECT ';'; DELETE FROM t").multipleStatements).toBe(true);
    expect(toPositional('SELECT 1; $x').multipleStatements).toBe(true);
  });

  it('refuses statements that do not read', () => {
    for (const sql of ['DELETE FROM t', "COPY t TO '/tmp/x'", 'SET ROLE postgres', 'CALL p()', '']) {
      expect(() => checkReadStatement(toPositional(sql)), sql).toThrow(expect.objectContaining({ code: 'WAREHOUSE_READ_ONLY' }));
    }
    expect(() => checkReadStatement(toPositional('SELECT 1; SELECT 2'))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    for (const sql of ['select 1', 'WITH x AS (SELECT 1) SELECT * FROM x', 'VALUES (1)', 'TABLE toll_transactions', 'EXPLAIN SELECT 1']) {
      expect(() => checkReadStatement(toPositional(sql)), sql).not.toThrow();
    }
  });
});

describe('splitStatements', () => {
  it('cuts at top-level semicolons only, and leaves out empty and comment-only statements', () => {
    expect(splitStatements("SET a = 1; SELECT ';' AS x, \"a;b\" FROM t -- c;\n; /* x; */ ;SELECT $$;$$, $q$;$q$")).toEqual([
      'SET a = 1',
      " SELECT ';' AS x, \"a;b\" FROM t -- c;\n",
      'SELECT $$;$$, $q$;$q$',
    ]);
    expect(splitStatements('  -- nothing\n')).toEqual([]);
    expect(splitStatements("SELECT E'a\\';b'")).toEqual(["SELECT E'a\\';b'"]);
  });
});
