/**
 * The deployed-functions routes of the native API (operator key), docs/functions.md:
 *   GET    /v1/functions                   list
 *   POST   /v1/functions                   { name, stream, code, settings? } -> 201: deploy
 *   GET    /v1/functions/{name}            describe (state, version, stats, iterator age, last failure)
 *   PATCH  /v1/functions/{name}            { code?, settings? }: a new version, taking over at a checkpoint
 *   POST   /v1/functions/{name}/pause      stop invoking it (its checkpoint stays)
 *   POST   /v1/functions/{name}/resume
 *   DELETE /v1/functions/{name}            forget it and its checkpoints -> 204
 *   GET    /v1/functions/{name}/logs?limit=N   its recent log lines
 */
import { MAX_CODE_BYTES, type FunctionDeployments } from '../../functions/index.ts';
import { send, type RouteModule } from '../http.ts';
import { intParam, invalidField, isObject, onlyFields } from '../validate.ts';
import { operatorRoutes, readJsonObject, sendJson, type OperatorRoutesOptions } from './route-module.ts';

const PREFIX = '/v1/functions';
/** The module as JSON text, with room for escapes and the other fields. */
const MAX_BODY_BYTES = 2 * MAX_CODE_BYTES + 64 * 1024;
const DEPLOY_FIELDS = ['name', 'stream', 'code', 'settings'];
const UPDATE_FIELDS = ['code', 'settings'];

export function createFunctionsApi(functions: FunctionDeployments, options: OperatorRoutesOptions): RouteModule {
  return operatorRoutes(PREFIX, options, [
    { pattern: 'GET /v1/functions', route: (_req, res) => sendJson(res, 200, { functions: functions.list() }) },
    {
      pattern: 'POST /v1/functions',
      route: async (req, res) => {
        const body = onlyFields(await readJsonObject(req, MAX_BODY_BYTES), DEPLOY_FIELDS);
        if (body.settings !== undefined && !isObject(body.settings)) throw invalidField('settings', 'settings must be an object', body.settings);
        sendJson(res, 201, await functions.deploy({ name: body.name as string, stream: body.stream as string, code: body.code as string, ...(body.settings ? { settings: body.settings } : {}) }));
      },
    },
    { pattern: 'GET /v1/functions/:name', route: (_req, res, { name }) => sendJson(res, 200, functions.describe(name!)) },
    {
      pattern: 'PATCH /v1/functions/:name',
      route: async (req, res, { name }) => {
        const body = onlyFields(await readJsonObject(req, MAX_BODY_BYTES), UPDATE_FIELDS);
        if (body.settings !== undefined && !isObject(body.settings)) throw invalidField('settings', 'settings must be an object', body.settings);
        if (body.code !== undefined && typeof body.code !== 'string') throw invalidField('code', 'code must be the handler module as text', body.code);
        sendJson(res, 200, await functions.update(name!, { ...(body.code === undefined ? {} : { code: body.code as string }), ...(body.settings ? { settings: body.settings as Record<string, unknown> } : {}) }));
      },
    },
    {
      pattern: 'DELETE /v1/functions/:name',
      route: async (_req, res, { name }) => {
        await functions.delete(name!);
        send(res, 204, {}, '');
      },
    },
    { pattern: 'POST /v1/functions/:name/pause', route: async (_req, res, { name }) => sendJson(res, 200, await functions.pause(name!)) },
    { pattern: 'POST /v1/functions/:name/resume', route: async (_req, res, { name }) => sendJson(res, 200, await functions.resume(name!)) },
    { pattern: 'GET /v1/functions/:name/logs', route: (_req, res, { name }, query) => sendJson(res, 200, { name, lines: functions.logs(name!, intParam(query, 'limit', 1, 1000, 100)) }) },
  ], 'the function routes are listed in docs/functions.md');
}
