#!/usr/bin/python3
"""ViT test fixtures made by timm itself (test/fixtures/timm-vit/, read by test/vit-timm.test.ts).

Builds two small timm Vision Transformers through timm's own builder
(vision_transformer.vit_tiny_patch16_224 with tiny sizes given as keyword overrides), one
at an odd image side (15 px, 5×5 patches, 3 channels) and one at an even side (16 px, 4×4
patches, 2 channels); a ViT runs at its position embedding's resolution only, so each
network gets one input. Every tensor is drawn away from timm's init (linear weights at
fan-in scale, LayerNorm gains U(0.5, 1.5), biases N(0, 0.1²), class token N(0, 1), position
embedding N(0, 0.5²)) so that none hides a part of the network, rounded to float32, and run
in float64 eval mode. Writes:
  <name>.safetensors      the state dict (timm's names and layouts, float32)
  <name>.io.safetensors   the input (NCHW), float64 logits, float64 tokens after the
                          embedding and after each block ([N, T, D])
  manifest.json           the timm commit, each fixture's timm arguments and the project
                          config it corresponds to, timm's parameter counts (tiny and full size)

Shares the stubs and the safetensors writer of scripts/timm-fixtures.py.

  /usr/bin/python3 scripts/timm-fixtures-vit.py --timm /tmp/timm-src --timm-commit <sha> generate
  node scripts/run-ts.mjs scripts/timm-export-fixtures-vit.ts /tmp/timm-export-vit
  /usr/bin/python3 scripts/timm-fixtures-vit.py --timm /tmp/timm-src check-exports /tmp/timm-export-vit
"""
import hashlib
import importlib.util
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location('timm_fixtures', os.path.join(HERE, 'timm-fixtures.py'))
common = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(common)

FIXTURE_DIR = os.path.join(HERE, '..', 'test', 'fixtures', 'timm-vit')
NUM_CLASSES = 5
FULL_SIZE = ['vit_tiny_patch16_224', 'vit_small_patch16_224', 'vit_base_patch16_224']


def fixture_specs():
    """Each small network: timm's builder arguments, the input shape, the project's equivalent."""
    odd = dict(img_size=15, patch_size=5, embed_dim=24, depth=2, num_heads=3, in_chans=3)
    even = dict(img_size=16, patch_size=4, embed_dim=32, depth=3, num_heads=4, in_chans=2)

    def project(a):
        return dict(patchSize=a['patch_size'], embedDim=a['embed_dim'], depth=a['depth'], numHeads=a['num_heads'],
                    imageSize=a['img_size'], inChannels=a['in_chans'], numClasses=NUM_CLASSES)
    return {
        'vit_odd': (odd, (2, 3, 15, 15), project(odd)),
        'vit_even': (even, (2, 2, 16, 16), project(even)),
    }


def build(vt, args):
    return vt.vit_tiny_patch16_224(pretrained=False, num_classes=NUM_CLASSES, **args).double().eval()


def randomize(model, seed):
    import torch
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == 'cls_token':
                p.copy_(torch.randn(p.shape, generator=g))
            elif name == 'pos_embed':
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
            elif name.endswith('.bias'):
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
            elif 'norm' in name:
                p.copy_(torch.rand(p.shape, generator=g) + 0.5)
            else:  # linear and patch-conv weights: fan-in scale, so every branch moves the residual stream
                fan_in = int(np.prod(p.shape[1:]))
                p.copy_(torch.randn(p.shape, generator=g) / np.sqrt(fan_in))
            p.copy_(p.float().double())


def run_float64(model, x):
    """Logits and the tokens after the embedding and after each block."""
    import torch
    acts = {}
    hooks = [model.pos_drop.register_forward_hook(lambda m, i, o: acts.__setitem__('embed', o))]
    for b, block in enumerate(model.blocks):
        hooks.append(block.register_forward_hook(lambda m, i, o, b=b: acts.__setitem__(f'blocks.{b}', o)))
    with torch.no_grad():
        logits = model(torch.from_numpy(np.array(x)).double())
    for h in hooks:
        h.remove()
    return logits.numpy(), {k: v.numpy() for k, v in acts.items()}


def generate(args, vt):
    import torch
    os.makedirs(FIXTURE_DIR, exist_ok=True)
    manifest = {
        'about': 'Made by scripts/timm-fixtures-vit.py from timm itself; read by test/vit-timm.test.ts.',
        'timm': {'repo': 'huggingface/pytorch-image-models', 'commit': common.timm_commit(args), 'torch': torch.__version__},
        'numClasses': NUM_CLASSES,
        'fixtures': {},
        'fullSizeParams': {},
    }
    for i, (name, (timm_args, shape, overrides)) in enumerate(fixture_specs().items()):
        torch.manual_seed(100 + i)
        model = build(vt, timm_args)
        randomize(model, 200 + i)
        state = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
        common.write_safetensors(os.path.join(FIXTURE_DIR, f'{name}.safetensors'), state)
        x = common.make_input(shape, 300 + i)
        logits, acts = run_float64(model, x)
        io = {'input': x, 'logits': logits, **{f'act.{k}': v for k, v in acts.items()}}
        common.write_safetensors(os.path.join(FIXTURE_DIR, f'{name}.io.safetensors'), io)
        again = build(vt, timm_args)
        again.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in
                               common.read_safetensors(os.path.join(FIXTURE_DIR, f'{name}.safetensors')).items()}, strict=True)
        reload_err = common.rel_err(run_float64(again, x)[0], logits)
        assert reload_err == 0.0, f'{name}: the written state dict does not reproduce timm ({reload_err})'
        manifest['fixtures'][name] = {
            'timmBuilder': 'vit_tiny_patch16_224',
            'timmArgs': dict(timm_args, num_classes=NUM_CLASSES),
            'input': list(shape),
            'project': {'variant': 'vit_tiny_patch16_224', 'overrides': overrides},
            'params': sum(p.numel() for p in model.parameters()),
        }
        print(f'{name}: {manifest["fixtures"][name]["params"]} parameters')
    for v in FULL_SIZE:
        model = getattr(vt, v)(pretrained=False)
        manifest['fullSizeParams'][v] = sum(p.numel() for p in model.parameters())
    old = os.path.join(FIXTURE_DIR, 'manifest.json')
    if os.path.exists(old):  # keep the export checks of an earlier run until they are redone
        manifest['exports'] = json.load(open(old)).get('exports', {})
    common.save_manifest(manifest, FIXTURE_DIR)


def check_exports(args, vt):
    """Load each project export into timm (strict) and compare with the project's logits."""
    import torch
    manifest = json.load(open(os.path.join(FIXTURE_DIR, 'manifest.json')))
    results = {}
    for name, fx in manifest['fixtures'].items():
        path = os.path.join(args.exports, f'{name}.export.safetensors')
        meta = json.load(open(os.path.join(args.exports, f'{name}.export.json')))
        model = build(vt, {k: v for k, v in fx['timmArgs'].items() if k != 'num_classes'})
        state = common.read_safetensors(path)
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()}, strict=True)
        x = common.read_safetensors(os.path.join(FIXTURE_DIR, f'{name}.io.safetensors'))['input']
        logits, _ = run_float64(model, x)
        err = common.rel_err(np.array(meta['logits'], dtype=np.float64).reshape(logits.shape), logits)
        sha = hashlib.sha256(open(path, 'rb').read()).hexdigest()
        results[name] = {'sha256': sha, 'seed': meta['seed'], 'relErr': err}
        print(f'{name}: export loads strict=True; project vs timm logits rel. err {err:.3g}')
    manifest['exports'] = results
    common.save_manifest(manifest, FIXTURE_DIR)


if __name__ == '__main__':
    common.run_cli(__doc__, 'scripts/timm-export-fixtures-vit.ts', 'timm.models.vision_transformer', generate, check_exports)
