#!/usr/bin/python3
"""BN-ResNet test fixtures made by timm itself (test/fixtures/timm-resnet/, read by
test/resnet-timm.test.ts).

Builds small timm ResNets through timm's own ResNet class (timm/models/resnet.py) with
tiny depths and widths, one of bottleneck blocks and one of basic blocks; randomizes every
weight, every BN weight and bias and the BN running statistics (timm's zero-init of the
last BN would hide the residual branches, running mean 0 / variance 1 would hide the
statistics); runs them in float64 eval mode on an odd and an even input; writes
  <name>.safetensors      the state dict (timm's names and layouts, float32; num_batches_tracked int64)
  <name>.io.safetensors   inputs (NCHW), float64 logits, float64 stem/stage activations (NHWC)
  manifest.json           the timm commit, each fixture's timm arguments and the project
                          variant + overrides it corresponds to, timm's parameter counts
                          (tiny and full size)

Reuses scripts/timm-fixtures.py's stubs and safetensors writer.

  /usr/bin/python3 scripts/timm-fixtures-resnet.py --timm /tmp/timm-src --timm-commit <sha> generate
  node scripts/run-ts.mjs scripts/timm-export-fixtures-resnet.ts /tmp/timm-export-resnet
  /usr/bin/python3 scripts/timm-fixtures-resnet.py --timm /tmp/timm-src check-exports /tmp/timm-export-resnet
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

FIXTURE_DIR = os.path.join(HERE, '..', 'test', 'fixtures', 'timm-resnet')
NUM_CLASSES = 5
INPUTS = {'odd': (2, 3, 19, 17), 'even': (1, 3, 16, 22)}
FULL_SIZE = ['resnet18', 'resnet34', 'resnet26', 'resnet50', 'resnet101']


def fixture_specs():
    """Each small network: timm's ResNet arguments and the project's variant + overrides.
    Four stages (timm's forward names layer1…layer4), one with two blocks; the stem is
    timm's 7×7 of 64 channels (fixed for its plain stem)."""
    return {
        'resnet_bottleneck_tiny': (dict(block='Bottleneck', layers=(1, 2, 1, 1), channels=(4, 8, 8, 8)),
                                   'resnet50', dict(depths=[1, 2, 1, 1], channels=[4, 8, 8, 8], numClasses=NUM_CLASSES)),
        'resnet_basic_tiny': (dict(block='BasicBlock', layers=(1, 2, 1, 1), channels=(8, 8, 16, 16)),
                              'resnet18', dict(depths=[1, 2, 1, 1], channels=[8, 8, 16, 16], numClasses=NUM_CLASSES)),
    }


def build(rn, args, num_classes=NUM_CLASSES, in_chans=3):
    kw = dict(args, block=getattr(rn, args['block']))
    return rn.ResNet(**kw, num_classes=num_classes, in_chans=in_chans).double().eval()


def randomize(model, seed):
    """timm's init for conv and fc weights; BN weights U(0.5, 1.5), biases N(0, 0.1²)
    (the fc bias too), running means N(0, 0.2²), running variances U(0.5, 2); all rounded
    to float32 (the stored precision)."""
    import torch
    g = torch.Generator().manual_seed(seed)
    rand = lambda t: torch.rand(t.shape, generator=g, dtype=t.dtype)
    randn = lambda t: torch.randn(t.shape, generator=g, dtype=t.dtype)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.copy_(rand(m.weight) + 0.5)
                m.bias.copy_(randn(m.bias) * 0.1)
                m.running_mean.copy_(randn(m.running_mean) * 0.2)
                m.running_var.copy_(rand(m.running_var) * 1.5 + 0.5)
        model.fc.bias.copy_(randn(model.fc.bias) * 0.1)
        for t in list(model.parameters()) + [b for n, b in model.named_buffers() if b.is_floating_point()]:
            t.copy_(t.float().double())


def run_float64(model, x):
    """Logits and (NHWC) activations after the stem (max pool) and after each stage."""
    import torch
    acts = {}
    hooks = [model.maxpool.register_forward_hook(lambda m, i, o: acts.__setitem__('stem', o))]
    for s in range(4):
        layer = getattr(model, f'layer{s + 1}', None)
        if layer is not None and len(layer):
            hooks.append(layer.register_forward_hook(lambda m, i, o, s=s: acts.__setitem__(f'layer{s + 1}', o)))
    with torch.no_grad():
        logits = model(torch.from_numpy(np.array(x)).double())
    for h in hooks:
        h.remove()
    return logits.numpy(), {k: v.permute(0, 2, 3, 1).numpy() for k, v in acts.items()}


def state_arrays(model):
    return {k: (v.detach().numpy().astype(np.int64) if not v.is_floating_point() else v.detach().float().numpy())
            for k, v in model.state_dict().items()}


def load_state(model, path):
    import torch
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in common.read_safetensors(path).items()}, strict=True)


def generate(args, rn):
    import torch
    os.makedirs(FIXTURE_DIR, exist_ok=True)
    manifest = {
        'about': 'Made by scripts/timm-fixtures-resnet.py from timm itself; read by test/resnet-timm.test.ts.',
        'timm': {'repo': 'huggingface/pytorch-image-models', 'commit': common.timm_commit(args), 'torch': torch.__version__},
        'numClasses': NUM_CLASSES,
        'inputs': {k: list(v) for k, v in INPUTS.items()},
        'fixtures': {},
        'fullSizeParams': {},
    }
    for i, (name, (targs, variant, overrides)) in enumerate(fixture_specs().items()):
        torch.manual_seed(100 + i)
        model = build(rn, targs)
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
        common.write_safetensors(os.path.join(FIXTURE_DIR, f'{name}.io.safetensors'), io)
        again = build(rn, targs)
        load_state(again, path)
        reload_err = common.rel_err(run_float64(again, io['input.odd'])[0], io['logits.odd'])
        assert reload_err == 0.0, f'{name}: the written state dict does not reproduce timm ({reload_err})'
        manifest['fixtures'][name] = {
            'timmArgs': {k: list(v) if isinstance(v, tuple) else v for k, v in targs.items()},
            'project': {'variant': variant, 'overrides': overrides},
            'params': sum(p.numel() for p in model.parameters()),
        }
        print(f'{name}: {manifest["fixtures"][name]["params"]} parameters')
    for v in FULL_SIZE:
        manifest['fullSizeParams'][v] = sum(p.numel() for p in getattr(rn, v)().parameters())
    old = os.path.join(FIXTURE_DIR, 'manifest.json')
    if os.path.exists(old):  # keep the export checks of an earlier run until they are redone
        manifest['exports'] = json.load(open(old)).get('exports', {})
    common.save_manifest(manifest, FIXTURE_DIR)


def check_exports(args, rn):
    """Load each project export into timm (strict=True) and compare with the project's logits."""
    manifest = json.load(open(os.path.join(FIXTURE_DIR, 'manifest.json')))
    results = {}
    for name, fx in manifest['fixtures'].items():
        path = os.path.join(args.exports, f'{name}.export.safetensors')
        meta = json.load(open(os.path.join(args.exports, f'{name}.export.json')))
        model = build(rn, {k: tuple(v) if isinstance(v, list) else v for k, v in meta['timmArgs'].items()},
                      num_classes=meta['numClasses'], in_chans=meta['inChannels'])
        load_state(model, path)
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
    common.run_cli(__doc__, 'scripts/timm-export-fixtures-resnet.ts', 'timm.models.resnet', generate, check_exports)
