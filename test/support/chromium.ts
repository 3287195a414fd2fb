/** Headless Chromium for the browser tests (Debian's, driven by playwright-core; CI installs it). */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import type { Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Call inside a describe: true when Chromium is there. Otherwise it declares why the tests do
 * not run — a skip on a developer's machine, a failure on CI — and returns false.
 */
export function haveChromium(): boolean {
  if (fs.existsSync(CHROMIUM)) return true;
  if (process.env.CI) it('needs chromium', () => assert.fail(`${CHROMIUM} is not installed`));
  else it.skip(`needs ${CHROMIUM} (apt-get install chromium)`);
  return false;
}

export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', ...extraArgs] });
}
