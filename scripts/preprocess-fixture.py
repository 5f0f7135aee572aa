"""Reference outputs of Pillow's resize and of timm's eval transform on a small image, for
test/preprocess.test.ts (src/data/preprocess.ts). Pillow does the resizing, as torchvision's
Resize does for PIL images; crop and normalisation follow torchvision's CenterCrop (offsets by
Python's round) and Normalize, in float64. Run: /usr/bin/python3 scripts/preprocess-fixture.py
"""
import json, math, sys
import numpy as np
import PIL
from PIL import Image

rng = np.random.default_rng(15)
src = rng.integers(0, 256, size=(17, 23, 3), dtype=np.uint8)  # H, W, C
# A smooth part too (bicubic overshoots on edges, which the clip must handle).
src[:, :8] = (np.arange(8)[None, :, None] * 30 + np.arange(17)[:, None, None] * 5).astype(np.uint8)
img = Image.fromarray(src, 'RGB')

resizes = []
for (w, h, interp) in [(13, 11, 'bicubic'), (31, 29, 'bicubic'), (13, 29, 'bicubic'), (9, 5, 'bilinear'), (40, 17, 'bicubic')]:
    mode = Image.BICUBIC if interp == 'bicubic' else Image.BILINEAR
    out = np.asarray(img.resize((w, h), mode))
    resizes.append({'width': w, 'height': h, 'interpolation': interp, 'data': out.reshape(-1).tolist()})

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)

def timm_eval(image, size, crop_pct, crop_mode):
    scale = math.floor(size / crop_pct)
    if crop_mode == 'squash':
        r = image.resize((scale, scale), Image.BICUBIC)
    else:  # torchvision Resize(int): shorter side to `scale`, longer int(scale * long / short)
        w, h = image.size
        r = image.resize((scale, int(scale * h / w)) if w <= h else (int(scale * w / h), scale), Image.BICUBIC)
    a = np.asarray(r)
    top = int(round((a.shape[0] - size) / 2.0))
    left = int(round((a.shape[1] - size) / 2.0))
    a = a[top:top + size, left:left + size].astype(np.float64) / 255.0
    return ((a - np.array(MEAN)) / np.array(STD)).reshape(-1).tolist()

evals = [{'size': s, 'cropPct': p, 'cropMode': m, 'data': timm_eval(img, s, p, m)} for (s, p, m) in [(16, 0.9, 'squash'), (12, 0.9, 'center'), (8, 0.951, 'squash')]]

json.dump({'about': f'Pillow {PIL.__version__} (scripts/preprocess-fixture.py)', 'source': {'width': 23, 'height': 17, 'data': src.reshape(-1).tolist()},
           'resizes': resizes, 'evals': evals}, open(sys.argv[1] if len(sys.argv) > 1 else 'test/fixtures/preprocess/pillow.json', 'w'))
