"""Stage-1 step cost: SSL (exact, taylor) vs supervised, and what their passes predict.

Usage: python benchmarks/bench_spatial.py [--backbone resnet18] [--image-size 112] [--batch 8]
       python benchmarks/bench_spatial.py --demo DATA [--demo-mode ssl] [--rounds 3] [--demo-before KEY=VALUE ...]
       (DATA from `semifer synth DATA --scale demo`: the real loop, previous demo settings, or the
       shipped recipe with --demo-before's overrides, vs the shipped recipe)
       python benchmarks/bench_spatial.py --layouts --backbone resnet10t --batch 32 --rounds 6
       python benchmarks/bench_spatial.py --device cuda --bf16 --channels-last --json OUT.json
       (--json also writes the step figures to a file, as benchmarks/gpu_check.sh reads them)

Times are measured interleaved in one process (rounds alternate between variants, median
reported) so the shared cores' load hits every variant alike. The prediction sums the
measured cost of each pass a step performs (teacher forward+backward+SGD on the
concatenated batch, student forward+backward+SGD, the labeled backward or forwards).
Peak memory is the peak RSS of a fresh subprocess per variant, above its RSS before the
networks were built, against a budget of two networks, their gradients and momentum
buffers, one gradient copy and the activations of one step's forwards (measured apart).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from semifer.models.backbone import create_backbone
from semifer.ssl.config import SSLConfig
from semifer.runs.state import Network
from semifer.ssl.task import SupervisedTask, TeacherStudentTask

VARIANTS = ("supervised", "exact", "taylor")
PASSES = {  # (images forwarded, images backpropagated) per labeled image, uratio 1
    "supervised": (1, 1),
    "exact": (3 + 1 + 1, 3 + 1 + 1),
    "taylor": (3 + 1 + 2, 3 + 1),
}


DEVICE = torch.device("cpu")
BF16 = False
CHANNELS_LAST = False  # as the training loop with channels_last=true lays out networks and batches


def _autocast() -> contextlib.AbstractContextManager[object]:
    return torch.autocast(DEVICE.type, dtype=torch.bfloat16) if BF16 else contextlib.nullcontext()


def _model(backbone: str) -> torch.nn.Module:
    model = create_backbone(backbone, 8).to(DEVICE)
    return model.to(memory_format=torch.channels_last) if CHANNELS_LAST else model


def _images(n: int, size: int) -> torch.Tensor:
    images = torch.randn(n, 3, size, size, device=DEVICE)
    return images.contiguous(memory_format=torch.channels_last) if CHANNELS_LAST else images


def _network(backbone: str, lr: float, seed: int) -> Network:
    torch.manual_seed(seed)
    model = _model(backbone)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    return Network(model, optimizer, torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=1000))


def _batch(n: int, size: int) -> tuple[torch.Tensor, ...]:
    images = [_images(n, size) for _ in range(3)]
    return images[0], torch.randint(0, 8, (n,), device=DEVICE), images[1], images[2]


def _step_fn(variant: str, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """One step of ``variant``; ``diagnosed`` is an exact step that also measures the loop."""
    x_lb, y_lb, x_w, x_s = _batch(args.batch, args.image_size)
    if variant == "supervised":
        task = SupervisedTask(_network(args.backbone, 1e-3, 1), _autocast)
        return lambda step: task.train_step(x_lb, y_lb, step)
    feedback = "exact" if variant == "diagnosed" else variant
    job = TeacherStudentTask(
        _network(args.backbone, 1e-2, 0), _network(args.backbone, 1e-3, 1), SSLConfig(feedback=feedback), _autocast
    )
    x_w2 = _images(args.batch, args.image_size) if variant == "diagnosed" else None
    return lambda step: job.train_step(x_lb, y_lb, x_w, x_s, step, x_w2)


def _pass_fns(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The building blocks: each pass a step performs, timed on its own."""
    n, size = args.batch, args.image_size
    net = _network(args.backbone, 1e-3, 2)
    params = list(net.model.parameters())
    x3, y3 = _images(3 * n, size), torch.randint(0, 8, (3 * n,), device=DEVICE)
    x1, y1 = x3[:n], y3[:n]

    def train(x: torch.Tensor, y: torch.Tensor) -> None:
        with _autocast():
            loss = F.cross_entropy(net.model(x).float(), y)
        net.step(loss)

    def grad_only() -> None:
        with _autocast():
            loss = F.cross_entropy(net.model(x1).float(), y1)
        torch.autograd.grad(loss, params)

    def forward_only() -> None:
        with torch.no_grad(), _autocast():
            net.model(x1)

    return {
        "train_3n": lambda: train(x3, y3),
        "train_n": lambda: train(x1, y1),
        "grad_n": grad_only,
        "forward_n": forward_only,
    }


def timings(args: argparse.Namespace) -> dict[str, float]:
    steps = {v: _step_fn(v, args) for v in (*VARIANTS, "diagnosed")}
    passes = _pass_fns(args)
    samples: dict[str, list[float]] = {name: [] for name in list(steps) + list(passes)}
    for round_ in range(args.warmup + args.rounds):
        for name, run in list(steps.items()) + list(passes.items()):
            _sync()
            start = time.perf_counter()
            run(round_) if name in steps else run()
            _sync()
            if round_ >= args.warmup:
                samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def peak_memory(variant: str, args: argparse.Namespace) -> dict[str, float]:
    """Run in a fresh process: RSS growth over the baseline, and the budget's parts."""
    before = _rss_mb()
    if variant == "activations":
        x_lb, y_lb, x_w, x_s = _batch(args.batch, args.image_size)
        teacher, student = _model(args.backbone), _model(args.backbone)
        base = _rss_mb()
        with _autocast():
            held = teacher(torch.cat((x_lb, x_w, x_s))).float().sum() + student(x_s).float().sum()
        held.backward()
        grads = 2 * sum(p.numel() * p.element_size() for p in teacher.parameters()) / 2**20
        return {"activations_mb": _peak_mb() - base - grads}
    params = sum(p.numel() * p.element_size() for p in create_backbone(args.backbone, 8).parameters()) / 2**20
    before = _rss_mb()
    run = _step_fn(variant, args)
    for step in range(3):
        run(step)
    return {"peak_mb": _peak_mb() - before, "params_mb": params}


def _sync() -> None:
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


def cuda_memory(variant: str, args: argparse.Namespace) -> dict[str, float]:
    """On a GPU: peak allocated memory of three steps above what was allocated before."""
    torch.cuda.empty_cache()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    if variant == "activations":
        x_lb, y_lb, x_w, x_s = _batch(args.batch, args.image_size)
        teacher, student = _model(args.backbone), _model(args.backbone)
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        with _autocast():
            held = teacher(torch.cat((x_lb, x_w, x_s))).float().sum() + student(x_s).float().sum()
        held.backward()
        grads = 2 * sum(p.numel() * p.element_size() for p in teacher.parameters())
        return {"activations_mb": (torch.cuda.max_memory_allocated() - base - grads) / 2**20}
    run = _step_fn(variant, args)
    for step in range(3):
        run(step)
    _sync()
    params = sum(p.numel() * p.element_size() for p in create_backbone(args.backbone, 8).parameters()) / 2**20
    return {"peak_mb": (torch.cuda.max_memory_allocated() - before) / 2**20, "params_mb": params}


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20


def _peak_mb() -> float:
    """VmHWM: the peak RSS of this address space (ru_maxrss would carry the parent's over exec)."""
    with open("/proc/self/status") as handle:
        line = next(line for line in handle if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


# The demo recipe's stage 1 before the decoded-image cache: resnet10t at 64 px in fp32, every
# image decoded with PIL-sized torchvision transforms in one DataLoader worker.
BEFORE = [
    "model.backbone=resnet10t", "model.image_size=64", "model.resize_size=73", "bf16=false",
    "channels_last=false", "data.decoded_cache=''", "data.workers=1", "batch_size=32", "model.channels=[]",
]


def demo_throughput(data: str, rounds: int, steps: int, mode: str, before: list[str]) -> dict[str, list[float]]:
    """Training images/s of the real stage-1 loop on the demo data, ``before`` (overrides of the
    shipped recipe) vs the shipped recipe.

    Each round runs ``steps`` steps of each variant (interleaved, so the machine's load hits
    both alike) in a fresh run folder; the first logging interval (start-up) is dropped.
    """
    import tempfile

    from semifer.config import load_config, recipe_path
    from semifer.ssl.config import SpatialConfig
    from semifer.ssl.loop import train_spatial

    rates: dict[str, list[float]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(rounds):
            for name, extra in (("before", before), ("after", [f"data.decoded_cache={scratch}/cache"])):
                run_dir = Path(scratch) / f"{name}-{round_}"
                overrides = [
                    f"data.root={data}", f"run_dir={run_dir}", f"mode={mode}", f"steps={steps}",
                    f"log_every={steps // 3}", f"eval_every={10 * steps}", f"checkpoint_every={10 * steps}",
                    "data.validation_root=''", "ssl.student_wait_steps=0", *extra,
                ]
                train_spatial(load_config(SpatialConfig, recipe_path("demo"), overrides), progress=False)
                rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
                rates[name].append(statistics.mean(row["images_per_s"] for row in rows[1:]))
    return rates


def layout_throughput(backbone: str, size: int, batch: int, rounds: int) -> dict[str, float]:
    """Training images/s (forward + backward + SGD, random tensors) in fp32/bf16, with and
    without channels_last: what each of the two levers pays for this backbone and size."""
    rates = {}
    for bf16 in (False, True):
        for channels_last in (False, True):
            torch.manual_seed(0)
            model = create_backbone(backbone, 8)
            images, labels = torch.randn(batch, 3, size, size), torch.randint(0, 8, (batch,))
            if channels_last:
                model, images = model.to(memory_format=torch.channels_last), images.contiguous(memory_format=torch.channels_last)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            times = []
            for _ in range(rounds + 2):
                start = time.perf_counter()
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    loss = F.cross_entropy(model(images).float(), labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                times.append(time.perf_counter() - start)
            name = ("bf16" if bf16 else "fp32") + (" + channels_last" if channels_last else "")
            rates[name] = batch / statistics.median(times[2:])
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", default="", help="demo data folder: time the real loop, before vs shipped recipe")
    parser.add_argument("--demo-mode", default="ssl", help="ssl or supervised (with --demo)")
    parser.add_argument("--layouts", action="store_true", help="fp32/bf16 x channels_last training images/s at 64 and 48 px")
    parser.add_argument("--demo-steps", type=int, default=30, help="steps per variant per round (with --demo)")
    parser.add_argument(
        "--demo-before", nargs="+", default=BEFORE, metavar="KEY=VALUE",
        help="with --demo: the overrides of the shipped recipe timed as 'before' (default: the earlier demo recipe)",
    )
    parser.add_argument("--backbone", default="resnet18")
    parser.add_argument("--image-size", type=int, default=112)
    parser.add_argument("--batch", type=int, default=8, help="labeled images per step (uratio 1)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast in every pass")
    parser.add_argument("--channels-last", action="store_true", help="networks and batches in channels_last")
    parser.add_argument("--json", default="", help="also write the step figures to this JSON file")
    parser.add_argument("--memory-of", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    global DEVICE, BF16, CHANNELS_LAST
    DEVICE, BF16, CHANNELS_LAST = torch.device(args.device), args.bf16, args.channels_last
    torch.set_num_threads(args.threads)
    if args.layouts:
        for size in (64, 48):
            for batch in (args.batch, 3 * args.batch):
                rates = layout_throughput(args.backbone, size, batch, args.rounds)
                cells = "  ".join(f"{name} {rate:5.0f}" for name, rate in rates.items())
                sys.stdout.write(f"{args.backbone} {size} px batch {batch}: images/s  {cells}\n")
        return
    if args.demo:
        rates = demo_throughput(args.demo, args.rounds, args.demo_steps, args.demo_mode, args.demo_before)
        before, after = statistics.median(rates["before"]), statistics.median(rates["after"])
        sys.stdout.write(f"stage 1 ({args.demo_mode}) on {args.demo}, CPU, {args.threads} threads, {args.rounds} rounds\n")
        for name, values in rates.items():
            sys.stdout.write(f"{name:<7} median {statistics.median(values):7.1f} images/s  rounds {[round(v) for v in values]}\n")
        sys.stdout.write(f"after / before: {after / before:.2f}x\n")
        return
    if args.memory_of:
        sys.stdout.write(json.dumps(peak_memory(args.memory_of, args)) + "\n")
        return
    t = timings(args)
    predicted = {
        "supervised": t["train_n"],
        "exact": t["train_3n"] + t["train_n"] + t["grad_n"],
        "taylor": t["train_3n"] + t["train_n"] + 2 * t["forward_n"],
    }
    if DEVICE.type == "cuda":
        memory = {v: cuda_memory(v, args) for v in (*VARIANTS, "activations")}
    else:
        memory = {v: _memory_of(v) for v in (*VARIANTS, "activations")}
    params = memory["exact"]["params_mb"]
    budget = 2 * 3 * params + params + memory["activations"]["activations_mb"]
    out = sys.stdout
    where = torch.cuda.get_device_name() if DEVICE.type == "cuda" else f"CPU, {args.threads} threads"
    where += ", bf16 autocast" if BF16 else ", fp32"
    where += ", channels_last" if CHANNELS_LAST else ""
    out.write(f"backbone {args.backbone}, {args.image_size}px, labeled batch {args.batch}, uratio 1, {where}\n")
    out.write(f"{'step':<11}{'fwd/bwd imgs':>14}{'measured s':>12}{'predicted s':>13}{'ratio':>8}{'peak MB':>10}\n")
    for v in VARIANTS:
        fwd, bwd = (k * args.batch for k in PASSES[v])
        ratio = t[v] / predicted[v]
        out.write(f"{v:<11}{f'{fwd}/{bwd}':>14}{t[v]:>12.3f}{predicted[v]:>13.3f}{ratio:>8.2f}{memory[v]['peak_mb']:>10.0f}\n")
    out.write(f"exact / taylor: {t['exact'] / t['taylor']:.2f}x; SSL exact / supervised: {t['exact'] / t['supervised']:.2f}x\n")
    extra = t["diagnosed"] / t["exact"] - 1
    every = SSLConfig().diagnose_every
    out.write(f"the loop's diagnostics: +{100 * extra:.0f}% on a diagnosed step, +{100 * extra / every:.1f}% at ssl.diagnose_every={every}\n")
    out.write(
        f"memory budget (2 nets x weights+grads+momentum + 1 grad copy + activations "
        f"{memory['activations']['activations_mb']:.0f} MB): {budget:.0f} MB; exact peak {memory['exact']['peak_mb']:.0f} MB\n"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(_figures(args, where, t, predicted, memory), indent=2) + "\n")


def _figures(
    args: argparse.Namespace, where: str, t: dict[str, float], predicted: dict[str, float], memory: dict[str, dict[str, float]]
) -> dict[str, object]:
    """The printed step figures as JSON; images per step count as the training loop's
    images_per_s does (labeled + both unlabeled views), so the two rates compare."""
    return {
        "backbone": args.backbone, "image_size": args.image_size, "batch": args.batch, "where": where,
        "step_s": {v: t[v] for v in VARIANTS},
        "predicted_s": predicted,
        "peak_mb": {v: memory[v]["peak_mb"] for v in VARIANTS},
        "images_per_step": {v: args.batch * (1 if v == "supervised" else 3) for v in VARIANTS},
    }


def _memory_of(variant: str) -> dict[str, float]:
    command = [sys.executable, __file__, "--memory-of", variant] + [a for a in sys.argv[1:]]
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


if __name__ == "__main__":
    main()
