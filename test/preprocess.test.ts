// timm's eval preprocessing (src/data/preprocess.ts) against Pillow itself (fixture made by
// scripts/preprocess-fixture.py with Pillow's resize, torchvision's crop rule and
// normalisation in float64): resizes byte-exact, the whole transform to float32 rounding.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { centerCrop, preprocessImage, resizeImage, resizeTarget, timmEvalTransform, type Image8 } from '../src/data/preprocess.js';
import { ShapeError, ValueError } from '../src/runtime/errors.js';

const fx = JSON.parse(readFileSync('test/fixtures/preprocess/pillow.json', 'utf8'));
const source: Image8 = { width: fx.source.width, height: fx.source.height, channels: 3, data: Uint8Array.from(fx.source.data) };

describe('eval preprocessing as timm does it', () => {
  for (const r of fx.resizes) {
    it(`resize 23×17 → ${r.width}×${r.height} ${r.interpolation}: every byte equals Pillow's`, () => {
      const out = resizeImage(source, r.width, r.height, r.interpolation);
      expect([out.width, out.height, out.channels]).toEqual([r.width, r.height, 3]);
      expect(Array.from(out.data)).toEqual(r.data);
    });
  }

  for (const e of fx.evals) {
    it(`${e.cropMode} at ${e.size} px, crop_pct ${e.cropPct}: within float32 rounding of Pillow + torchvision's crop + normalize`, () => {
      const t = { ...timmEvalTransform('dm_nfnet_f0'), size: e.size, cropPct: e.cropPct, cropMode: e.cropMode };
      const { data, shape } = preprocessImage(source, t);
      expect(shape).toEqual([1, e.size, e.size, 3]);
      expect(data.length).toBe(e.data.length);
      let worst = 0;
      for (let i = 0; i < data.length; i++) worst = Math.max(worst, Math.abs(data[i]! - e.data[i]!));
      expect(worst).toBeLessThan(1e-6);
    });
  }

  it("timm's pretrained settings: dm_nfnet_f0 256 px squash at 0.9 (resize to 284×284), nf_resnet50 288 px center at 0.94", () => {
    const f0 = timmEvalTransform('dm_nfnet_f0');
    expect(f0).toMatchObject({ size: 256, cropPct: 0.9, cropMode: 'squash', interpolation: 'bicubic', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    expect(resizeTarget({ width: 640, height: 480 }, f0)).toEqual({ width: 284, height: 284 });
    const r50 = timmEvalTransform('nf_resnet50');
    expect(r50).toMatchObject({ size: 288, cropPct: 0.94, cropMode: 'center' });
    expect(resizeTarget({ width: 640, height: 480 }, r50)).toEqual({ width: 408, height: 306 });
    expect(timmEvalTransform('dm_nfnet_f0', 192).size).toBe(192);
    expect(timmEvalTransform('nano').size).toBe(224); // timm's defaults for anything else
  });

  it('center crop rounds half to even like Python (odd margins), gray and RGBA become RGB, bad input is refused', () => {
    const img: Image8 = { width: 5, height: 4, channels: 1, data: Uint8Array.from({ length: 20 }, (_, i) => i) };
    // (5 − 2)/2 = 1.5 → 2, (4 − 3)/2 = 0.5 → 0
    expect(Array.from(centerCrop(img, 2, 3).data)).toEqual([2, 3, 7, 8, 12, 13]);
    const t = { ...timmEvalTransform('x'), size: 2, cropPct: 0.9 };
    const asRgb: Image8 = { ...img, channels: 3, data: Uint8Array.from({ length: 60 }, (_, i) => img.data[Math.floor(i / 3)]!) };
    expect(Array.from(preprocessImage(img, t).data)).toEqual(Array.from(preprocessImage(asRgb, t).data));
    const rgba: Image8 = { width: 2, height: 1, channels: 4, data: Uint8Array.from([10, 20, 30, 0, 40, 50, 60, 255]) };
    const rgb: Image8 = { width: 2, height: 1, channels: 3, data: Uint8Array.from([10, 20, 30, 40, 50, 60]) };
    const t1 = { ...timmEvalTransform('x'), size: 1, cropPct: 0.5 };
    expect(Array.from(preprocessImage(rgba, t1).data)).toEqual(Array.from(preprocessImage(rgb, t1).data));
    expect(() => centerCrop(img, 6, 1)).toThrow(ShapeError);
    expect(() => resizeImage({ ...img, data: new Uint8Array(3) }, 2, 2)).toThrow(ShapeError);
    expect(() => timmEvalTransform('dm_nfnet_f0', 0)).toThrow(ValueError);
  });
});
