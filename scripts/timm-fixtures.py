#!/usr/bin/python3
"""Test fixtures made by timm itself (test/fixtures/timm/, read by test/timm.test.ts).

Builds small timm NormFreeNets of each family through timm's own config mechanism (its
_dm_nfnet_cfg / _nfnet_cfg / _nfres_cfg with tiny widths and depths), randomizes every
weight at timm's init scale with every gain, bias, SE weight and skip gain non-trivial,
runs them in float64 eval mode on an odd-sized and an even, non-square input, and writes:
  <name>.safetensors      the state dict (timm's names and layouts, float32)
  <name>.io.safetensors   inputs (NCHW), float64 logits, float64 stem/stage activations (NHWC)
  manifest.json           the timm commit, each fixture's timm config and the project config
                          it corresponds to, and timm's parameter counts (tiny and full size)

Runs with Debian's python3-torch, against timm's source fetched for the purpose into a
scratch folder (never committed); optional imports timm does not need here (torchvision,
huggingface_hub, safetensors) are stubbed in this process.

  /usr/bin/python3 scripts/timm-fixtures.py --timm /tmp/timm-src --timm-commit <sha> generate
  node scripts/run-ts.mjs scripts/timm-export-fixtures.ts /tmp/timm-export
  /usr/bin/python3 scripts/timm-fixtures.py --timm /tmp/timm-src check-exports /tmp/timm-export

`check-exports` loads each file the project exported (exportTimm) into the timm network that
the project's timmNfCfg names, with strict=True, runs it in float64 and compares with the
project's own logits; the results (and each file's SHA-256) go into the manifest.
"""
import argparse
import hashlib
import importlib.abc
import importlib.machinery
import json
import os
import subprocess
import sys
import types

import numpy as np

FIXTURE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'timm')
NUM_CLASSES = 5
# An odd, square batch of two and an even, non-square one (where TF SAME and PyTorch's
# symmetric padding pick different pixels).
INPUTS = {'odd': (2, 3, 19, 17), 'even': (1, 3, 16, 22)}


def stub_optional_imports():
    """Stand-ins for packages timm imports at module level but these models never use."""
    stubbed = ('torchvision', 'huggingface_hub', 'safetensors')

    class AnyMeta(type):
        def __getattr__(cls, name):
            if name.startswith('__'):
                raise AttributeError(name)
            return AnyMeta(name, (), {'__init__': lambda self, *a, **k: None})

    class Stub(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith('__'):
                raise AttributeError(name)
            return AnyMeta(name, (), {'__init__': lambda self, *a, **k: None})

    class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, fullname, path, target=None):
            if fullname.split('.')[0] in stubbed:
                return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
            return None

        def create_module(self, spec):
            return Stub(spec.name)

        def exec_module(self, module):
            module.__path__ = []

    sys.meta_path.insert(0, Finder())


def fixture_specs(nf):
    """Each small network: timm's config function with tiny sizes, and the project's equivalent.

    ch_div=1 and rd_divisor=1 keep timm from rounding the tiny widths to multiples of 8, so
    the widths are the ones written here on both sides.
    """
    from dataclasses import replace
    tiny = dict(depths=(1, 2, 1), channels=(16, 24, 32))
    dm = replace(nf._dm_nfnet_cfg(**tiny), stem_chs=8, group_size=4, num_features=64, ch_div=1,
                 attn_kwargs=dict(rd_ratio=0.5, rd_divisor=1))
    nfnet = replace(nf._nfnet_cfg(**tiny, group_size=4, feat_mult=2.0, attn_kwargs=dict(rd_ratio=0.5, rd_divisor=1)),
                    stem_chs=8, ch_div=1)
    res = replace(nf._nfres_cfg(depths=(1, 2, 1), channels=(16, 32, 48)), stem_chs=8, ch_div=1)
    seres = replace(nf._nfres_cfg(depths=(1, 2, 1), channels=(16, 32, 48), attn_layer='se',
                                  attn_kwargs=dict(rd_ratio=0.25, rd_divisor=1)), stem_chs=8, ch_div=1)
    deep_stem = [dict(channels=1, stride=2, kernel=3), dict(channels=2, stride=1, kernel=3),
                 dict(channels=4, stride=1, kernel=3), dict(channels=8, stride=2, kernel=3)]
    nfnet_overrides = dict(depths=[1, 2, 1], widths=[16, 24, 32], strides=[1, 2, 2], stem=deep_stem, groupWidth=4,
                           numClasses=NUM_CLASSES, inChannels=3)
    res_overrides = dict(depths=[1, 2, 1], widths=[16, 32, 48], strides=[1, 2, 2],
                         stem=[dict(channels=8, stride=2, kernel=7)], numClasses=NUM_CLASSES, inChannels=3)
    return {
        'dm_nfnet_tiny': (dm, 'dm_nfnet_f0', nfnet_overrides),
        'nfnet_tiny': (nfnet, 'nfnet_f0', nfnet_overrides),
        'nf_resnet_tiny': (res, 'nf_resnet50', res_overrides),
        'nf_seresnet_tiny': (seres, 'nf_seresnet50', dict(res_overrides, seRatio=0.25)),
    }


def randomize(model, seed):
    """timm's own init for the weights (fan-in normal, classifier N(0, 0.01²)), then every
    gain, bias and skip gain drawn away from its trivial init value (a zero skip gain or bias
    would hide whole branches), all rounded to float32 (the stored precision)."""
    import torch
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('.gain'):
                p.copy_(torch.rand(p.shape, generator=g, dtype=p.dtype) + 0.5)  # U(0.5, 1.5)
            elif name.endswith('skipinit_gain'):
                p.copy_(torch.rand(p.shape, generator=g, dtype=p.dtype) * 0.8 + 0.4)  # U(0.4, 1.2)
            elif name.endswith('.bias'):
                p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.1)
            p.copy_(p.float().double())


def write_safetensors(path, arrays):
    """The layout the safetensors library writes (float32/64, int64 for BN's counters): by dtype, then name, compact JSON,
    header padded with spaces to 8 bytes, no metadata."""
    # The library's order: by descending dtype (its enum: ... F32 < F64 < I64), then by name.
    rank = {np.dtype('float32'): 0, np.dtype('float64'): 1, np.dtype('int64'): 2}
    names = sorted(arrays, key=lambda n: (-rank[arrays[n].dtype], n))
    header, offset = {}, 0
    for n in names:
        a = arrays[n]
        dtype = {np.dtype('float32'): 'F32', np.dtype('float64'): 'F64', np.dtype('int64'): 'I64'}[a.dtype]
        header[n] = {'dtype': dtype, 'shape': list(a.shape), 'data_offsets': [offset, offset + a.nbytes]}
        offset += a.nbytes
    text = json.dumps(header, separators=(',', ':'))
    text += ' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(len(text).to_bytes(8, 'little'))
        f.write(text.encode())
        for n in names:
            f.write(np.ascontiguousarray(arrays[n]).astype(arrays[n].dtype.newbyteorder('<')).tobytes())


def read_safetensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], 'little')
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, v in header.items():
        if name == '__metadata__':
            continue
        dt = {'F32': '<f4', 'F64': '<f8', 'I64': '<i8'}[v['dtype']]
        b, e = v['data_offsets']
        out[name] = np.frombuffer(data[b:e], dtype=dt).reshape(v['shape'])
    return out


def make_input(shape, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape).astype(np.float32)


def run_float64(model, x):
    """Logits and (NHWC) activations after the stem and after each stage."""
    import torch
    acts = {}
    hooks = [model.stem.register_forward_hook(lambda m, i, o: acts.__setitem__('stem', o))]
    for s, stage in enumerate(model.stages):
        hooks.append(stage.register_forward_hook(lambda m, i, o, s=s: acts.__setitem__(f'stages.{s}', o)))
    with torch.no_grad():
        logits = model(torch.from_numpy(np.array(x)).double())
    for h in hooks:
        h.remove()
    return logits.numpy(), {k: v.permute(0, 2, 3, 1).numpy() for k, v in acts.items()}


def rel_err(got, want):
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


def timm_commit(args):
    if args.timm_commit:
        return args.timm_commit
    try:
        return subprocess.check_output(['git', '-C', args.timm, 'rev-parse', 'HEAD'], text=True).strip()
    except Exception:
        sys.exit('name the timm commit the source came from: --timm-commit <sha>')


def generate(args, nf):
    import torch
    from dataclasses import asdict
    os.makedirs(FIXTURE_DIR, exist_ok=True)
    manifest = {
        'about': 'Made by scripts/timm-fixtures.py from timm itself; read by test/timm.test.ts.',
        'timm': {'repo': 'huggingface/pytorch-image-models', 'commit': timm_commit(args), 'torch': torch.__version__},
        'numClasses': NUM_CLASSES,
        'inputs': {k: list(v) for k, v in INPUTS.items()},
        'fixtures': {},
        'fullSizeParams': {},
    }
    for i, (name, (cfg, variant, overrides)) in enumerate(fixture_specs(nf).items()):
        torch.manual_seed(100 + i)
        model = nf.NormFreeNet(cfg, num_classes=NUM_CLASSES, in_chans=3).double().eval()
        randomize(model, 200 + i)
        state = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
        write_safetensors(os.path.join(FIXTURE_DIR, f'{name}.safetensors'), state)
        io = {}
        for j, (kind, shape) in enumerate(INPUTS.items()):
            x = make_input(shape, 300 + 10 * i + j)
            logits, acts = run_float64(model, x)
            io[f'input.{kind}'] = x
            io[f'logits.{kind}'] = logits
            if kind == 'odd':  # activations of one input keep the files small
                io.update({f'act.{k}': v for k, v in acts.items()})
        write_safetensors(os.path.join(FIXTURE_DIR, f'{name}.io.safetensors'), io)
        # The loaded state dict must reproduce the run (strict: every key, nothing extra).
        again = nf.NormFreeNet(cfg, num_classes=NUM_CLASSES, in_chans=3).double().eval()
        again.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in
                               read_safetensors(os.path.join(FIXTURE_DIR, f'{name}.safetensors')).items()}, strict=True)
        reload_err = rel_err(run_float64(again, io['input.odd'])[0], io['logits.odd'])
        assert reload_err == 0.0, f'{name}: the written state dict does not reproduce timm ({reload_err})'
        manifest['fixtures'][name] = {
            'timmConfig': asdict(cfg),
            'project': {'variant': variant, 'overrides': overrides},
            'params': sum(p.numel() for p in model.parameters()),
        }
        print(f'{name}: {manifest["fixtures"][name]["params"]} parameters')
    for v in ['dm_nfnet_f0', 'dm_nfnet_f1', 'dm_nfnet_f2', 'dm_nfnet_f3', 'dm_nfnet_f4', 'dm_nfnet_f5', 'dm_nfnet_f6',
              'nfnet_f0', 'nfnet_f7', 'nf_resnet26', 'nf_resnet50', 'nf_resnet101',
              'nf_seresnet26', 'nf_seresnet50', 'nf_seresnet101']:
        model = getattr(nf, v)(device='meta')
        manifest['fullSizeParams'][v] = sum(p.numel() for p in model.parameters())
    old = os.path.join(FIXTURE_DIR, 'manifest.json')
    if os.path.exists(old):  # keep the export checks of an earlier run until they are redone
        manifest['exports'] = json.load(open(old)).get('exports', {})
    save_manifest(manifest)


def check_exports(args, nf):
    """Load each project export into timm (strict) and compare with the project's logits."""
    import torch
    manifest = json.load(open(os.path.join(FIXTURE_DIR, 'manifest.json')))
    results = {}
    for name in manifest['fixtures']:
        path = os.path.join(args.exports, f'{name}.export.safetensors')
        meta = json.load(open(os.path.join(args.exports, f'{name}.export.json')))
        cfg = nf.NfCfg(**{k: tuple(v) if isinstance(v, list) else v for k, v in meta['nfCfg'].items()})
        model = nf.NormFreeNet(cfg, num_classes=meta['numClasses'], in_chans=meta['inChannels']).double().eval()
        state = read_safetensors(path)
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()}, strict=True)
        errs = {}
        for kind, ours in meta['logits'].items():
            x = read_safetensors(os.path.join(FIXTURE_DIR, f'{name}.io.safetensors'))[f'input.{kind}']
            logits, _ = run_float64(model, x)
            errs[kind] = rel_err(np.array(ours, dtype=np.float64).reshape(logits.shape), logits)
        sha = hashlib.sha256(open(path, 'rb').read()).hexdigest()
        results[name] = {'sha256': sha, 'seed': meta['seed'], 'relErr': errs}
        print(f'{name}: export loads strict=True; project vs timm logits rel. err {errs}')
    manifest['exports'] = results
    save_manifest(manifest)


def save_manifest(manifest, fixture_dir=FIXTURE_DIR):
    with open(os.path.join(fixture_dir, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')


def run_cli(doc, export_script, timm_module, generate, check_exports):
    """The command line every fixture script shares: `--timm <src> [--timm-commit <sha>]
    generate | check-exports <folder>`, run with timm's source importable (optional imports
    stubbed) and float64 as torch's default; `generate(args, module)` / `check_exports(args,
    module)` get the parsed arguments and the imported timm module."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--timm', required=True, help="folder holding timm's source (the 'timm' package inside it)")
    ap.add_argument('--timm-commit', help='the commit that source came from (default: git rev-parse in --timm)')
    sub = ap.add_subparsers(dest='cmd', required=True)
    sub.add_parser('generate')
    ce = sub.add_parser('check-exports')
    ce.add_argument('exports', help=f'folder written by {export_script}')
    args = ap.parse_args()
    stub_optional_imports()
    sys.path.insert(0, args.timm)
    import importlib
    import torch
    torch.set_default_dtype(torch.float64)
    module = importlib.import_module(timm_module)
    generate(args, module) if args.cmd == 'generate' else check_exports(args, module)


if __name__ == '__main__':
    run_cli(__doc__, 'scripts/timm-export-fixtures.ts', 'timm.models.nfnet', generate, check_exports)
