"""Concatenate trajectory files (datasets 'trajectories' N×T×2 and, where all have it, 'dose') into one HDF5 file.

Used to prepare fine-tuning data (e.g. the LPTEM-like training split plus extra high-dose trajectories); the
package itself never needs it.  Usage: python3 tools/concat_trajectories.py OUT.h5 IN1.h5 IN2.h5 ...
"""
import sys
import h5py
import numpy as np

out, inputs = sys.argv[1], sys.argv[2:]
files = [h5py.File(p, "r") for p in inputs]
traj = np.concatenate([f["trajectories"][:] for f in files]).astype(np.float32)
with h5py.File(out + ".tmp", "w") as g:
    g["trajectories"] = traj
    if all("dose" in f for f in files):
        g["dose"] = np.concatenate([f["dose"][:] for f in files])
    g.attrs["generator"] = "concatenation of " + ", ".join(inputs)
import os
os.replace(out + ".tmp", out)
print(f"wrote {traj.shape[0]} trajectories to {out}")
