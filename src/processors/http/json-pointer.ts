/** JSON Pointers (RFC 6901): "" is the whole document, "/a/0/b" walks objects and arrays. */

/** The pointer's reference tokens, or a reason it is not a pointer. */
export function parseJsonPointer(pointer: string): string[] | { problem: string } {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) return { problem: 'a JSON pointer is "" or starts with "/", e.g. "/data/score"' };
  const tokens = pointer.slice(1).split('/');
  if (tokens.some((token) => /~(?![01])/.test(token)))
    return { problem: 'in a JSON pointer "~" must be followed by 0 ("~0" is "~") or 1 ("~1" is "/")' };
  return tokens.map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The value the pointer refers to, or `{ missing: token }` naming the first token that is not there. */
export function resolveJsonPointer(document: unknown, tokens: readonly string[]): { value: unknown } | { missing: string } {
  let value = document;
  for (const token of tokens) {
    if (Array.isArray(value)) {
      if (!/^(0|[1-9]\d*)$/.test(token) || Number(token) >= value.length) return { missing: token };
      value = value[Number(token)];
    } else if (typeof value === 'object' && value !== null && Object.prototype.hasOwnProperty.call(value, token)) {
      value = (value as Record<string, unknown>)[token];
    } else {
      return { missing: token };
    }
  }
  return { value };
}
