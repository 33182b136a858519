// The tdd serve page: a form over POST /api/generate, live progress and previews from the job's
// Server-Sent Events, and a gallery of finished images (the server's history, loaded on start). Image to
// image and inpainting (an uploaded or dropped image, a mask painted on a canvas over it), reuse of a card's
// settings or seed, and settings restored from a dropped PNG's A1111 `parameters` text.
// Plain browser JavaScript, no dependencies.

const $ = (id) => document.getElementById(id);
const form = $('generate-form');
const state = { catalog: null, job: null, events: null, init: null, masked: false, control: null };
const HISTORY_LIMIT = 50;
const SMALL_SCREEN = '(max-width: 720px)';

function setMessage(text, isError = false) {
  $('message').textContent = text;
  $('message').className = isError ? 'error' : '';
}

function showFieldErrors(fields = []) {
  const list = $('field-errors');
  list.replaceChildren(
    ...fields.map((f) => Object.assign(document.createElement('li'), { textContent: `${f.field || 'request'}: ${f.message}` })),
  );
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const f of fields) {
    const name = f.field.split('.')[0];
    const el = form.elements.namedItem(name);
    if (el instanceof Element) el.setAttribute('aria-invalid', 'true');
  }
}

function option(value, text) {
  return Object.assign(document.createElement('option'), { value, textContent: text });
}

function renderLoras(loras) {
  const box = $('loras');
  $('no-loras').hidden = loras.length > 0;
  for (const lora of loras) {
    const row = document.createElement('div');
    row.className = 'lora';
    row.dataset.loraRow = lora.id;
    if (lora.family) row.title = `made for ${lora.family}`;
    const check = Object.assign(document.createElement('input'), { type: 'checkbox', id: `lora-${lora.id}`, value: lora.id });
    const label = Object.assign(document.createElement('label'), { htmlFor: check.id, textContent: lora.name });
    const weight = Object.assign(document.createElement('input'), {
      type: 'number',
      min: -4,
      max: 4,
      step: 0.05,
      value: 1,
      title: 'weight',
    });
    weight.dataset.loraWeight = lora.id;
    row.append(check, label, weight);
    box.append(row);
  }
}

function applyModelDefaults() {
  const model = state.catalog.models.find((m) => m.id === $('model').value);
  if (!model) return;
  if (model.defaultSize) $('width').value = $('height').value = model.defaultSize;
  // Only the LoRAs whose shapes fit this model (GET /api/models `fits`) are shown; the others are unchecked.
  let shown = 0;
  for (const check of $('loras').querySelectorAll('input[type=checkbox]')) {
    const lora = state.catalog.loras.find((l) => l.id === check.value);
    const fits = !lora?.fits || lora.fits.includes(model.id);
    check.closest('.lora').hidden = !fits;
    if (fits) shown += 1;
    const preset = fits && model.defaultLoras.find((l) => l.id === check.value);
    check.checked = Boolean(preset);
    if (preset) $('loras').querySelector(`[data-lora-weight="${check.value}"]`).value = preset.weight;
  }
  $('no-loras').textContent = state.catalog.loras.length ? 'none fit this model' : 'none found in the model folders';
  $('no-loras').hidden = shown > 0;
}

function applyPreset() {
  const preset = state.catalog.presets.find((p) => p.name === $('preset').value);
  if (!preset) return;
  $('steps').value = Math.min(preset.steps, state.catalog.limits.maxSteps);
  $('steps-value').value = $('steps').value;
  $('guidance').value = preset.guidanceScale;
  $('eta').value = preset.eta ?? 0;
  $('eta').disabled = preset.eta === undefined;
}

async function loadCatalog() {
  const res = await fetch('/api/models');
  const catalog = await res.json();
  if (!res.ok) throw new Error(catalog.message);
  state.catalog = catalog;
  $('model').replaceChildren(...catalog.models.map((m) => option(m.id, `${m.name} (${m.kind})`)));
  $('preset').replaceChildren(...catalog.presets.map((p) => option(p.name, p.name)));
  $('steps').max = catalog.limits.maxSteps;
  $('batch').max = catalog.limits.maxBatch;
  renderLoras(catalog.loras);
  const controlnets = catalog.controlnets ?? [];
  $('controlnet').replaceChildren(...controlnets.map((c) => option(c.id, c.name)));
  $('controlnet-box').hidden = controlnets.length === 0;
  applyModelDefaults();
  applyPreset();
  $('server-info').textContent = `${catalog.models.length} model(s), ${catalog.loras.length} LoRA(s)`;
  if (catalog.models.length === 0) setMessage('This server has no models.', true);
}

function numberField(id) {
  const el = $(id);
  return el.disabled || el.value === '' ? undefined : Number(el.value);
}

function requestBody() {
  const body = {
    prompt: $('prompt').value,
    model: $('model').value || undefined,
    preset: $('preset').value || undefined,
    steps: numberField('steps'),
    guidance: numberField('guidance'),
    eta: numberField('eta'),
    width: numberField('width'),
    height: numberField('height'),
    loras: [...$('loras').querySelectorAll('input[type=checkbox]:checked')].map((c) => ({
      id: c.value,
      weight: Number($('loras').querySelector(`[data-lora-weight="${c.value}"]`).value),
    })),
  };
  if ($('negative').value.trim()) body.negativePrompt = $('negative').value;
  const seed = $('seed').value.trim();
  if (seed) body.seed = /^\d+$/.test(seed) && seed.length <= 15 ? Number(seed) : seed;
  const batch = numberField('batch');
  if (batch !== undefined && batch !== 1) body.batch = batch;
  if (state.control && $('controlnet').value) {
    body.controlnet = {
      id: $('controlnet').value,
      image: state.control,
      scale: Number($('control-scale').value),
      preprocessor: $('canny').checked ? 'canny' : 'none',
    };
  }
  if (state.init) {
    body.initImage = state.init.dataUrl;
    body.strength = Number($('strength').value);
    if (state.masked) body.mask = maskDataUrl();
  }
  return body;
}

function setRunning(running) {
  $('generate').disabled = running;
  $('cancel').disabled = !running;
}

function showProgress(text, fraction) {
  $('progress-text').textContent = text;
  $('progress').value = fraction;
}

// Settings as the form takes them, from a job's params or from an A1111 `parameters` text.
const SAMPLER_PRESETS = { tdd: 'tdd', tcd: 'tcd', lcm: 'lcm', dmd2: 'dmd2', dmd: 'dmd2', ddim: 'teacher' };

/** Image i of a batch was drawn from seed + i (its PNG says so). */
function jobSettings(job, image, index) {
  const p = job.params;
  const seed = /^\d+$/.test(p.seed) ? String(BigInt(p.seed) + BigInt(index)) : p.seed;
  const loras = p.loras.map((l) => ({ name: l.name, weight: l.weight }));
  return { ...p, model: job.model, sampler: p.scheduler, seed, width: image.width, height: image.height, loras };
}

/** A1111's parameters text: prompt (with <lora:name:w> tags), "Negative prompt: ...", then "Key: value, ..." */
function parseParameters(text) {
  const lines = text.split('\n');
  const last = lines.length > 1 ? lines.pop() : '';
  const fields = {};
  for (const m of last.matchAll(/\s*([\w ]+):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)/g))
    fields[m[1].trim()] = m[2].startsWith('"') ? JSON.parse(m[2]) : m[2].trim();
  const negativeAt = lines.findIndex((l) => l.startsWith('Negative prompt: '));
  let prompt = (negativeAt < 0 ? lines : lines.slice(0, negativeAt)).join('\n');
  const loras = [];
  prompt = prompt
    .replace(/\s*<lora:([^:>]+):([-\d.]+)>/g, (_, name, weight) => {
      loras.push({ name, weight: Number(weight) });
      return '';
    })
    .trim();
  const size = /^(\d+)x(\d+)$/.exec(fields.Size ?? '');
  const num = (v) => (v === undefined || v === '' || Number.isNaN(Number(v)) ? undefined : Number(v));
  return {
    prompt,
    negativePrompt: negativeAt < 0 ? '' : lines.slice(negativeAt).join('\n').slice('Negative prompt: '.length),
    steps: num(fields.Steps),
    sampler: fields.Sampler,
    guidance: num(fields['CFG scale']),
    seed: fields.Seed,
    eta: num(fields.Eta),
    width: size ? Number(size[1]) : undefined,
    height: size ? Number(size[2]) : undefined,
    model: fields.Model,
    strength: num(fields['Denoising strength']),
    loras,
  };
}

function setField(id, value) {
  if (value === undefined || value === null || value === '') return;
  $(id).value = String(value);
}

function applySettings(s) {
  if (s.model) {
    const model = state.catalog?.models.find((m) => m.id === s.model || m.name === s.model);
    if (model && model.id !== $('model').value) {
      $('model').value = model.id;
      applyModelDefaults();
    }
  }
  const preset = s.preset ?? SAMPLER_PRESETS[String(s.sampler ?? '').toLowerCase()];
  if (preset && [...$('preset').options].some((o) => o.value === preset)) {
    $('preset').value = preset;
    applyPreset();
  }
  if (s.prompt !== undefined) $('prompt').value = s.prompt;
  if (s.negativePrompt !== undefined) $('negative').value = s.negativePrompt;
  setField('steps', s.steps);
  $('steps-value').value = $('steps').value;
  setField('guidance', s.guidance);
  if (!$('eta').disabled) setField('eta', s.eta);
  setField('width', s.width);
  setField('height', s.height);
  setField('seed', s.seed);
  if (state.init) setField('strength', s.strength);
  $('strength-value').value = $('strength').value;
  // LoRAs by name; when none of the image's names is offered here (PNG names follow the file, not the
  // picker's label), the current choice stays.
  const uses = [...$('loras').querySelectorAll('.lora:not([hidden]) input[type=checkbox]')].map((check) => {
    const lora = state.catalog?.loras.find((l) => l.id === check.value);
    return { check, use: s.loras?.find((l) => l.name === lora?.name || l.name === lora?.id) };
  });
  if (s.loras && uses.some((u) => u.use))
    for (const { check, use } of uses) {
      check.checked = Boolean(use);
      if (use) $('loras').querySelector(`[data-lora-weight="${check.value}"]`).value = use.weight;
    }
}

function makeCard(image, s) {
  const card = document.createElement('figure');
  card.className = 'card';
  card.dataset.imageId = image.id;
  const img = Object.assign(document.createElement('img'), { src: image.url, width: image.width, height: image.height, alt: s.prompt });
  const facts = [
    ['prompt', s.prompt],
    ['seed', s.seed],
    ['preset', s.preset ?? SAMPLER_PRESETS[String(s.sampler ?? '').toLowerCase()] ?? '-'],
    ['sampler', `${s.sampler ?? '-'}, ${s.steps ?? '-'} steps`],
    ['guidance', s.guidance ?? '-'],
    ['eta', s.eta ?? '-'],
    ['size', `${image.width}×${image.height}`],
    ['LoRAs', s.loras.map((l) => `${l.name}:${l.weight}`).join(', ') || '-'],
  ];
  if (s.strength != null) facts.push(['strength', s.strength]);
  const dl = document.createElement('dl');
  for (const [k, v] of facts)
    dl.append(
      Object.assign(document.createElement('dt'), { textContent: k }),
      Object.assign(document.createElement('dd'), { textContent: String(v) }),
    );
  const download = Object.assign(document.createElement('a'), {
    href: image.url,
    download: `tdd-${s.seed}-${image.id.slice(0, 8)}.png`,
    textContent: 'Download PNG',
  });
  const button = (cls, text, onClick) => {
    const b = Object.assign(document.createElement('button'), { type: 'button', className: cls, textContent: text });
    b.addEventListener('click', onClick);
    return b;
  };
  const tools = document.createElement('div');
  tools.className = 'card-tools';
  tools.append(
    button('reuse-settings', 'Reuse settings', () => {
      applySettings(s);
      setMessage('settings restored from the image');
    }),
    button('reuse-seed', 'Reuse seed', () => setField('seed', s.seed)),
    download,
  );
  card.append(img, dl, tools);
  return card;
}

function addToGallery(job) {
  $('gallery-empty').hidden = true;
  let first = null;
  job.images.forEach((image, i) => {
    const card = makeCard(image, jobSettings(job, image, i));
    $('gallery').prepend(card);
    first ??= card;
  });
  return first;
}

async function loadHistory() {
  try {
    const res = await fetch(`/api/images?limit=${HISTORY_LIMIT}`);
    if (!res.ok) return;
    const { images } = await res.json();
    const shown = new Set([...$('gallery').children].map((c) => c.dataset.imageId));
    // Newest first from the server; appended below anything generated meanwhile.
    for (const image of images) {
      if (shown.has(image.id)) continue;
      const s = image.parameters ? parseParameters(image.parameters) : { prompt: '', seed: '-', loras: [] };
      $('gallery').append(makeCard(image, s));
    }
    if ($('gallery').children.length) $('gallery-empty').hidden = true;
  } finally {
    $('gallery').dataset.history = 'loaded'; // for tests: the history is in
  }
}

function finishJob(text, isError) {
  state.events?.close();
  state.events = null;
  state.job = null;
  setRunning(false);
  setMessage(text, isError);
}

function follow(jobId, eventsUrl) {
  const events = new EventSource(eventsUrl);
  state.events = events;
  const data = (e) => JSON.parse(e.data);
  events.addEventListener('queued', (e) => showProgress(`queued (position ${data(e).position})`, 0));
  events.addEventListener('started', () => showProgress('loading / encoding the prompt…', 0));
  events.addEventListener('step', (e) => {
    const d = data(e);
    showProgress(`step ${d.step}/${d.steps} · ${d.itPerSec.toFixed(2)} it/s`, d.step / d.steps);
  });
  events.addEventListener('preview', (e) => {
    const d = data(e);
    $('preview').src = d.image;
    $('preview').hidden = false;
    $('preview').dataset.step = d.step;
    $('preview').dataset.previews = String(Number($('preview').dataset.previews ?? 0) + 1);
  });
  events.addEventListener('done', async () => {
    const job = await (await fetch(`/api/jobs/${jobId}`)).json();
    const card = addToGallery(job);
    if (card && matchMedia(SMALL_SCREEN).matches) card.scrollIntoView({ block: 'start' });
    // The live panel ends on the result itself.
    if (job.images[0]) Object.assign($('preview'), { src: job.images[0].url, hidden: false });
    showProgress(`done in ${(job.parameters.timings.totalMs / 1000).toFixed(1)} s`, 1);
    finishJob(job.warnings.length ? `warning: ${job.warnings.join('; ')}` : '', false);
  });
  events.addEventListener('cancelled', (e) => {
    showProgress(`cancelled at step ${data(e).step}`, 0);
    finishJob('cancelled', false);
  });
  events.addEventListener('error', (e) => {
    // A job's `error` event carries data; without data it is the connection (EventSource retries by itself).
    if (e.data) {
      showProgress('failed', 0);
      finishJob(data(e).message, true);
    } else if (events.readyState === EventSource.CLOSED) {
      finishJob('lost the connection to the server', true);
    }
  });
}

async function generate() {
  if (state.job) return;
  $('preview').hidden = true;
  $('preview').dataset.previews = '0';
  showFieldErrors([]);
  setRunning(true);
  setMessage('');
  try {
    const res = await fetch('/api/generate', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(requestBody()),
    });
    const reply = await res.json();
    if (!res.ok) {
      showFieldErrors(reply.fields);
      finishJob(res.status === 429 ? 'The queue is full; try again in a moment.' : reply.message, true);
      return;
    }
    state.job = reply.id;
    follow(reply.id, reply.links.events);
    if (matchMedia(SMALL_SCREEN).matches) $('live').scrollIntoView({ block: 'start' });
  } catch (err) {
    finishJob(`request failed: ${err.message}`, true);
  }
}

async function cancel() {
  if (!state.job) return;
  const res = await fetch(`/api/jobs/${state.job}`, { method: 'DELETE' });
  if (!res.ok) setMessage((await res.json()).message, true);
}

// Image to image: the chosen image, scaled to the server's size limit and to multiples of 8, sent as a data
// URL; the mask canvas (same size) holds white strokes on transparent, sent as white on black.
async function decodeImage(blob) {
  const url = URL.createObjectURL(blob);
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    return img;
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** The ControlNet hint: sent as the file's data URL (the server checks and, for canny, edges it). */
function setControlImage(file) {
  const reader = new FileReader();
  reader.onload = () => {
    state.control = String(reader.result);
    $('control-preview').src = state.control;
    $('control-preview').hidden = false;
  };
  reader.onerror = () => setMessage('cannot read that image', true);
  reader.readAsDataURL(file);
}

function removeControlImage() {
  state.control = null;
  $('control-image').value = '';
  $('control-preview').hidden = true;
  $('control-preview').removeAttribute('src');
}

async function setInitImage(blob) {
  if (!blob.type.startsWith('image/')) return setMessage(`not an image (${blob.type || 'unknown type'})`, true);
  let img;
  try {
    img = await decodeImage(blob);
  } catch {
    return setMessage('cannot read that image', true);
  }
  const max = state.catalog?.limits.maxSize ?? 2048;
  const scale = Math.min(1, max / Math.max(img.naturalWidth, img.naturalHeight));
  const side = (v) => Math.max(8, Math.floor((v * scale) / 8) * 8);
  const [width, height] = [side(img.naturalWidth), side(img.naturalHeight)];
  const canvas = Object.assign(document.createElement('canvas'), { width, height });
  canvas.getContext('2d').drawImage(img, 0, 0, width, height);
  let dataUrl = canvas.toDataURL('image/png');
  if (dataUrl.length > 11_000_000) dataUrl = canvas.toDataURL('image/jpeg', 0.92); // the server takes 8 MiB
  state.init = { dataUrl, width, height };
  $('init-preview').src = dataUrl;
  Object.assign($('mask-canvas'), { width, height });
  clearMask();
  $('init-editor').hidden = false;
  $('width').value = width;
  $('height').value = height;
  setMessage(`image to image from a ${width}×${height} image`);
}

function removeInitImage() {
  state.init = null;
  state.masked = false;
  $('init-image').value = '';
  $('init-editor').hidden = true;
}

function clearMask() {
  const c = $('mask-canvas');
  c.getContext('2d').clearRect(0, 0, c.width, c.height);
  state.masked = false;
  c.dataset.painted = '0';
}

function maskDataUrl() {
  const c = $('mask-canvas');
  const out = Object.assign(document.createElement('canvas'), { width: c.width, height: c.height });
  const ctx = out.getContext('2d');
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(c, 0, 0);
  return out.toDataURL('image/png');
}

function setUpMaskPainting() {
  const c = $('mask-canvas');
  let last = null;
  const point = (e) => {
    const r = c.getBoundingClientRect();
    return { x: ((e.clientX - r.left) * c.width) / r.width, y: ((e.clientY - r.top) * c.height) / r.height, scale: c.width / r.width };
  };
  const stroke = (from, to) => {
    const ctx = c.getContext('2d');
    Object.assign(ctx, { strokeStyle: '#fff', lineCap: 'round', lineJoin: 'round', lineWidth: Number($('brush').value) * to.scale });
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x + 0.01, to.y);
    ctx.stroke();
    state.masked = true;
    c.dataset.painted = String(Number(c.dataset.painted ?? 0) + 1);
  };
  c.addEventListener('pointerdown', (e) => {
    e.preventDefault();
    c.setPointerCapture(e.pointerId);
    last = point(e);
    stroke(last, last);
  });
  c.addEventListener('pointermove', (e) => {
    if (!last) return;
    const p = point(e);
    stroke(last, p);
    last = p;
  });
  for (const type of ['pointerup', 'pointercancel']) c.addEventListener(type, () => (last = null));
}

/** The `parameters` text of a PNG (tEXt, or uncompressed iTXt), or null. */
function pngParameters(buffer) {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  const signature = [137, 80, 78, 71, 13, 10, 26, 10];
  if (bytes.length < 8 || signature.some((b, i) => bytes[i] !== b)) return null;
  const latin1 = new TextDecoder('latin1');
  for (let at = 8; at + 12 <= bytes.length;) {
    const length = view.getUint32(at);
    const type = latin1.decode(bytes.subarray(at + 4, at + 8));
    const data = bytes.subarray(at + 8, at + 8 + length);
    if (type === 'IEND') break;
    const nul = data.indexOf(0);
    if ((type === 'tEXt' || type === 'iTXt') && nul > 0 && latin1.decode(data.subarray(0, nul)) === 'parameters') {
      if (type === 'tEXt') return latin1.decode(data.subarray(nul + 1));
      if (data[nul + 1] !== 0) return null; // compressed iTXt: not read here
      const lang = data.indexOf(0, nul + 3);
      const translated = data.indexOf(0, lang + 1);
      return new TextDecoder().decode(data.subarray(translated + 1));
    }
    at += 12 + length;
  }
  return null;
}

/** The dropped file, or an image dragged from this page (a gallery card). */
async function droppedImage(e) {
  const file = e.dataTransfer?.files?.[0];
  if (file) return file;
  const url = e.dataTransfer?.getData('text/uri-list')?.split('\n')[0]?.trim();
  if (url && new URL(url, location.href).origin === location.origin) {
    const res = await fetch(url);
    if (res.ok) return await res.blob();
  }
  return null;
}

async function restoreFromPng(blob) {
  const text = blob.type === 'image/png' || !blob.type ? pngParameters(await blob.arrayBuffer()) : null;
  if (!text) return setMessage('that image carries no generation parameters (drop it on the form for image to image)', true);
  applySettings(parseParameters(text));
  setMessage('settings restored from the dropped PNG');
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  void generate();
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    void generate();
  } else if (e.key === 'Escape' && state.job) {
    e.preventDefault();
    void cancel();
  }
});
$('cancel').addEventListener('click', () => void cancel());
$('random-seed').addEventListener('click', () => {
  $('seed').value = String(Math.floor(Math.random() * 2 ** 32));
});
$('steps').addEventListener('input', () => ($('steps-value').value = $('steps').value));
$('model').addEventListener('change', applyModelDefaults);
$('preset').addEventListener('change', applyPreset);
$('init-image').addEventListener('change', () => {
  const file = $('init-image').files[0];
  if (file) void setInitImage(file);
});
$('control-image').addEventListener('change', () => {
  const file = $('control-image').files[0];
  if (file) setControlImage(file);
});
$('remove-control').addEventListener('click', removeControlImage);
$('strength').addEventListener('input', () => ($('strength-value').value = $('strength').value));
$('brush').addEventListener('input', () => ($('brush-value').value = $('brush').value));
$('clear-mask').addEventListener('click', clearMask);
$('remove-image').addEventListener('click', removeInitImage);
setUpMaskPainting();
// Dropped on the form: the init image; anywhere else: the settings written into a PNG.
for (const type of ['dragenter', 'dragover']) {
  document.addEventListener(type, (e) => e.preventDefault());
  form.addEventListener(type, () => form.classList.add('dropping'));
}
form.addEventListener('dragleave', (e) => {
  if (!form.contains(e.relatedTarget)) form.classList.remove('dropping');
});
form.addEventListener('drop', async (e) => {
  e.preventDefault();
  e.stopPropagation();
  form.classList.remove('dropping');
  const image = await droppedImage(e);
  if (image) await setInitImage(image);
});
document.addEventListener('drop', async (e) => {
  e.preventDefault();
  const image = await droppedImage(e);
  if (image) await restoreFromPng(image);
});

loadCatalog()
  .catch((err) => setMessage(`cannot load the model list: ${err.message}`, true))
  .then(loadHistory);
