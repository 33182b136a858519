// The page in a real browser (Debian's chromium driven by playwright-core): it loads with no request leaving
// the server, generates on Ctrl+Enter, shows previews and progress, and the result renders at the expected
// size with real pixels. A screenshot goes to test-artifacts/serve-page.png.
// Without /usr/bin/chromium the test is skipped, except on CI (CI installs chromium), where it fails.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { sharedPath } from '../helpers/shared.js';
import { testServer, type TestServer } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const available = existsSync(CHROMIUM);
const skip =
  !available && !process.env.CI ? `${CHROMIUM} is not installed (apt-get install chromium); CI fails here instead of skipping` : false;

describe('tdd serve page in chromium', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    assert.ok(available, `${CHROMIUM} is missing: CI must install Debian's chromium (see .ci/run)`);
    // The tiny test model's kohya LoRA beside the emoji model: its shapes fit no listed model.
    server = await testServer({ model: 'embedded', extraLoras: [sharedPath('fixtures', 'lora', 'tiny-sd-lora-kohya.safetensors')] });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('generate with Ctrl+Enter: previews, progress, then a rendered image in the gallery', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    const foreign: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(server.url) && !r.url().startsWith('data:')) foreign.push(r.url());
    });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => (document.getElementById('model') as HTMLSelectElement).options.length > 0);
    assert.equal(await page.inputValue('#model'), server.modelId);
    assert.equal(await page.inputValue('#width'), String(server.size), "the model's native size is the default");
    await page.fill('#prompt', 'grinning face, smileys and emotion, face smiling, twemoji style');
    await page.fill('#steps', '4');
    await page.fill('#seed', '42');
    assert.ok(await page.isChecked('#lora-embedded-tdd'), "the embedded model's TDD LoRA is on by default");
    await page.uncheck('#lora-embedded-tdd');
    await page.check(`#lora-${server.loraId}`); // the same LoRA, picked from the models folder
    await page.focus('#prompt');
    await page.keyboard.press('Control+Enter');

    await page.waitForSelector('#gallery img', { timeout: 30_000 });
    const rendered = await page.waitForFunction(() => {
      const img = document.querySelector('#gallery img') as HTMLImageElement;
      if (!img.complete || img.naturalWidth === 0) return null;
      const canvas = document.createElement('canvas');
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
      let min = 255;
      let max = 0;
      for (let i = 0; i < data.length; i += 4) {
        min = Math.min(min, data[i], data[i + 1], data[i + 2]);
        max = Math.max(max, data[i], data[i + 1], data[i + 2]);
      }
      return { width: img.naturalWidth, height: img.naturalHeight, min, max };
    });
    const info = (await rendered.jsonValue())!;
    assert.deepEqual([info.width, info.height], [server.size, server.size]);
    assert.ok(info.max - info.min > 20, `the image has content (pixel range ${info.min}–${info.max})`);
    assert.match((await page.textContent('#progress-text')) ?? '', /^done in/);
    assert.ok(Number(await page.getAttribute('#preview', 'data-previews')) >= 1, 'step previews were shown');
    assert.equal(
      await page.getAttribute('#preview', 'src'),
      await page.getAttribute('#gallery img', 'src'),
      'the live panel ends on the result',
    );
    assert.match((await page.textContent('#gallery .card')) ?? '', /grinning face.*42.*emoji-tdd:1/s);
    assert.equal(
      await page.getAttribute('#gallery .card a', 'download'),
      `tdd-42-${(await page.getAttribute('#gallery img', 'src'))!.slice(12, 20)}.png`,
    );
    assert.ok(await page.isEnabled('#generate'));
    assert.ok(await page.isDisabled('#cancel'));

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'serve-page.png'), fullPage: true });
    assert.deepEqual(foreign, [], 'every request stays on the server');
    assert.deepEqual(pageErrors, []);
  });

  test('a LoRA made for another model is not shown (and not sent)', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => (document.getElementById('model') as HTMLSelectElement).options.length > 0);
    const catalog = await (await server.api('/api/models')).json();
    const foreign = catalog.loras.find((l: { name: string }) => l.name === 'tiny-sd-lora-kohya');
    assert.deepEqual(foreign.fits, []);
    assert.ok(await page.isHidden(`[data-lora-row="${foreign.id}"]`), 'the tiny-sd LoRA is hidden for the emoji model');
    assert.ok(!(await page.isChecked(`#lora-${foreign.id}`)));
    assert.ok(await page.isVisible(`[data-lora-row="${server.loraId}"]`), 'the LoRA made for it is shown');
    assert.ok(await page.isHidden('#controlnet-box'), 'no ControlNet section without ControlNets');
  });

  test('field errors from the API are shown next to the form', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => (document.getElementById('model') as HTMLSelectElement).options.length > 0);
    await page.fill('#prompt', 'x');
    await page.fill('#width', '100');
    await page.click('#generate');
    await page.waitForSelector('#field-errors li');
    assert.match((await page.textContent('#field-errors')) ?? '', /width: must be a multiple of 8/);
    assert.equal(await page.getAttribute('#width', 'aria-invalid'), 'true');
    assert.ok(await page.isEnabled('#generate'));
  });

  test('Cancel stops a running job', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => (document.getElementById('model') as HTMLSelectElement).options.length > 0);
    await page.waitForSelector('#gallery[data-history="loaded"]', { state: 'attached' });
    const shown = await page.locator('#gallery img').count(); // the history (earlier tests' images)
    await page.fill('#prompt', 'a long one');
    await page.fill('#steps', '50');
    await page.click('#generate');
    await page.waitForFunction(() => /^step \d+\/50/.test(document.getElementById('progress-text')!.textContent ?? ''));
    await page.click('#cancel');
    await page.waitForFunction(() => /^cancelled at step/.test(document.getElementById('progress-text')!.textContent ?? ''));
    assert.equal(await page.locator('#gallery img').count(), shown, 'no image from the cancelled job');
  });
});
