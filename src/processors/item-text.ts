/** How an item, whatever its JSON type, becomes text for processors that work on text. */
import { NonRetryableItemError } from './processor';

/** The item's JSON text: the one form that keeps its type (a string "42" vs the number 42). */
export function itemJson(item: unknown): string {
  // JSON.stringify returns undefined (despite its typing) for undefined and functions.
  const json = JSON.stringify(item) as string | undefined;
  if (json === undefined) {
    throw new NonRetryableItemError(
      `the item has no JSON text (it is ${typeof item}); sources yield JSON values, so check the code that produced this item`,
      'item-not-json',
    );
  }
  return json;
}

/** The item as text: a string item as is, anything else as its JSON text. */
export function itemText(item: unknown): string {
  return typeof item === 'string' ? item : itemJson(item);
}
