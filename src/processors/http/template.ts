/**
 * The `http` processor's templates. Item placeholders `{field}` (a dotted path such as
 * `{user.id}`, or `{.}` for the whole item) fill the URL, each value URL-encoded, and the body;
 * `${env:NAME}` in a header value is the worker's environment variable NAME, read when the
 * request is made, so secrets stay on the worker and never enter the spec or workflow history.
 */
import { NonRetryableItemError } from '../processor';

const ITEM_PLACEHOLDER = /\{(\.|[A-Za-z_$][\w$-]*(?:\.[\w$-]+)*)\}/g;
const WHOLE_PLACEHOLDER = /^\{(\.|[A-Za-z_$][\w$-]*(?:\.[\w$-]+)*)\}$/;
export const ENV_REFERENCE = /\$\{env:([^}]*)\}/g;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The item's value at a placeholder's path; throws a bad-item error naming the path when absent. */
function valueAt(item: unknown, path: string, where: string): unknown {
  if (path === '.') return item;
  let value = item;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.prototype.hasOwnProperty.call(value, key)) {
      throw new NonRetryableItemError(
        `the ${where} names {${path}}, but the item has no field "${path}" (the item is ${describeItem(item)}); fix the item or the template`,
        'http-template',
      );
    }
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** A placeholder's value as text: strings as they are, numbers and booleans printed; nothing else has one text form. */
function textAt(item: unknown, path: string, where: string): string {
  const value = valueAt(item, path, where);
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new NonRetryableItemError(
    `the ${where} names {${path}}, whose value ${JSON.stringify(value)} is not a string, number or boolean, so it has no place in a ${where}`,
    'http-template',
  );
}

function describeItem(item: unknown): string {
  const json = JSON.stringify(item) ?? String(item);
  return json.length > 200 ? `${json.slice(0, 200)}…` : json;
}

/** The URL with every placeholder replaced by the item's value, URL-encoded. */
export function fillUrl(template: string, item: unknown): string {
  return template.replace(ITEM_PLACEHOLDER, (_, path: string) => encodeURIComponent(textAt(item, path, 'url')));
}

/** The URL with stand-ins for the placeholders, to check that the rest of it is a URL. */
export function sampleUrl(template: string, standIn = '1'): string {
  return template.replace(ITEM_PLACEHOLDER, standIn);
}

/**
 * The body template filled: a string that is exactly one placeholder becomes the item's value
 * with its JSON type (`"{tags}"` can be an array); other strings get the values as text; objects
 * and arrays are filled through.
 */
export function fillBody(template: unknown, item: unknown): unknown {
  if (typeof template === 'string') {
    const whole = WHOLE_PLACEHOLDER.exec(template);
    if (whole !== null) return valueAt(item, whole[1], 'body');
    return template.replace(ITEM_PLACEHOLDER, (_, path: string) => textAt(item, path, 'body'));
  }
  if (Array.isArray(template)) return template.map((element) => fillBody(element, item));
  if (typeof template === 'object' && template !== null) {
    return Object.fromEntries(Object.entries(template).map(([key, value]) => [key, fillBody(value, item)]));
  }
  return template;
}

/** The environment variables a header value names, in order; throws with the bad name when one is not a variable name. */
export function envNames(value: string, describe: string): string[] {
  const names = [...value.matchAll(ENV_REFERENCE)].map((match) => match[1]);
  const bad = names.find((name) => !ENV_NAME.test(name));
  if (bad !== undefined) {
    throw new Error(
      `${describe} has \${env:${bad}}, but "${bad}" is not an environment variable name (letters, digits and _, not starting with a digit)`,
    );
  }
  return names;
}

/** The header value with each `${env:NAME}` replaced, or the first NAME that is not set. */
export function fillEnv(value: string, env: NodeJS.ProcessEnv): { value: string } | { unset: string } {
  let unset: string | undefined;
  const filled = value.replace(ENV_REFERENCE, (_, name: string) => {
    const found = env[name];
    if (found === undefined) unset ??= name;
    return found ?? '';
  });
  return unset === undefined ? { value: filled } : { unset };
}
