#!/usr/bin/env python3
"""Does LEONARDO's latent carry a trajectory's orientation? (issue "Realism II": why the decoder puts the long axis on x)

Writes the first 200 frames of each train particle (data/aunr_lptem_300-split.json) and the same windows with x and
y swapped, encodes both with a checkpoint, decodes the posterior means, and prints how the latents of a window and of
its transpose compare, and whether the reconstruction's long axis follows the data's. Only train particles are read.
Needs numpy and h5py (not a test dependency).

Usage: python3 tools/orientation_probe.py [--checkpoint Environments/models/leonardo-real-v2.h5] [--work /tmp/iso]
"""
import argparse
import json
import os
import subprocess

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=os.path.join(ROOT, "Environments/models/leonardo-real-v2.h5"))
    p.add_argument("--work", default="/tmp/orientation-probe")
    p.add_argument("--gym-runner", default=os.path.join(ROOT, ".build/release/gym-runner"))
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    split = json.load(open(os.path.join(ROOT, "data/aunr_lptem_300-split.json")))
    with h5py.File(os.path.join(ROOT, "data/aunr_lptem_300.h5"), "r") as f:
        windows = f["trajectories"][:][np.array(split["train"])][:, :200, :]
    rec = {}
    for name, arr in (("orig", windows), ("swap", windows[:, :, ::-1])):
        data, z, r = (os.path.join(a.work, f"{k}-{name}.h5") for k in ("data", "z", "rec"))
        with h5py.File(data, "w") as g:
            g["trajectories"] = np.ascontiguousarray(arr.astype(np.float32))
        for cmd in (["leonardo", "encode", "--data", data, "--out", z],
                    ["leonardo", "generate", "--latents", z, "--out", r, "--seed", "1"]):
            subprocess.run([a.gym_runner, *cmd, "--checkpoint", a.checkpoint, "--overwrite"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with h5py.File(z, "r") as g:
            rec["z-" + name] = g["latents"][:]
        with h5py.File(r, "r") as g:
            rec[name] = g["trajectories"][:]
    zo, zs = rec["z-orig"], rec["z-swap"]
    np.set_printoptions(precision=2, suppress=True)
    print(f"{len(windows)} train windows; checkpoint {a.checkpoint}")
    print("latent correlation, window vs its transpose, per coordinate:",
          np.array([np.corrcoef(zo[:, k], zs[:, k])[0, 1] for k in range(zo.shape[1])]))
    print("mean |difference| / spread, per coordinate:", np.abs(zo - zs).mean(0) / zo.std(0))

    def longer_x(t):
        r = t.max(1) - t.min(1)
        return r[:, 0] > r[:, 1]

    def ratio(t):
        d = np.diff(t, axis=1)
        return np.median(d[:, :, 0].std(1) / d[:, :, 1].std(1))

    print(f"data: longer on x {longer_x(windows).mean():.3f}, median x:y step-std ratio {ratio(windows):.3f}")
    for name in ("orig", "swap"):
        print(f"reconstruction of {name}: longer on x {longer_x(rec[name]).mean():.3f}, "
              f"ratio {ratio(rec[name]):.3f}")
    print(f"reconstruction's long axis = the data's: {(longer_x(rec['orig']) == longer_x(windows)).mean():.3f}")
    print(f"reconstruction's long axis flips with the swap: {(longer_x(rec['orig']) != longer_x(rec['swap'])).mean():.3f}")


if __name__ == "__main__":
    main()
