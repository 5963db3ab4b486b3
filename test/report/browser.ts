import * as path from 'path';
import { pathToFileURL } from 'url';
import type { BrowserContext, Page } from 'playwright-core';
import { makeTempDir, removeTempDir } from '../fixtures/tmp';
import { whichTool } from '../fixtures/peers';

/** Debian's chromium (apt-get install chromium), driven by playwright-core; tests ask for it with describeIf(['chromium']). */
const CHROMIUM = whichTool('chromium') ?? '/usr/bin/chromium';

/** Where the tests leave their screenshots (gitignored), for a person to look at; never compared by pixels. */
export const ARTIFACTS = path.join(__dirname, '../../test-artifacts');

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A headless chromium with a fresh profile, nothing in the background that talks to the network, and the context offline. */
export async function launch(): Promise<Browser> {
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  const profile = makeTempDir('chromium-profile');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  await context.setOffline(true);
  return {
    context,
    async close() {
      await context.close();
      removeTempDir(profile);
    },
  };
}

export interface OpenedPage {
  page: Page;
  /** every request the page made (the file itself included) */
  requests: string[];
  /** uncaught errors and console errors of the page */
  errors: string[];
}

/** Opens a report file with every request but the file's own refused, and waits for its script to have drawn the page. */
export async function openReport(b: Browser, file: string): Promise<OpenedPage> {
  const url = pathToFileURL(file).href;
  const page = await b.context.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('dialog', (d) => {
    errors.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  await page.route('**', (r) => (r.request().url() === url ? r.continue() : r.abort()));
  await page.goto(url);
  await page.waitForSelector('body[data-ready=true]', { timeout: 10_000 });
  return { page, requests, errors };
}
