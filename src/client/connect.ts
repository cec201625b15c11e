/**
 * Transitional: the connection code now lives in src/connection/connect.ts and the error class in
 * src/user-error.ts. This re-export keeps redrive-batch.ts (which moves to src/redrive/ in its own
 * change) compiling until that move lands; delete this file then.
 */
export { CliError } from '../user-error';
