/**
 * Debian's Chromium (scripts/install-chromium.sh), driven by playwright-core, which downloads no
 * browser of its own. Tests that need it are skipped where it is missing, except in CI (CI=true).
 */
import fs from 'node:fs';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Without the background-networking flags Chromium dials out at start, which a closed network refuses. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const IN_CI = ['true', '1'].includes((process.env.CI ?? '').toLowerCase());
export const haveChromium = fs.existsSync(CHROMIUM);

/** The error a test throws in CI when Chromium is missing (elsewhere the test is skipped). */
export function chromiumMissing(what: string): Error {
  return new Error(
    `${CHROMIUM} is missing, and in CI (CI=true) ${what} must run: run scripts/install-chromium.sh before npm test (.ci/run does).`,
  );
}

export function launchChromium(userDataDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1440, height: 800 },
    locale: 'en-US',
    timezoneId: 'UTC',
    colorScheme: 'light',
    timeout: 30_000,
  });
}
