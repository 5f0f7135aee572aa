#!/usr/bin/env python3
"""timm dm_nfnet_f0 fp32 training steps on CUDA, the PyTorch reference point for
scripts/gpu-bench.sh.

A step = forward + label-smoothed cross-entropy + backward + SGD (momentum 0.9, Nesterov)
step + zero_grad, on random NCHW images, fp32 (TF32 matmul/conv disabled so the figure
is plain fp32 like ours), model in train mode. After `--warmup` untimed steps, each timed
step is bracketed by torch.cuda.synchronize(); img/s uses the median step time.

  python3 bench/peers/timm_f0.py --json out.json [--configs 1x192,32x192] [--steps 10]
"""
import argparse
import json
import statistics
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", required=True, help="output file")
    ap.add_argument("--configs", default="1x192,32x192", help="comma-separated BATCHxRES")
    ap.add_argument("--steps", type=int, default=10, help="timed steps per config")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps per config")
    args = ap.parse_args()

    import torch
    import timm

    if not torch.cuda.is_available():
        json.dump({"skipped": "torch.cuda.is_available() is False"}, open(args.json, "w"), indent=2)
        return 0
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    dev = torch.device("cuda")
    results = []
    for cfg in args.configs.split(","):
        batch, res = (int(v) for v in cfg.lower().split("x"))
        torch.manual_seed(0)
        model = timm.create_model("dm_nfnet_f0", pretrained=False, num_classes=1000).to(dev).train()
        opt = torch.optim.SGD(model.parameters(), lr=0.1 * batch / 256, momentum=0.9, nesterov=True, weight_decay=2e-5)
        loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
        x = torch.randn(batch, 3, res, res, device=dev)
        y = torch.randint(0, 1000, (batch,), device=dev)

        def step() -> None:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()

        torch.cuda.reset_peak_memory_stats()
        for _ in range(args.warmup):
            step()
        torch.cuda.synchronize()
        times = []
        for _ in range(args.steps):
            t0 = time.perf_counter()
            step()
            torch.cuda.synchronize()
            times.append((time.perf_counter() - t0) * 1e3)
        med = statistics.median(times)
        results.append({
            "batch": batch, "resolution": res, "stepsTimed": args.steps, "warmup": args.warmup,
            "timesMs": times, "medianMs": med, "minMs": min(times), "imgPerS": batch / (med / 1e3),
            "peakMemoryBytes": torch.cuda.max_memory_allocated(),
            "params": sum(p.numel() for p in model.parameters()),
        })
        print(f"timm dm_nfnet_f0 b{batch}x{res}: {med:.1f} ms/step, {batch / (med / 1e3):.1f} img/s", file=sys.stderr)
        del model, opt, x, y
        torch.cuda.empty_cache()
    out = {
        "schema": "nfnet-webgpu-timm-f0/1", "model": "dm_nfnet_f0", "precision": "fp32 (TF32 off)",
        "step": "forward + CE(label_smoothing=0.1) + backward + SGD(momentum 0.9, nesterov, wd 2e-5)",
        "torch": torch.__version__, "timm": timm.__version__, "cuda": torch.version.cuda,
        "device": torch.cuda.get_device_name(0), "results": results,
    }
    json.dump(out, open(args.json, "w"), indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
