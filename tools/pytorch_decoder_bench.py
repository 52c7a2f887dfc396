#!/usr/bin/env python3
"""The LEONARDO decoder in PyTorch beside `gym-runner perf bench`, measured in the same run (issue 28's comparison).

A PyTorch port of the authors' released decoder at the paper's sizes (T = 200, latent 12, embed 128, 8 heads,
2 blocks, hidden 1024, 32 channels): linear1 + ReLU, the bottleneck linear + ReLU viewed N×32×T, ConvTranspose1d,
then the released loop, which feeds e to every decoder block and keeps the last block's output (so the first
block's work is computed and thrown away), and conv_out. Each DecoderBlock is attention(e, e, e) + e, LayerNorm,
then a TransformerBlock (attention with the normalised queries, LayerNorm, feed-forward 128 → 256 → 128, LayerNorm);
attention divides the scores by √embed as the released code does; dropout is the identity in eval mode. Weights are
PyTorch's default initialisation: speed does not depend on their values.

It times, on CPU with the same number of threads as gym-runner's workers, in eval mode under torch.no_grad():
- "torch, authors' loop": the class as released (every block computed);
- "torch, live blocks": the same with the dead block skipped, as MicroscopeGym's decoder does (the fairer count);
and runs `gym-runner perf bench --kernels simd` (and blas) on the same batch sizes in the same process tree, one
after the other, so both see the same machine state. Needs torch (CPU wheel) and numpy; not used by CI.

Usage: python3 tools/pytorch_decoder_bench.py [--batches 1 16 256] [--seconds 3] [--threads 2] [--repeats 2]
"""
import argparse
import math
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build_decoder(torch, nn):
    T, L, C, H, FE, HID, CD, KT, KO = 200, 12, 128, 8, 2, 1024, 32, 7, 3

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.values = nn.Linear(C, C, bias=False)
            self.keys = nn.Linear(C, C, bias=False)
            self.queries = nn.Linear(C, C, bias=False)
            self.fc_out = nn.Linear(C, C)

        def forward(self, values, keys, query):
            n, t, _ = query.shape
            v = self.values(values).reshape(n, t, H, C // H)
            k = self.keys(keys).reshape(n, t, H, C // H)
            q = self.queries(query).reshape(n, t, H, C // H)
            energy = torch.einsum("nqhd,nkhd->nhqk", q, k)
            attention = torch.softmax(energy / math.sqrt(C), dim=3)
            out = torch.einsum("nhql,nlhd->nqhd", attention, v).reshape(n, t, C)
            return self.fc_out(out)

    class TransformerBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = SelfAttention()
            self.norm1 = nn.LayerNorm(C)
            self.norm2 = nn.LayerNorm(C)
            self.feed_forward = nn.Sequential(nn.Linear(C, FE * C), nn.ReLU(), nn.Linear(FE * C, C))
            self.dropout = nn.Dropout(0.1)

        def forward(self, value, key, query):
            x = self.dropout(self.norm1(self.attention(value, key, query) + query))
            return self.dropout(self.norm2(self.feed_forward(x) + x))

    class DecoderBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = SelfAttention()
            self.norm = nn.LayerNorm(C)
            self.transformer_block = TransformerBlock()
            self.dropout = nn.Dropout(0.1)

        def forward(self, x, value, key):
            query = self.dropout(self.norm(self.attention(x, x, x) + x))
            return self.transformer_block(value, key, query)

    class Decoder(nn.Module):
        def __init__(self, live_only):
            super().__init__()
            self.live_only = live_only
            self.linear1 = nn.Linear(L, HID)
            self.bottleneck_linear = nn.Linear(HID, CD * T)
            self.convtranspose1 = nn.ConvTranspose1d(CD, C, KT, padding=KT // 2)
            self.layers = nn.ModuleList([DecoderBlock() for _ in range(2)])
            self.conv_out = nn.Conv1d(C, 2, KO, padding=KO // 2)

        def forward(self, z):
            h = torch.relu(self.linear1(z))
            h = torch.relu(self.bottleneck_linear(h)).view(z.shape[0], CD, T)
            e = self.convtranspose1(h).permute(0, 2, 1)
            layers = self.layers[-1:] if self.live_only else self.layers
            for layer in layers:  # the released loop: every block reads e
                x = layer(e, e, e)
            return self.conv_out(x.permute(0, 2, 1)).permute(0, 2, 1)

    return Decoder(False).eval(), Decoder(True).eval()


def time_torch(torch, model, batch, seconds):
    z = torch.randn(batch, 12)
    with torch.no_grad():
        model(z)  # warm-up
        calls, start = 0, time.perf_counter()
        while True:
            model(z)
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                return calls * batch / elapsed


def time_swift(gym, batches, seconds, kernels):
    out = subprocess.run(
        [gym, "perf", "bench", "--batches", *map(str, batches), "--kernels", kernels, "--seconds", str(seconds),
         "--skip-training", "--skip-environment"], capture_output=True, text=True, check=True).stdout
    rates = {}
    for b, r in re.findall(r"decoder batch +(\d+), " + kernels + r" +kernels: +([\d.]+) trajectories/s", out):
        rates[int(b)] = float(r)
    header = next((l for l in out.splitlines() if l.startswith("workers:")), "")
    return rates, header


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batches", type=int, nargs="+", default=[1, 16, 256])
    p.add_argument("--seconds", type=float, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--repeats", type=int, default=2, help="alternate Swift and PyTorch this many times")
    p.add_argument("--gym-runner", default=os.path.join(ROOT, ".build", "release", "gym-runner"))
    a = p.parse_args()
    try:
        import torch
        from torch import nn
    except ImportError:
        sys.exit("pytorch_decoder_bench: needs torch (e.g. pip install torch --index-url "
                 "https://download.pytorch.org/whl/cpu)")
    if not os.access(a.gym_runner, os.X_OK):
        sys.exit(f"pytorch_decoder_bench: {a.gym_runner} not found: swift build -c release first")
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    authors, live = build_decoder(torch, nn)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; gym-runner {a.gym_runner}")
    rows = {b: {"simd": [], "blas": [], "authors": [], "live": []} for b in a.batches}
    for rep in range(a.repeats):
        for kernels in ("simd", "blas"):
            rates, header = time_swift(a.gym_runner, a.batches, a.seconds, kernels)
            if rep == 0 and kernels == "simd":
                print(header)
            for b in a.batches:
                rows[b][kernels].append(rates[b])
        for b in a.batches:
            rows[b]["authors"].append(time_torch(torch, authors, b, a.seconds))
            rows[b]["live"].append(time_torch(torch, live, b, a.seconds))
    print()
    print("| batch | MicroscopeGym simd | MicroscopeGym blas | torch, authors' loop | torch, live blocks | "
          "simd / authors' | simd / live |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for b in a.batches:
        r = {k: max(v) for k, v in rows[b].items()}  # best of the repeats for every column
        print(f"| {b} | {r['simd']:.0f} | {r['blas']:.0f} | {r['authors']:.0f} | {r['live']:.0f} | "
              f"{r['simd'] / r['authors']:.1f}× | {r['simd'] / r['live']:.1f}× |")
    print(f"\ntrajectories/s, best of {a.repeats} alternating runs of ≥ {a.seconds:g} s each")


if __name__ == "__main__":
    main()
