/** The live tail's request: what the console's form asks for, as the query string of `GET /v1/streams/{name}/tail`. */

/** The tail's query string from the form's values; the server checks them again and names what is wrong. */
export function tailQueryString(values: { from: string; at: string; sequenceNumber: string; shard: string; key: string; field: string; value: string }): string {
  const q = new URLSearchParams({ from: values.from });
  // A datetime-local value has no zone: it is read as UTC, as the page says.
  if (values.from === 'AT_TIMESTAMP') q.set('timestamp', values.at.length === 16 ? `${values.at}:00Z` : `${values.at}Z`);
  if (values.from === 'AT_SEQUENCE_NUMBER') q.set('sequenceNumber', values.sequenceNumber.trim());
  if (values.shard !== '') q.set('shard', values.shard);
  if (values.key.trim() !== '') q.set('key', values.key.trim());
  if (values.field.trim() !== '') {
    q.set('field', values.field.trim());
    q.set('value', values.value);
  }
  return q.toString();
}
