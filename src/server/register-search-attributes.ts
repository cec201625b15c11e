/**
 * Makes sure a namespace has waymark's search attributes.
 *
 * `temporal server start-dev --search-attribute` registers attributes only when it creates a
 * new SQLite file; on an existing file it silently ignores the flag. So a data folder made by
 * an older waymark, or by a plain `temporal server start-dev`, needs this step.
 */
import type { Connection } from '@temporalio/client';
import { SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { WAYMARK_SEARCH_ATTRIBUTES } from '../contract/search-attributes';

/** `--search-attribute Name=Type` flags for `temporal server start-dev`. */
export function searchAttributeFlags(): string[] {
  return WAYMARK_SEARCH_ATTRIBUTES.flatMap(({ name, type }) => [
    '--search-attribute',
    `${name}=${TypedSearchAttributes.toMetadataType(type)}`,
  ]);
}

/** An attribute exists with a type waymark cannot use; only a person can decide how to resolve that. */
export class SearchAttributeConflict extends Error {
  override name = 'SearchAttributeConflict';
}

/**
 * Adds the missing attributes; an attribute that exists with another type is an error,
 * since Temporal cannot change the type of a registered attribute.
 */
export async function ensureSearchAttributes(connection: Connection, namespace = 'default'): Promise<void> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing: Record<string, number> = {};
  for (const { name, type } of WAYMARK_SEARCH_ATTRIBUTES) {
    const wanted = indexedValueType(type);
    const existing = customAttributes?.[name];
    if (existing === undefined || existing === null) {
      missing[name] = wanted;
    } else if (Number(existing) !== wanted) {
      throw new SearchAttributeConflict(
        `Search attribute ${name} is registered in namespace "${namespace}" as ${typeName(existing)}, ` +
          `but waymark needs ${TypedSearchAttributes.toMetadataType(type)}. Use a namespace made for waymark, ` +
          `or remove the attribute with \`temporal operator search-attribute remove --name ${name} --namespace ${namespace}\`.`,
      );
    }
  }
  if (Object.keys(missing).length > 0) {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
  }
}

function indexedValueType(type: SearchAttributeType): number {
  const encoded = encodeSearchAttributeIndexedValueType(type);
  if (encoded === undefined)
    throw new Error(`@temporalio/common has no wire type for search attribute type ${type}; check the SDK version.`);
  return encoded;
}

function typeName(wireType: number): string {
  const type = Object.values(SearchAttributeType).find((t) => Number(encodeSearchAttributeIndexedValueType(t)) === wireType);
  return type === undefined ? `type #${wireType}` : TypedSearchAttributes.toMetadataType(type);
}
