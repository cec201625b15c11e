/**
 * Secrets kept out of what waymark prints and records: a URL shown in a message or a log has its
 * password (`user:password@`) and the values of secret-looking query parameters (`password=`,
 * `api_key=`, `token=`, ...) replaced by ***; values read from the environment for a request
 * (`${env:NAME}`) are replaced wherever an answer echoes them.
 */
const MASK = '***';
/** Query parameters that carry credentials: PostgreSQL's password and sslpassword, and the usual API key names. */
const SECRET_PARAMETER = /pass|pwd|secret|token|key|sig|auth|credential/i;

export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = MASK;
    for (const name of new Set(parsed.searchParams.keys())) {
      if (SECRET_PARAMETER.test(name)) parsed.searchParams.set(name, MASK);
    }
    // URLSearchParams encodes * as %2A; the mask is meant to be read.
    return parsed.toString().replaceAll('%2A%2A%2A', MASK);
  } catch {
    // Not a URL to the WHATWG parser (a libpq-style oddity): mask by pattern, the same parts.
    return url
      .replace(/(\/\/[^/@:]*:)[^/@]*@/, `$1${MASK}@`)
      .replace(/([?&][^=&#]*(?:pass|pwd|secret|token|key|sig|auth|credential)[^=&#]*=)[^&#]*/gi, `$1${MASK}`);
  }
}

/** The secret parts of a URL that maskUrl hides (its password, secret query values), to find them echoed elsewhere. */
export function urlSecrets(url: string): string[] {
  try {
    const parsed = new URL(url);
    const values = [...parsed.searchParams].filter(([name]) => SECRET_PARAMETER.test(name)).map(([, value]) => value);
    return parsed.password ? [decodeURIComponent(parsed.password), parsed.password, ...values] : values;
  } catch {
    return [];
  }
}

/** The text with every occurrence of each secret value replaced by ***. Values under 4 characters are left: they would mask everything. */
export function maskValues(text: string, secrets: readonly string[]): string {
  let masked = text;
  for (const secret of secrets) if (secret.length >= 4) masked = masked.replaceAll(secret, MASK);
  return masked;
}
