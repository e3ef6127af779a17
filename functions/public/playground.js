// The playground: pick or drop a photo (or a sample scene), type a phrase, draw the mask the API
// returns over the image. Uses the SDK's browser bundle (sdk.js, built from sdk/ by sdk/build.mjs).
// Key safety: the stored key goes only to this page's own origin, or to an endpoint the person
// typed into the Endpoint field; a link's `?endpoint=` naming another origin is not used (the
// page says so), and `?key=` / `?endpoint=` leave the address bar once read.
import { maskOverlay } from './overlay.js';

const $ = (id) => document.getElementById(id);
const els = {
  form: $('form'), file: $('file'), drop: $('drop'), dropText: $('drop-text'), samples: $('samples'),
  phrase: $('phrase'), format: $('format'), presenceThreshold: $('presence-threshold'), key: $('key'),
  endpoint: $('endpoint'), endpointNote: $('endpoint-note'), run: $('run'), stage: $('stage'),
  photo: $('photo'), overlay: $('overlay'), placeholder: $('placeholder'), stats: $('stats'), status: $('status'),
  result: $('result'),
};
const params = new URLSearchParams(location.search);
const KEY_STORAGE = 'cris.apiKey';
/** Photos above these are re-encoded smaller before upload (the model sees its input size, a few hundred px, anyway). */
const MAX_UPLOAD_BYTES = 8 * 1024 * 1024;
const MAX_UPLOAD_SIDE = 2048;
const RUN_LABEL = 'Segment';

let current = null; // { blob, bitmap, label }
let sdk = null;
let shownResult = false; // a format change re-runs once a result is on screen

function setStatus(text, kind = '') {
  els.status.textContent = text;
  els.status.className = kind;
}

function setState(state) {
  document.body.dataset.state = state;
}

async function loadSdk() {
  try {
    sdk = await import('./sdk.js');
  } catch (error) {
    setStatus('sdk.js is missing: run `node sdk/build.mjs` (npm start does it).', 'error');
    throw error;
  }
}

function initKey() {
  const fromUrl = params.get('key');
  if (fromUrl) localStorage.setItem(KEY_STORAGE, fromUrl);
  els.key.value = fromUrl || localStorage.getItem(KEY_STORAGE) || '';
  els.key.addEventListener('change', () => localStorage.setItem(KEY_STORAGE, els.key.value.trim()));
}

/** The origin of an endpoint URL, or null when it is not an http(s) URL. */
function originOf(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.origin : null;
  } catch {
    return null;
  }
}

/**
 * The Endpoint field starts at this page's origin. A link's `?endpoint=` of the same origin is
 * taken; another origin is NOT (a link could otherwise send the stored key anywhere): the page
 * names it, and the person may type it into the field to use it.
 */
function initEndpoint() {
  els.endpoint.value = location.origin;
  const requested = params.get('endpoint');
  if (!requested) return;
  const origin = originOf(requested);
  if (origin === location.origin) {
    els.endpoint.value = requested.replace(/\/+$/, '');
    return;
  }
  els.endpointNote.textContent = `This link asked to send your API key to ${origin ?? requested}. It is not used: `
    + 'type that address into Endpoint yourself if you trust it.';
  els.endpointNote.hidden = false;
}

/** `?key=` and `?endpoint=` leave the address bar (and history) once read. */
function scrubUrl() {
  if (!params.has('key') && !params.has('endpoint')) return;
  const url = new URL(location.href);
  url.searchParams.delete('key');
  url.searchParams.delete('endpoint');
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
}

/** Shrinks a photo that is too big to upload quickly; returns the blob to send. */
async function uploadable(blob, bitmap) {
  const side = Math.max(bitmap.width, bitmap.height);
  if (blob.size <= MAX_UPLOAD_BYTES && side <= MAX_UPLOAD_SIDE) return { blob, bitmap };
  const scale = Math.min(1, MAX_UPLOAD_SIDE / side);
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  const smaller = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.9));
  return { blob: smaller, bitmap: await createImageBitmap(smaller) };
}

/** Forgets the last answer: no mask, no stats, no message (a new image, or a failure). */
function clearResult() {
  clearOverlay();
  els.stats.hidden = true;
  shownResult = false;
  setStatus('');
}

async function useImage(blob, label) {
  clearResult();
  let decoded;
  try {
    decoded = await createImageBitmap(blob); // EXIF orientation applied, as the service does
  } catch (error) {
    console.warn('image decoding failed:', error);
    current = null;
    els.dropText.textContent = 'Choose or drop a photo';
    els.stage.hidden = true;
    els.placeholder.hidden = false;
    setState('error');
    setStatus(`"${label}" is not an image this browser can open. Choose a JPEG, PNG or WebP photo.`, 'error');
    showResult();
    return;
  }
  const { blob: upload, bitmap } = await uploadable(blob, decoded);
  current = { blob: upload, bitmap, label };
  els.dropText.textContent = label;
  drawPhoto(bitmap, bitmap.width, bitmap.height);
  setState('ready');
}

function drawPhoto(bitmap, width, height) {
  els.photo.width = width;
  els.photo.height = height;
  els.photo.getContext('2d').drawImage(bitmap, 0, 0, width, height);
  els.stage.hidden = false;
  els.placeholder.hidden = true;
}

function clearOverlay() {
  els.overlay.width = els.photo.width;
  els.overlay.height = els.photo.height;
  delete els.overlay.dataset.fill;
}

/** Draws the mask in a fill that contrasts with the object under it, outlined dark and white. */
function drawMask(bitmap) {
  els.overlay.width = bitmap.width;
  els.overlay.height = bitmap.height;
  const photo = els.photo.getContext('2d').getImageData(0, 0, bitmap.width, bitmap.height).data;
  const { rgba, fill } = maskOverlay(bitmap, photo);
  els.overlay.getContext('2d').putImageData(new ImageData(rgba, bitmap.width, bitmap.height), 0, 0);
  if (fill) els.overlay.dataset.fill = fill.join(',');
}

/** Brings the answer (image, stats, message) into view when it is not (a phone: below the form). */
function showResult() {
  const box = els.result.getBoundingClientRect();
  if (box.top < 0 || box.bottom > window.innerHeight) els.result.scrollIntoView({ block: 'start' });
}

/** A failure as a person can act on it: the API's own message, never a raw exception. */
function failureMessage(error, endpoint) {
  if (error?.code === 'network_error') return `Could not reach ${endpoint}: check the Endpoint and that the server is running.`;
  if (error?.code === 'bad_response') return `${endpoint} answered something that is not the API's answer.`;
  if (error?.code) return `${error.code}: ${error.message}`;
  return 'Something went wrong while drawing the answer; try again or pick another format.';
}

function showStats(result, phrase) {
  $('found').textContent = phrase.found ? 'yes' : 'not found';
  $('presence').textContent = phrase.presence === null ? 'n/a' : phrase.presence.toFixed(3);
  $('presence').title = phrase.presence === null ? 'this model has no presence output' : '';
  $('regions').textContent = String(phrase.regions);
  $('score').textContent = phrase.score.toFixed(3);
  $('timing').textContent = `${Math.round(result.timing.total_ms)} ms`;
  $('cached').textContent = result.cached ? 'yes' : 'no';
  $('area').textContent = `${phrase.area} px`;
  $('model').textContent = result.model;
  els.stats.hidden = false;
}

async function segment(event) {
  event.preventDefault();
  if (!current) return setStatus('Choose a photo or a sample first.', 'error');
  const apiKey = els.key.value.trim();
  if (!apiKey) return setStatus('Enter an API key (npm start prints a demo key).', 'error');
  const endpoint = originOf(els.endpoint.value.trim()) ? els.endpoint.value.trim().replace(/\/+$/, '') : null;
  if (!endpoint) return setStatus('Endpoint must be an http(s) URL.', 'error');
  localStorage.setItem(KEY_STORAGE, apiKey);
  const asked = current; // an image picked meanwhile makes this answer stale
  els.run.disabled = true;
  els.run.textContent = 'Segmenting...';
  setState('running');
  setStatus('Segmenting...');
  try {
    const client = sdk.createClient({ endpoint, apiKey, retry: { maxAttempts: 3 } });
    const started = performance.now();
    const presence = els.presenceThreshold.value.trim();
    const result = await client.segment({
      image: current.blob,
      text: els.phrase.value,
      format: els.format.value,
      ...(presence === '' ? {} : { presence_threshold: Number(presence) }),
    });
    if (current !== asked) return;
    const phrase = result.results[0];
    drawPhoto(current.bitmap, result.width, result.height);
    if (phrase.found) drawMask(await sdk.maskToBitmap(phrase.mask, result.width, result.height));
    else clearOverlay(); // nothing matches: nothing is drawn
    showStats(result, phrase);
    shownResult = true;
    const took = `round trip ${Math.round(performance.now() - started)} ms`;
    setStatus(
      phrase.found
        ? `Mask for "${phrase.text}" (${phrase.mask.format}), ${took}.`
        : `Not found: nothing in this photo matches "${phrase.text}" (${phrase.mask.format}), ${took}.`,
    );
    setState('done');
    showResult();
  } catch (error) {
    if (current !== asked) return;
    console.warn('segment failed:', error);
    clearResult();
    setStatus(failureMessage(error, endpoint), 'error');
    setState('error');
    showResult();
  } finally {
    els.run.disabled = false;
    els.run.textContent = RUN_LABEL;
  }
}

async function loadSamples() {
  const response = await fetch('samples/index.json');
  if (!response.ok) return;
  const samples = await response.json();
  for (const sample of samples) {
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.sample = sample.file;
    button.title = sample.phrase;
    const thumbnail = document.createElement('img');
    thumbnail.alt = sample.phrase;
    thumbnail.src = `samples/${sample.file}`;
    button.append(thumbnail);
    button.addEventListener('click', async () => {
      for (const other of els.samples.children) other.classList.toggle('selected', other === button);
      const blob = await (await fetch(`samples/${sample.file}`)).blob();
      await useImage(blob, `Sample: ${sample.file}`);
      els.phrase.value = sample.phrase;
    });
    els.samples.append(button);
  }
}

function initDrop() {
  els.file.addEventListener('change', () => {
    const file = els.file.files[0];
    if (file) useImage(file, file.name);
  });
  for (const name of ['dragenter', 'dragover']) {
    els.drop.addEventListener(name, (event) => { event.preventDefault(); els.drop.classList.add('over'); });
  }
  for (const name of ['dragleave', 'drop']) {
    els.drop.addEventListener(name, () => els.drop.classList.remove('over'));
  }
  els.drop.addEventListener('drop', (event) => {
    event.preventDefault();
    const file = event.dataTransfer.files[0];
    if (file) useImage(file, file.name);
  });
}

initKey();
initEndpoint();
scrubUrl();
initDrop();
els.form.addEventListener('submit', segment);
els.format.addEventListener('change', () => { if (current && shownResult && !els.run.disabled) els.form.requestSubmit(); });
await Promise.all([loadSdk(), loadSamples()]);
setState('ready');
