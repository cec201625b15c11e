/**
 * Text from items and processors (failure messages, error types) on its way to a terminal: a NUL,
 * an escape sequence or a carriage return in it would garble the screen or hide what precedes it,
 * so control characters are shown as escapes (`\u0000`, `\u001b`, `\r`, `\t`), as JSON writes them.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

export function printable(text: string): string {
  return text.replace(CONTROL, (c) => {
    const json = JSON.stringify(c).slice(1, -1);
    // JSON leaves DEL and the C1 controls as they are.
    return json === c ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : json;
  });
}
