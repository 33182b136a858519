// The page's image-to-image, inpainting and history in a real browser (Debian's chromium driven by
// playwright-core, as browser.test.ts), at a desktop (1280×800) and a phone (390×844) size: an uploaded image
// makes an img2img job, a mask painted on the canvas makes an inpainting job (sent as a white-on-black PNG),
// the history is back after a reload, "Reuse seed" and a dropped PNG fill the form, Esc cancels, and at
// 390 px the page does not scroll sideways. Screenshots go to test-artifacts/serve-edit-*.png.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { testServer, tinyControlNetFolder, type TestServer } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const available = existsSync(CHROMIUM);
const skip =
  !available && !process.env.CI ? `${CHROMIUM} is not installed (apt-get install chromium); CI fails here instead of skipping` : false;

const VIEWPORTS = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'mobile', width: 390, height: 844 },
] as const;

async function openPage(browser: Browser, server: TestServer, viewport: { width: number; height: number }) {
  const page = await browser.newPage({ viewport });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => (document.getElementById('model') as HTMLSelectElement).options.length > 0);
  await page.waitForSelector('#gallery[data-history="loaded"]', { state: 'attached' });
  return { page, pageErrors };
}

/** Clicks Generate, waits for the job's request and for its result card; returns the request body. */
async function generateAndWait(page: Page): Promise<Record<string, unknown>> {
  const before = await page.locator('#gallery .card').count();
  const request = page.waitForRequest((r) => r.url().endsWith('/api/generate') && r.method() === 'POST');
  await page.click('#generate');
  const body = (await request).postDataJSON();
  await page.waitForFunction((n) => document.querySelectorAll('#gallery .card').length > n, before, { timeout: 30_000 });
  await page.waitForFunction(() => {
    const img = document.querySelector('#gallery .card img') as HTMLImageElement;
    return img.complete && img.naturalWidth > 0;
  });
  assert.match((await page.textContent('#progress-text')) ?? '', /^done in/);
  return body;
}

describe('tdd serve page: image to image, inpainting, history (chromium)', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let initPng: Buffer;
  before(async () => {
    assert.ok(available, `${CHROMIUM} is missing: CI must install Debian's chromium (see .ci/run)`);
    server = await testServer({ model: 'embedded' });
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
    initPng = await sharp({ create: { width: server.size, height: server.size, channels: 3, background: { r: 230, g: 190, b: 40 } } })
      .png()
      .toBuffer();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  for (const viewport of VIEWPORTS) {
    test(`${viewport.name} ${viewport.width}×${viewport.height}: img2img, inpainting, history after a reload, reuse seed`, async () => {
      const { page, pageErrors } = await openPage(browser, server, viewport);
      await page.fill('#prompt', 'grinning face, twemoji style');
      await page.fill('#steps', '2');
      await page.fill('#seed', '5');
      await page.setInputFiles('#init-image', { name: 'init.png', mimeType: 'image/png', buffer: initPng });
      await page.waitForSelector('#init-editor:not([hidden])');
      assert.equal(await page.inputValue('#width'), String(server.size), 'the size follows the image');
      await page.fill('#strength', '0.6');

      // img2img
      const img2img = await generateAndWait(page);
      assert.match(String(img2img.initImage), /^data:image\/png;base64,/);
      assert.equal(img2img.strength, 0.6);
      assert.equal(img2img.mask, undefined);
      assert.match((await page.textContent('#gallery .card')) ?? '', /strength\s*0\.6/);
      if (viewport.width <= 390) {
        const top = await page.evaluate(() => document.querySelector('#gallery .card')!.getBoundingClientRect().top);
        assert.ok(top >= -1 && top < viewport.height / 2, `the result scrolled into view (card top at ${top} px)`);
      }

      // inpainting: paint a stroke across the middle of the image
      await page.locator('#mask-canvas').scrollIntoViewIfNeeded();
      const box = (await page.locator('#mask-canvas').boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.7, box.y + box.height * 0.5, { steps: 5 });
      await page.mouse.up();
      assert.ok(Number(await page.getAttribute('#mask-canvas', 'data-painted')) > 0);
      await page.fill('#seed', '6');
      const inpaint = await generateAndWait(page);
      assert.match(String(inpaint.mask), /^data:image\/png;base64,/);
      const mask = await sharp(Buffer.from(String(inpaint.mask).split(',')[1], 'base64'))
        .greyscale()
        .raw()
        .toBuffer({ resolveWithObject: true });
      assert.deepEqual([mask.info.width, mask.info.height], [server.size, server.size]);
      const at = (x: number, y: number) => mask.data[y * mask.info.width + x];
      assert.ok(at(server.size / 2, server.size / 2) > 200, 'white where painted');
      assert.ok(at(1, 1) < 50, 'black elsewhere');
      const cards = await page.locator('#gallery .card').count();
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, `serve-edit-${viewport.name}.png`), fullPage: true });

      // history after a reload, and "reuse seed" on a card from it
      await page.reload();
      await page.waitForFunction((n) => document.querySelectorAll('#gallery .card').length >= n, cards);
      assert.match((await page.locator('#gallery .card').first().textContent()) ?? '', /grinning face.*seed\s*6/s);
      await page.fill('#seed', '');
      await page.locator('#gallery .card .reuse-seed').nth(1).click();
      assert.equal(await page.inputValue('#seed'), '5');

      if (viewport.width <= 390) {
        const scrollWidth = await page.evaluate(() => document.scrollingElement!.scrollWidth);
        assert.ok(scrollWidth <= viewport.width, `no horizontal scroll at ${viewport.width} px (scrollWidth ${scrollWidth})`);
      }
      assert.deepEqual(pageErrors, []);
      await page.close();
    });
  }

  test('a PNG dropped on the page restores its settings, dropped on the form it is the init image; Esc cancels the running job', async () => {
    const { page, pageErrors } = await openPage(browser, server, { width: 1280, height: 800 });
    await page.waitForSelector('#gallery .card'); // from the tests above
    const url = (await page.getAttribute('#gallery .card img', 'src'))!;
    await page.fill('#prompt', 'something else');
    await page.fill('#seed', '');
    await page.evaluate(async (src) => {
      const blob = await (await fetch(src)).blob();
      const data = new DataTransfer();
      data.items.add(new File([blob], 'dropped.png', { type: 'image/png' }));
      document
        .getElementById('gallery-section')!
        .dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    }, url);
    await page.waitForFunction(() => (document.getElementById('seed') as HTMLInputElement).value !== '');
    assert.equal(await page.inputValue('#prompt'), 'grinning face, twemoji style');
    assert.equal(await page.inputValue('#seed'), '6');
    assert.equal(await page.inputValue('#steps'), '2');

    // The same PNG dropped on the form is an init image instead.
    await page.evaluate(async (src) => {
      const blob = await (await fetch(src)).blob();
      const data = new DataTransfer();
      data.items.add(new File([blob], 'dropped.png', { type: 'image/png' }));
      document.getElementById('prompt')!.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    }, url);
    await page.waitForSelector('#init-editor:not([hidden])');
    await page.click('#remove-image');

    await page.fill('#steps', '50');
    await page.click('#generate');
    await page.waitForFunction(() => /^step \d+\/50/.test(document.getElementById('progress-text')!.textContent ?? ''));
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => /^cancelled at step/.test(document.getElementById('progress-text')!.textContent ?? ''));
    assert.deepEqual(pageErrors, []);
    await page.close();
  });
});

describe('tdd serve page: ControlNet with a canny hint (chromium)', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    assert.ok(available, `${CHROMIUM} is missing: CI must install Debian's chromium (see .ci/run)`);
    server = await testServer({ prepare: (dir) => tinyControlNetFolder(join(dir, 'tiny-controlnet')) });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('the ControlNet section is shown when the server has one; a hint with canny checked is sent and recorded', async () => {
    const { page, pageErrors } = await openPage(browser, server, VIEWPORTS[0]);
    assert.ok(await page.isVisible('#controlnet-box'));
    const hint = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#000' } })
      .composite([
        {
          input: await sharp({ create: { width: 32, height: 32, channels: 3, background: '#fff' } })
            .png()
            .toBuffer(),
          left: 16,
          top: 16,
        },
      ])
      .png()
      .toBuffer();
    await page.fill('#prompt', 'a cat');
    await page.fill('#steps', '2');
    await page.fill('#width', '64');
    await page.fill('#height', '64');
    await page.setInputFiles('#control-image', { name: 'hint.png', mimeType: 'image/png', buffer: hint });
    await page.waitForSelector('#control-preview:not([hidden])');
    await page.check('#canny');
    const body = await generateAndWait(page);
    const controlnet = body.controlnet as Record<string, unknown>;
    assert.equal(controlnet.preprocessor, 'canny');
    assert.equal(controlnet.scale, 1);
    assert.match(String(controlnet.image), /^data:image\/png;base64,/);
    const jobs = await (await server.api('/api/images?limit=1')).json();
    assert.match(JSON.stringify(jobs), /Module: canny, Model: tiny-controlnet/);
    assert.deepEqual(pageErrors, []);
  });
});
