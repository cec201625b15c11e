import { Context } from '@temporalio/activity';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { WAYMARK_SEARCH_ATTRIBUTES } from '../contract/search-attributes';

/**
 * Whether the namespace of the running activity has waymark's search attributes, with their
 * types. The workflow may upsert them only then: an unregistered attribute fails its workflow task.
 * Asked through the worker's own client; a server that refuses the operator API (some hosted
 * ones do) counts as not having them.
 */
export async function searchAttributesRegistered(): Promise<boolean> {
  try {
    const ctx = Context.current();
    const { customAttributes } = await ctx.client.connection.operatorService.listSearchAttributes({
      namespace: ctx.info.workflowNamespace ?? ctx.client.options.namespace,
    });
    return WAYMARK_SEARCH_ATTRIBUTES.every(({ name, type }) => customAttributes?.[name] === encodeSearchAttributeIndexedValueType(type));
  } catch {
    return false;
  }
}
