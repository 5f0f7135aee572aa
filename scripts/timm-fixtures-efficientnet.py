#!/usr/bin/python3
"""EfficientNet test fixtures made by timm itself (test/fixtures/timm-efficientnet/, read by
test/efficientnet-timm.test.ts).

Builds two small EfficientNets through timm's own builders (decode_arch_def, round_channels,
EfficientNet with BatchNormAct2d, SqueezeExcite, DepthwiseSeparableConv, InvertedResidual):
a three-stage table with width and depth multipliers that exercise timm's channel rounding
and 'ceil' depth rounding, once with PyTorch padding and BN eps 1e-5 (efficientnet_*) and
once with TF 'SAME' padding and eps 1e-3 (tf_efficientnet_*). Every weight is drawn (timm's
init for convs, then BN weights, biases and running statistics and SE biases away from their
trivial values), the models run in float64 eval mode on an odd and an even input, and it
writes:
  <name>.safetensors      the state dict (timm's names and layouts; float32, num_batches_tracked I64)
  <name>.io.safetensors   inputs (NCHW), float64 logits, float64 stem/stage activations (NHWC),
                          and one training-mode forward: its logits and the BN running statistics after it
  manifest.json           the timm commit, each fixture's timm arguments and project config,
                          timm's parameter counts (the fixtures and all 16 full-size names)

Reuses scripts/timm-fixtures.py (stubs for optional imports, the safetensors writer).

  /usr/bin/python3 scripts/timm-fixtures-efficientnet.py --timm /tmp/timm-src --timm-commit <sha> generate
  node scripts/run-ts.mjs scripts/timm-export-fixtures-efficientnet.ts /tmp/effnet-export
  /usr/bin/python3 scripts/timm-fixtures-efficientnet.py --timm /tmp/timm-src check-exports /tmp/effnet-export
"""
import hashlib
import importlib.util
import json
import os
from functools import partial

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE_DIR = os.path.join(HERE, '..', 'test', 'fixtures', 'timm-efficientnet')
_spec = importlib.util.spec_from_file_location('timm_fixtures', os.path.join(HERE, 'timm-fixtures.py'))
common = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(common)

NUM_CLASSES = 5
INPUTS = common.INPUTS  # an odd square batch of two, an even non-square one

# The base table, as timm's block strings and as the project's stages (the same rows).
ARCH_DEF = [
    ['ds_r1_k3_s1_e1_c8_se0.25'],
    ['ir_r2_k3_s2_e6_c16_se0.25'],
    ['ir_r1_k5_s2_e4_c24_se0.25'],
]
STAGES = [
    dict(block='ds', repeats=1, kernel=3, stride=1, expansion=1, channels=8, seRatio=0.25),
    dict(block='ir', repeats=2, kernel=3, stride=2, expansion=6, channels=16, seRatio=0.25),
    dict(block='ir', repeats=1, kernel=5, stride=2, expansion=4, channels=24, seRatio=0.25),
]
# Width 0.75 on divisor 4 (8 → 8, 16 → 12, 24 → 20: rounding up and down), depth 1.5 (1 → 2, 2 → 3).
WIDTH, DEPTH, DIVISOR, STEM, HEAD = 0.75, 1.5, 4, 16, 64
FULL_SIZE = [f'{p}efficientnet_b{i}' for p in ('', 'tf_') for i in range(8)]


def fixture_specs():
    """name → (timm kwargs beyond the table, the project's variant and overrides)."""
    overrides = dict(stages=STAGES, widthMultiplier=WIDTH, depthMultiplier=DEPTH, channelDivisor=DIVISOR,
                     stemChannels=STEM, headChannels=HEAD, numClasses=NUM_CLASSES, inChannels=3)
    return {
        'efficientnet_tiny': (dict(pad_type='', bn_eps=1e-5), 'efficientnet_b0', overrides),
        'tf_efficientnet_tiny': (dict(pad_type='same', bn_eps=1e-3), 'tf_efficientnet_b0', overrides),
    }


def build(timm_kwargs):
    import torch.nn as nn
    from timm.models.efficientnet import EfficientNet
    from timm.models._efficientnet_builder import decode_arch_def, round_channels
    round_chs = partial(round_channels, multiplier=WIDTH, divisor=DIVISOR)
    return EfficientNet(
        block_args=decode_arch_def(ARCH_DEF, DEPTH), num_features=round_chs(HEAD), stem_size=STEM,
        round_chs_fn=round_chs, act_layer=nn.SiLU, pad_type=timm_kwargs['pad_type'],
        norm_layer=partial(nn.BatchNorm2d, eps=timm_kwargs['bn_eps']), num_classes=NUM_CLASSES, in_chans=3,
    )


def randomize(model, seed):
    """timm's init for the convs and classifier; BN weights U(0.5, 1.5), biases (BN, SE,
    classifier) N(0, 0.1²), running means N(0, 0.1²) and variances U(0.5, 1.5); all rounded
    to float32 (the stored precision)."""
    import torch
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith('num_batches_tracked'):
                continue
            if name.endswith('running_var') or (name.endswith('.weight') and t.dim() == 1):
                t.copy_(torch.rand(t.shape, generator=g, dtype=t.dtype) + 0.5)
            elif name.endswith('.bias') or name.endswith('running_mean'):
                t.copy_(torch.randn(t.shape, generator=g, dtype=t.dtype) * 0.1)
            t.copy_(t.float().double())


def run_float64(model, x):
    """Logits and (NHWC) activations after the stem (bn1) and after each stage."""
    import torch
    acts = {}
    hooks = [model.bn1.register_forward_hook(lambda m, i, o: acts.__setitem__('stem', o))]
    for s, stage in enumerate(model.blocks):
        hooks.append(stage.register_forward_hook(lambda m, i, o, s=s: acts.__setitem__(f'blocks.{s}', o)))
    with torch.no_grad():
        logits = model(torch.from_numpy(np.array(x)).double())
    for h in hooks:
        h.remove()
    return logits.numpy(), {k: v.permute(0, 2, 3, 1).numpy() for k, v in acts.items()}


def train_mode(model, x):
    """One training-mode forward (batch statistics; no dropout or drop-path in these models)
    of a copy of the model: its logits and every BN's running statistics after the update."""
    import copy
    import torch
    m = copy.deepcopy(model).train()
    with torch.no_grad():
        logits = m(torch.from_numpy(np.array(x)).double())
    out = {'train.logits.odd': logits.numpy()}
    for k, v in m.state_dict().items():
        if k.endswith('running_mean') or k.endswith('running_var'):
            out[f'train.{k}'] = v.numpy().copy()
    return out


def state_arrays(model):
    """The state dict as numpy: floats as float32, num_batches_tracked as int64 (as timm has it)."""
    return {k: v.detach().float().numpy() if v.dtype.is_floating_point else v.detach().numpy()
            for k, v in model.state_dict().items()}


def load_arrays(model, arrays):
    import torch
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in arrays.items()}, strict=True)


def generate(args, _efficientnet):
    import torch
    from timm.models import efficientnet as E
    os.makedirs(FIXTURE_DIR, exist_ok=True)
    manifest = {
        'about': 'Made by scripts/timm-fixtures-efficientnet.py from timm itself; read by test/efficientnet-timm.test.ts.',
        'timm': {'repo': 'huggingface/pytorch-image-models', 'commit': common.timm_commit(args), 'torch': torch.__version__},
        'numClasses': NUM_CLASSES,
        'inputs': {k: list(v) for k, v in INPUTS.items()},
        'timmArgs': {'arch_def': ARCH_DEF, 'channel_multiplier': WIDTH, 'depth_multiplier': DEPTH,
                     'channel_divisor': DIVISOR, 'stem_size': STEM, 'num_features': HEAD, 'act_layer': 'SiLU'},
        'fixtures': {},
        'fullSizeParams': {},
    }
    for i, (name, (kw, variant, overrides)) in enumerate(fixture_specs().items()):
        torch.manual_seed(100 + i)
        model = build(kw).double().eval()
        randomize(model, 200 + i)
        path = os.path.join(FIXTURE_DIR, f'{name}.safetensors')
        common.write_safetensors(path, state_arrays(model))
        io = {}
        for j, (kind, shape) in enumerate(INPUTS.items()):
            x = common.make_input(shape, 300 + 10 * i + j)
            logits, acts = run_float64(model, x)
            io[f'input.{kind}'] = x
            io[f'logits.{kind}'] = logits
            if kind == 'odd':
                io.update({f'act.{k}': v for k, v in acts.items()})
        io.update(train_mode(model, io['input.odd']))
        common.write_safetensors(os.path.join(FIXTURE_DIR, f'{name}.io.safetensors'), io)
        again = build(kw).double().eval()
        load_arrays(again, common.read_safetensors(path))
        reload_err = common.rel_err(run_float64(again, io['input.odd'])[0], io['logits.odd'])
        assert reload_err == 0.0, f'{name}: the written state dict does not reproduce timm ({reload_err})'
        manifest['fixtures'][name] = {
            'timmKwargs': kw, 'project': {'variant': variant, 'overrides': overrides},
            'params': sum(p.numel() for p in model.parameters()),
            'blocks': [[type(b).__name__ for b in stage] for stage in model.blocks],
        }
        print(f'{name}: {manifest["fixtures"][name]["params"]} parameters, blocks {manifest["fixtures"][name]["blocks"]}')
    for v in FULL_SIZE:
        model = getattr(E, v)(pretrained=False)
        manifest['fullSizeParams'][v] = sum(p.numel() for p in model.parameters())
        print(f'{v}: {manifest["fullSizeParams"][v]}')
    old = os.path.join(FIXTURE_DIR, 'manifest.json')
    if os.path.exists(old):  # keep the export checks of an earlier run until they are redone
        manifest['exports'] = json.load(open(old)).get('exports', {})
    common.save_manifest(manifest, FIXTURE_DIR)


def check_exports(args, _efficientnet):
    """Load each project export into timm (strict) and compare with the project's logits."""
    manifest = json.load(open(os.path.join(FIXTURE_DIR, 'manifest.json')))
    specs = fixture_specs()
    results = {}
    for name in manifest['fixtures']:
        path = os.path.join(args.exports, f'{name}.export.safetensors')
        meta = json.load(open(os.path.join(args.exports, f'{name}.export.json')))
        model = build(specs[name][0]).double().eval()
        load_arrays(model, common.read_safetensors(path))
        errs = {}
        for kind, ours in meta['logits'].items():
            x = common.read_safetensors(os.path.join(FIXTURE_DIR, f'{name}.io.safetensors'))[f'input.{kind}']
            logits, _ = run_float64(model, x)
            errs[kind] = common.rel_err(np.array(ours, dtype=np.float64).reshape(logits.shape), logits)
        sha = hashlib.sha256(open(path, 'rb').read()).hexdigest()
        results[name] = {'sha256': sha, 'seed': meta['seed'], 'relErr': errs}
        print(f'{name}: export loads strict=True; project vs timm logits rel. err {errs}')
    manifest['exports'] = results
    common.save_manifest(manifest, FIXTURE_DIR)


if __name__ == '__main__':
    common.run_cli(__doc__, 'scripts/timm-export-fixtures-efficientnet.ts', 'timm.models.efficientnet', generate, check_exports)
