/**
 * The demo's "classify with timm weights" card: the user picks a timm state dict
 * (safetensors, e.g. dm_nfnet_f0 from the Hugging Face hub), an image (any format the
 * browser decodes) and optionally a label file; the page imports the weights
 * (`nfnet.importTimm`), prepares the image as timm's eval transform does
 * (`data.preprocessImage`: Pillow-exact bicubic resize, center crop by crop_pct, ImageNet
 * mean/std) and shows the top-5 classes.
 */
import { tensor, nfnet, data, noGrad, tidy } from '../src/index.js';

export interface ClassifyState {
  status: 'idle' | 'loading' | 'running' | 'done' | 'error';
  error: string | null;
  /** The weights loaded: the model's name, parameters, load time. */
  weights: { file: string; variant: string; params: number; seconds: number } | null;
  top: { id: number; name: string | null; probability: number; logit: number }[] | null;
  preprocessing: string | null;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** Image file → 8-bit RGBA pixels, as decoded (no colour-space conversion, no premultiplied alpha). */
async function decodeImage(file: File): Promise<data.Image8> {
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0);
  const { width, height } = bitmap;
  const pixels = ctx.getImageData(0, 0, width, height).data;
  bitmap.close();
  return { width, height, channels: 4, data: new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength) };
}

/** Show the model's input (normalised crop) undone back to pixels. */
function drawInput(canvas: HTMLCanvasElement, x: { data: Float32Array; shape: number[] }, t: data.EvalTransform): void {
  const [, h, w] = x.shape as [number, number, number, number];
  canvas.width = w;
  canvas.height = h;
  const img = new ImageData(w, h);
  for (let p = 0; p < w * h; p++) {
    for (let c = 0; c < 3; c++) img.data[p * 4 + c] = Math.round((x.data[p * 3 + c]! * t.std[c]! + t.mean[c]!) * 255);
    img.data[p * 4 + 3] = 255;
  }
  canvas.getContext('2d')!.putImageData(img, 0, 0);
}

/**
 * Wire the card. `exclusive` runs GPU work one job at a time with the rest of the page;
 * `gpuReady` says whether init() succeeded.
 */
export function setupClassify(state: ClassifyState, exclusive: <T>(fn: () => Promise<T>) => Promise<T>, gpuReady: () => boolean): () => void {
  const weightsInput = $<HTMLInputElement>('timm-file');
  const imageInput = $<HTMLInputElement>('image-file');
  const labelsInput = $<HTMLInputElement>('labels-file');
  const button = $<HTMLButtonElement>('classify');
  const status = $('classify-status');
  const list = $('classify-top');
  let model: nfnet.NFNet | null = null;
  let loadedFrom: File | null = null;

  const refresh = () => {
    button.disabled = !gpuReady() || !weightsInput.files?.length || !imageInput.files?.length || state.status === 'loading' || state.status === 'running';
  };
  for (const i of [weightsInput, imageInput, labelsInput]) i.addEventListener('change', refresh);

  async function loadWeights(file: File): Promise<nfnet.NFNet> {
    if (model && loadedFrom === file) return model;
    model?.dispose();
    model = null;
    state.status = 'loading';
    status.textContent = `reading ${file.name} (${(file.size / 2 ** 20).toFixed(1)} MiB)…`;
    const bytes = new Uint8Array(await file.arrayBuffer());
    status.textContent = `converting ${file.name} to the model's layout (F0: seconds; the page is busy meanwhile)…`;
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))); // let the message paint: the import runs in one go
    const t0 = performance.now();
    model = nfnet.importTimm(bytes).model;
    loadedFrom = file;
    state.weights = { file: file.name, variant: model.config.variant, params: model.parameterCount(), seconds: (performance.now() - t0) / 1000 };
    return model;
  }

  async function classify(): Promise<void> {
    const weights = weightsInput.files![0]!;
    const imageFile = imageInput.files![0]!;
    list.replaceChildren();
    state.error = null;
    state.top = null;
    refresh();
    try {
      const names = labelsInput.files?.length ? parseLabels(await labelsInput.files[0]!.text()) : null;
      const image = await decodeImage(imageFile);
      await exclusive(async () => {
        const m = await loadWeights(weights);
        if (names && names.length !== m.config.numClasses) throw new Error(`${labelsInput.files![0]!.name} has ${names.length} class names, the model ${m.config.numClasses} classes`);
        state.status = 'running';
        const t = data.timmEvalTransform(m.config.variant);
        state.preprocessing = `${t.cropMode} resize to ${Math.floor(t.size / t.cropPct)} (bicubic), center crop ${t.size}×${t.size}, ImageNet mean/std`;
        status.textContent = `${m.config.variant} (${(m.parameterCount() / 1e6).toFixed(1)}M parameters): classifying ${imageFile.name} at ${t.size}×${t.size}…`;
        const x = data.preprocessImage(image, t);
        drawInput($<HTMLCanvasElement>('classify-input'), x, t);
        const input = tensor(x.data, x.shape);
        const y = noGrad(() => tidy(() => m.forward(input)));
        const logits = Float32Array.from(await y.data());
        y.dispose();
        input.dispose();
        const max = Math.max(...logits);
        const z = logits.reduce((s, v) => s + Math.exp(v - max), 0);
        const order = Array.from(logits.keys()).sort((i, j) => logits[j]! - logits[i]! || i - j).slice(0, 5);
        state.top = order.map((id) => ({ id, name: names?.[id] ?? null, probability: Math.exp(logits[id]! - max) / z, logit: logits[id]! }));
      });
      for (const t of state.top!) {
        const li = document.createElement('li');
        li.textContent = `${(100 * t.probability).toFixed(2)}%  ${t.name ?? `class ${t.id}`}${t.name ? ` (${t.id})` : ''}`;
        list.append(li);
      }
      state.status = 'done';
      status.textContent = `${state.weights!.variant} from ${state.weights!.file}, loaded in ${state.weights!.seconds.toFixed(1)} s; ${state.preprocessing}`;
    } catch (e) {
      const err = e as Error;
      state.status = 'error';
      state.error = `${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${err.message}`;
      status.textContent = state.error;
    } finally {
      refresh();
    }
  }

  button.addEventListener('click', () => void classify());
  refresh();
  return refresh; // for when init() finishes
}

/** Class names, one per line; blank lines at the end ignored. */
function parseLabels(text: string): string[] {
  const names = text.split(/\r?\n/).map((l) => l.trim());
  while (names.length && names[names.length - 1] === '') names.pop();
  return names;
}
