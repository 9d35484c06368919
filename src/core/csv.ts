/**
 * RFC 4180 CSV: fields separated by commas, rows by LF or CRLF; a field that starts with a double quote may
 * hold commas, quotes (doubled) and line breaks. Blank lines are skipped. Used wherever reference data
 * arrives as CSV (the warehouse's station reference, SQL reference tables).
 */
export function parseCsvRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  // Where the run of plain characters of the current field not yet in `field` starts (-1: none). A field is
  // taken from the text in runs: built a character at a time, it stayed a chain of one string per character.
  let run = -1;
  let quoted = false;
  const flush = (end: number) => {
    if (run < 0) return;
    field += text.slice(run, end);
    run = -1;
  };
  const endRow = () => {
    row.push(field);
    field = '';
    if (row.length > 1 || row[0] !== '') rows.push(row);
    row = [];
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        flush(i);
        field += '"';
        i++;
      } else if (ch === '"') {
        flush(i);
        quoted = false;
      } else if (run < 0) run = i;
    } else if (ch === '"' && field === '' && run < 0) quoted = true;
    else if (ch === ',') {
      flush(i);
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      flush(i);
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRow();
    } else if (run < 0) run = i;
  }
  flush(text.length);
  if (field !== '' || row.length > 0) endRow();
  return rows;
}
