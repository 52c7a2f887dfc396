#!/usr/bin/env python3
"""Latents from a Gaussian fitted to LEONARDO's aggregate posterior (an analysis aid, not used by the package).

    gym-runner leonardo encode --data runs/data/lptem/validation.h5 --out enc-val.h5
    python3 tools/aggregate_posterior_latents.py enc-val.h5 agg-latents.h5 --count 3202 --seed 7
    gym-runner leonardo generate --latents agg-latents.h5 --out gen-agg.h5
    gym-runner fidelity --reference runs/fidelity/lptem-test.h5 --candidate gen-agg.h5 --seeds 10 --count 1000

The fitted Gaussian has the mean and covariance of the posterior means plus the mean posterior variance on the
diagonal (the moments of the aggregate posterior q(z) = E_x q(z|x)); see docs/leonardo.md for what it changes.
"""
import argparse

import h5py
import numpy as np

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("encoded", help="output of 'gym-runner leonardo encode' (datasets latents, logvar)")
p.add_argument("out", help="HDF5 file with dataset 'latents' for 'gym-runner leonardo generate --latents'")
p.add_argument("--count", type=int, default=3202)
p.add_argument("--seed", type=int, default=7)
a = p.parse_args()
with h5py.File(a.encoded, "r") as f:
    mu = f["latents"][:].astype(np.float64)
    logvar = f["logvar"][:].astype(np.float64)
mean = mu.mean(0)
cov = np.cov(mu.T) + np.diag(np.exp(logvar).mean(0))
z = np.random.default_rng(a.seed).multivariate_normal(mean, cov, size=a.count).astype(np.float32)
with h5py.File(a.out + ".tmp", "w") as g:
    g["latents"] = z
import os
os.replace(a.out + ".tmp", a.out)
print(f"wrote {a.count} latents; aggregate posterior mean {np.round(mean, 2)}, sd {np.round(np.sqrt(np.diag(cov)), 2)}")
