/**
 * The reference-file routes of the native API: the files continuous queries may join to, managed through the
 * API since a query may read no file outside the reference directory (docs/security.md).
 *   GET    /v1/reference/files          the files, with size and modification time
 *   PUT    /v1/reference/files/{name}   the body becomes the file, replacing it whole
 *   DELETE /v1/reference/files/{name}
 */
import { TollstreamError } from '../../core/errors.ts';
import type { QueryManager, ReferenceFiles } from '../../queries/index.ts';
import { readBody, send, type Request, type Response } from '../http.ts';
import type { RouteSpec } from '../router.ts';

const JSON_HEADERS = { 'content-type': 'application/json' };

export type ReferenceFileRoute = 'listReferenceFiles' | 'putReferenceFile' | 'deleteReferenceFile';

/** The reference-file routes, for the native API's route table; `fileName` is the file named in the path. */
export const REFERENCE_FILE_ROUTES: ReadonlyArray<RouteSpec<ReferenceFileRoute>> = [
  { pattern: 'GET /v1/reference/files', route: 'listReferenceFiles' },
  { pattern: 'PUT /v1/reference/files/:fileName', route: 'putReferenceFile' },
  { pattern: 'DELETE /v1/reference/files/:fileName', route: 'deleteReferenceFile' },
];

export async function handleReferenceFileRoute(queries: QueryManager | undefined, maxBodyBytes: number, req: Request, res: Response, route: ReferenceFileRoute, name: string | undefined): Promise<void> {
  const files = referenceFiles(queries);
  switch (route) {
    case 'listReferenceFiles':
      return send(res, 200, JSON_HEADERS, JSON.stringify({ dir: files.dir, files: await files.list() }));
    case 'putReferenceFile':
      return send(res, 200, JSON_HEADERS, JSON.stringify(await files.put(name!, await readBody(req, maxBodyBytes))));
    case 'deleteReferenceFile':
      await files.remove(name!);
      return send(res, 204, {}, '');
  }
}

function referenceFiles(queries: QueryManager | undefined): ReferenceFiles {
  if (!queries?.referenceFiles) throw new TollstreamError('NOT_FOUND', 'this server runs no continuous queries, so it keeps no reference files');
  return queries.referenceFiles;
}
