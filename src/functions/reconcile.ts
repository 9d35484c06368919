/**
 * The config file's `functions.deploy` made true at start, through the deployments' public door: entries added are
 * deployed, changed ones updated, and ones the config declared before but no longer does are deleted (on a cluster
 * with shared definitions they stay, since other nodes' config files may still declare them: delete them through
 * the API). Functions deployed through the API are left alone: a config entry of the same name is refused.
 */
import { TollstreamError, isTollstreamError } from '../core/errors.ts';
import { sha256 } from './definitions.ts';
import type { DeployRequest, FunctionDeployments } from './deployments.ts';
import { checkFunctionSettings, type FunctionSettings } from './settings.ts';

export async function reconcileDeclared(deployments: FunctionDeployments, declared: readonly DeployRequest[]): Promise<void> {
  const names = new Set(declared.map((d) => d.name));
  for (const d of declared) {
    // On a cluster, nodes starting together reconcile the same entries: a change another node made first is read and compared again.
    for (let attempt = 1; ; attempt++) {
      try {
        await reconcileOne(deployments, d);
        break;
      } catch (err) {
        const raced = isTollstreamError(err, 'FUNCTION_EXISTS') || isTollstreamError(err, 'FUNCTION_CHANGED');
        if (!deployments.sharesDefinitions || !raced || attempt >= 3) throw err;
        await deployments.refresh();
      }
    }
  }
  for (const f of deployments.list()) {
    if (f.source !== 'config' || names.has(f.name)) continue;
    if (!deployments.sharesDefinitions) await deployments.delete(f.name);
  }
}

async function reconcileOne(deployments: FunctionDeployments, d: DeployRequest): Promise<void> {
  const current = deployments.list().find((f) => f.name === d.name);
  if (!current) {
    await deployments.deploy(d, 'config');
    return;
  }
  if (current.source !== 'config') {
    throw new TollstreamError('CONFIG_INVALID', `functions.deploy declares '${d.name}', which was deployed through the API; delete it first or rename the entry`, {
      context: { key: 'functions.deploy', function: d.name },
    });
  }
  if (current.stream !== d.stream) {
    throw new TollstreamError('CONFIG_INVALID', `functions.deploy: '${d.name}' reads stream '${current.stream}'; a function cannot change its stream (delete it and deploy it anew)`, {
      context: { key: 'functions.deploy', function: d.name },
    });
  }
  const sameCode = sha256(d.code) === current.codeSha256;
  const sameSettings = JSON.stringify(sorted(checkFunctionSettings(d.name, d.stream, d.settings ?? {}))) === JSON.stringify(sorted(current.settings));
  if (!sameCode || !sameSettings) {
    const reset = Object.fromEntries(Object.keys(current.settings).map((k) => [k, null]));
    await deployments.update(d.name, { ...(sameCode ? {} : { code: d.code }), settings: { ...reset, ...d.settings } }, 'config');
  }
}

function sorted(settings: FunctionSettings): Record<string, unknown> {
  return Object.fromEntries(Object.entries(settings).sort(([a], [b]) => (a < b ? -1 : 1)));
}
