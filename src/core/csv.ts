/**
 * RFC 4180 CSV: fields separated by commas, rows by LF or CRLF; a field that starts with a double quote may
 * hold commas, quotes (doubled) and line breaks. Blank lines are skipped. Used wherever reference data
 * arrives as CSV (the warehouse's station reference, SQL reference tables).
 */
export function parseCsvRows(text: string): string[][] {
  const rows: string[][] = [];
  const reader = new CsvRowReader((row) => rows.push(row));
  reader.push(text);
  reader.end();
  return rows;
}

/**
 * The same CSV read a chunk at a time (a file as it streams in): each complete row goes to `onRow` as soon as
 * its line break arrives; a row cut by the end of a chunk waits for the next one.
 */
export class CsvRowReader {
  /** The text of a row not yet complete. */
  private pending = '';

  constructor(private readonly onRow: (row: string[]) => void) {}

  push(chunk: string): void {
    this.pending = this.parse(this.pending + chunk, false);
  }

  /** The last row, if the text does not end with a line break. */
  end(): void {
    this.parse(this.pending, true);
    this.pending = '';
  }

  /** Emits the complete rows of `text` and returns the text of the incomplete last row ('' when final). */
  private parse(text: string, final: boolean): string {
    let row: string[] = [];
    let field = '';
    // Where the run of plain characters of the current field not yet in `field` starts (-1: none). A field is
    // taken from the text in runs: built a character at a time, it stayed a chain of one string per character.
    let run = -1;
    let quoted = false;
    let rowStart = 0;
    const flush = (end: number) => {
      if (run < 0) return;
      field += text.slice(run, end);
      run = -1;
    };
    const endRow = () => {
      row.push(field);
      field = '';
      if (row.length > 1 || row[0] !== '') this.onRow(row);
      row = [];
    };
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!;
      if (quoted) {
        // A quote at the end of a chunk may be the first of a doubled one: wait for the next character.
        if (ch === '"' && i + 1 === text.length && !final) return text.slice(rowStart);
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
        rowStart = i + 1;
      } else if (run < 0) run = i;
    }
    if (!final) return text.slice(rowStart);
    flush(text.length);
    if (field !== '' || row.length > 0) endRow();
    return '';
  }
}
