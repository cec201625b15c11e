/**
 * The custom search attributes waymark sets on batch workflows, so that the Web UI and
 * `temporal workflow list --query` can filter batches by status and counts.
 *
 * Only @temporalio/common is imported here, so workflow code may import these keys.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const WAYMARK_STATUS = defineSearchAttributeKey('WaymarkStatus', SearchAttributeType.KEYWORD);
export const WAYMARK_SUCCEEDED = defineSearchAttributeKey('WaymarkSucceeded', SearchAttributeType.INT);
export const WAYMARK_FAILED = defineSearchAttributeKey('WaymarkFailed', SearchAttributeType.INT);

export const WAYMARK_SEARCH_ATTRIBUTES = [WAYMARK_STATUS, WAYMARK_SUCCEEDED, WAYMARK_FAILED] as const;
