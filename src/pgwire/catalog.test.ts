/** Which catalog queries are answered with no rows without the warehouse: only those that cannot have a row. */
import { describe, expect, it } from 'vitest';
import { emptyCatalogAnswer } from './catalog.ts';

describe('emptyCatalogAnswer', () => {
  it("answers psql's footers on relations a warehouse has no row of, with their column names", () => {
    expect(emptyCatalogAnswer(`SELECT pol.polname, pol.polpermissive,
  CASE WHEN pol.polroles = '{0}' THEN NULL ELSE pg_catalog.array_to_string(array(select rolname from pg_catalog.pg_roles where oid = any (pol.polroles) order by 1),',') END,
  pg_catalog.pg_get_expr(pol.polqual, pol.polrelid) AS qual
FROM pg_catalog.pg_policy pol
WHERE pol.polrelid = '22105' ORDER BY 1;`)).toEqual(['polname', 'polpermissive', 'case', 'qual']);
    expect(emptyCatalogAnswer(`SELECT c.oid::pg_catalog.regclass
FROM pg_catalog.pg_class c, pg_catalog.pg_inherits i
WHERE c.oid = i.inhparent AND i.inhrelid = '22105' ORDER BY inhseqno;`)).toEqual(['oid']);
    expect(emptyCatalogAnswer(`SELECT pubname, NULL, NULL FROM pg_catalog.pg_publication p
JOIN pg_catalog.pg_publication_namespace pn ON p.oid = pn.pnpubid
UNION
SELECT pubname, NULL, NULL FROM pg_catalog.pg_publication p WHERE p.puballtables ORDER BY 1;`)).toHaveLength(3);
  });

  it('leaves to the warehouse a query that could have rows: an outer join to such a relation, or one UNION branch without it', () => {
    expect(emptyCatalogAnswer('SELECT c.relname FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid')).toBeUndefined();
    expect(emptyCatalogAnswer('SELECT relname FROM pg_catalog.pg_class UNION SELECT polname FROM pg_catalog.pg_policy')).toBeUndefined();
    expect(emptyCatalogAnswer("SELECT 'pg_catalog.pg_policy'")).toBeUndefined();
    expect(emptyCatalogAnswer('SELECT count(*) FROM toll_transactions')).toBeUndefined();
  });
});
