"""Where a stage-1 training step's time goes, convolution by convolution.

Usage: python benchmarks/conv_layers.py [--backbone resnet10t] [--channels 64,128,256,256] [--image-size 48] [--batch 96] [--rounds 15]

Every ``Conv2d`` of the backbone is timed on its own, at the input shape it sees in the
network (found with forward hooks), forward and backward, in bf16 + channels_last (the demo's
layout) and in fp32 with the default layout. Variants are interleaved per round and the
median is reported, so the shared cores' load hits them alike. The backward computes the
gradients of both the weights and the input, as a layer inside the network does (the stem's
input gradient aside). The last column is each layer's share of the summed bf16 backward:
the layers whose backward is many times their forward are what holds the step back.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from semifer.models.backbone import create_backbone

LAYOUTS = {"bf16 + channels_last": (torch.bfloat16, torch.channels_last), "fp32": (torch.float32, torch.contiguous_format)}


def conv_inputs(model: nn.Module, batch: int, size: int) -> list[tuple[str, nn.Conv2d, torch.Size]]:
    """Each convolution of ``model`` with the input shape it receives on a ``batch`` of ``size`` px images."""
    seen: list[tuple[str, nn.Conv2d, torch.Size]] = []
    hooks = [
        module.register_forward_hook(lambda m, args, out, name=name: seen.append((name, m, args[0].shape)))
        for name, module in model.named_modules()
        if isinstance(module, nn.Conv2d)
    ]
    with torch.no_grad():
        model(torch.zeros(batch, 3, size, size))
    for hook in hooks:
        hook.remove()
    return seen


def time_pass(conv: nn.Conv2d, shape: torch.Size, dtype: torch.dtype, layout: torch.memory_format) -> tuple[float, float]:
    """Seconds of one forward and one backward (weights and input) of ``conv`` at ``shape``."""
    layer = nn.Conv2d(
        conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation, conv.groups,
        bias=conv.bias is not None,
    )
    layer = layer.to(dtype=dtype, memory_format=layout)
    images = torch.randn(shape).to(dtype=dtype, memory_format=layout).requires_grad_()
    start = time.perf_counter()
    out = layer(images)
    middle = time.perf_counter()
    out.backward(torch.ones_like(out))
    return middle - start, time.perf_counter() - middle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="resnet10t")
    parser.add_argument("--channels", default="", help="ResNet stage widths, e.g. 64,128,256,256 (default: the architecture's)")
    parser.add_argument("--image-size", type=int, default=48)
    parser.add_argument("--batch", type=int, default=96, help="the teacher's batch: labeled + weak + strong views")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    channels = [int(width) for width in args.channels.split(",")] if args.channels else []
    convs = conv_inputs(create_backbone(args.backbone, 8, channels=channels), args.batch, args.image_size)
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for round_ in range(args.rounds + 2):  # the first two rounds warm the kernels up
        for name, conv, shape in convs:
            for layout, (dtype, memory_format) in LAYOUTS.items():
                measured = time_pass(conv, shape, dtype, memory_format)
                if round_ >= 2:
                    times.setdefault((name, layout), []).append(measured)
    median = {key: tuple(statistics.median(pass_[i] for pass_ in runs) * 1e3 for i in (0, 1)) for key, runs in times.items()}
    bf16 = next(iter(LAYOUTS))
    total_backward = sum(median[(name, bf16)][1] for name, _, _ in convs)
    widths = f" (stage widths {args.channels})" if args.channels else ""
    print(f"{args.backbone}{widths} at {args.image_size} px, batch {args.batch}, {args.threads} threads, median of {args.rounds} rounds (ms)")
    print(f"{'layer':28} {'input':>18} | " + " | ".join(f"{layout:>27}" for layout in LAYOUTS) + " | bf16 bwd share")
    print(f"{'':28} {'':>18} | " + " | ".join(f"{'fwd':>7} {'bwd':>7} {'bwd/fwd':>7}  " for _ in LAYOUTS) + " |")
    for name, _, shape in convs:
        cells = []
        for layout in LAYOUTS:
            forward, backward = median[(name, layout)]
            cells.append(f"{forward:7.2f} {backward:7.2f} {backward / forward:7.1f}x ")
        share = median[(name, bf16)][1] / total_backward
        print(f"{name:28} {'x'.join(map(str, shape[1:])):>18} | " + " | ".join(cells) + f" | {share:6.1%}")
    for layout in LAYOUTS:
        forward = sum(median[(name, layout)][0] for name, _, _ in convs)
        backward = sum(median[(name, layout)][1] for name, _, _ in convs)
        print(f"all convolutions, {layout}: forward {forward:.1f} ms, backward {backward:.1f} ms ({backward / forward:.1f}x)")


if __name__ == "__main__":
    main()
