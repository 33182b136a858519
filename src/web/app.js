// The tdd serve page: a form over POST /api/generate, live progress and previews from the job's
// Server-Sent Events, and a gallery of finished images. Plain browser JavaScript, no dependencies.

const $ = (id) => document.getElementById(id);
const form = $('generate-form');
const state = { catalog: null, job: null, events: null };

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
  for (const check of $('loras').querySelectorAll('input[type=checkbox]')) {
    const preset = model.defaultLoras.find((l) => l.id === check.value);
    check.checked = Boolean(preset);
    if (preset) $('loras').querySelector(`[data-lora-weight="${check.value}"]`).value = preset.weight;
  }
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
  renderLoras(catalog.loras);
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

function addToGallery(job) {
  $('gallery-empty').hidden = true;
  const p = job.params;
  for (const image of job.images) {
    const card = document.createElement('figure');
    card.className = 'card';
    const img = Object.assign(document.createElement('img'), { src: image.url, width: image.width, height: image.height, alt: p.prompt });
    const facts = [
      ['prompt', p.prompt],
      ['seed', p.seed],
      ['preset', p.preset ?? '-'],
      ['sampler', `${p.scheduler}, ${p.steps} steps`],
      ['guidance', p.guidance],
      ['eta', p.eta ?? '-'],
      ['size', `${image.width}×${image.height}`],
      ['LoRAs', p.loras.map((l) => `${l.name}:${l.weight}`).join(', ') || '-'],
    ];
    const dl = document.createElement('dl');
    for (const [k, v] of facts)
      dl.append(
        Object.assign(document.createElement('dt'), { textContent: k }),
        Object.assign(document.createElement('dd'), { textContent: String(v) }),
      );
    const download = Object.assign(document.createElement('a'), {
      href: image.url,
      download: `tdd-${p.seed}-${image.id.slice(0, 8)}.png`,
      textContent: 'Download PNG',
    });
    card.append(img, dl, download);
    $('gallery').prepend(card);
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
    addToGallery(job);
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
  } catch (err) {
    finishJob(`request failed: ${err.message}`, true);
  }
}

async function cancel() {
  if (!state.job) return;
  const res = await fetch(`/api/jobs/${state.job}`, { method: 'DELETE' });
  if (!res.ok) setMessage((await res.json()).message, true);
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  void generate();
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    void generate();
  }
});
$('cancel').addEventListener('click', () => void cancel());
$('random-seed').addEventListener('click', () => {
  $('seed').value = String(Math.floor(Math.random() * 2 ** 32));
});
$('steps').addEventListener('input', () => ($('steps-value').value = $('steps').value));
$('model').addEventListener('change', applyModelDefaults);
$('preset').addEventListener('change', applyPreset);

loadCatalog().catch((err) => setMessage(`cannot load the model list: ${err.message}`, true));
