import { isGrpcServiceError, type Connection } from '@temporalio/client';
import { msNumberToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from './search-attributes';

const ALREADY_EXISTS = 6;

/**
 * How long a closed incident's history stays on a cluster, as for the
 * Compose deployment.
 * @default 30 days
 */
export const DEFAULT_RETENTION_SECONDS = 30 * 24 * 60 * 60;

function alreadyExists(err: unknown): boolean {
  return isGrpcServiceError(err) && err.code === ALREADY_EXISTS;
}

/**
 * Registers `namespace` unless it exists. A dev server creates its namespace
 * itself; a cluster on a database starts with system namespaces only.
 */
export async function ensureNamespace(connection: Connection, namespace: string, retentionSeconds = DEFAULT_RETENTION_SECONDS): Promise<'created' | 'existed'> {
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msNumberToTs(retentionSeconds * 1000) });
    return 'created';
  } catch (err) {
    if (alreadyExists(err)) return 'existed';
    throw err;
  }
}

const TYPES: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
};

/** Adds whichever of the product's search attributes (stack/search-attributes.ts) `namespace` lacks. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const have = (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
  const missing: Record<string, temporal.api.enums.v1.IndexedValueType> = {};
  for (const [name, typeName] of Object.entries(SEARCH_ATTRIBUTES)) {
    if (name in have) continue;
    const type = TYPES[typeName];
    if (type === undefined) throw new Error(`search attribute ${name}: no indexed type for ${typeName}`);
    missing[name] = type;
  }
  if (Object.keys(missing).length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
  } catch (err) {
    // Another caller added them between our list and our add.
    if (!alreadyExists(err)) throw err;
  }
  return Object.keys(missing);
}
