/**
 * Where a person sees a batch in the Temporal Web UI: WAYMARK_UI_URL when the worker has it (the
 * UI's base URL), else Temporal Cloud's UI for a *.tmprl.cloud address, else the dev server's UI
 * on port 8233 of the server's host.
 */
import { loadConnectionSettings } from '../connection/connect';

export function webUiLink(batchId: string, namespace: string, env: NodeJS.ProcessEnv = process.env): string {
  return `${webUiBase(env)}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(batchId)}`;
}

function webUiBase(env: NodeJS.ProcessEnv): string {
  if (env.WAYMARK_UI_URL) return env.WAYMARK_UI_URL.replace(/\/+$/, '');
  const host = loadConnectionSettings(env).address.replace(/:\d+$/, '');
  if (host.endsWith('.tmprl.cloud')) return 'https://cloud.temporal.io';
  return `http://${host}:8233`;
}
