#!/usr/bin/env python3
"""Convert the LEONARDO authors' PyTorch checkpoint into MicroscopeGym's HDF5 checkpoint format.

The authors save `torch.save(dict)` where the entry 'Model' (older files: 'model') is the state_dict of
`TransformerVAE(embed_size=128, num_layers=2, forward_expansion=2, heads=8, dropout=0, length_trajectory=200,
latent_space=12)`, next to entries such as 'Epochs' and the loss histories. This writes one float32 dataset per
state_dict entry (same name, same shape) at the root of an HDF5 file, plus the attributes 'format' and 'config'
(the LeonardoConfig as JSON) that `Leonardo.load` reads. Training histories are kept as datasets under

Usage: python3 tools/convert_pytorch_checkpoint.py LEONARDO.pt OUT.h5 [--chain-decoder-blocks]
Needs torch, numpy and h5py (none of them is a dependency of the Swift package or of CI).
"""
import argparse
import json
import os
import sys

import h5py
import numpy as np

PAPER_CONFIG = dict(length=200, latentDim=12, inputChannels=2, embedSize=128, heads=8, numLayers=2,
                    forwardExpansion=2, inputKernel=3, bottleneckChannels=32, bottleneckKernel=7, encoderHidden=512,
                    decoderHidden=1024, decoderChannels=32, convTransposeKernel=7, outputKernel=3,
                    chainDecoderBlocks=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('checkpoint')
    ap.add_argument('out')
    ap.add_argument('--chain-decoder-blocks', action='store_true',
                    help='mark the model as chaining its decoder blocks (not the released behaviour)')
    args = ap.parse_args()
    import torch  # imported late so --help works without torch
    blob = torch.load(args.checkpoint, map_location='cpu', weights_only=False)
    state = None
    if isinstance(blob, dict):
        for key in ('Model', 'model', 'state_dict'):
            if key in blob:
                state = blob[key]
                break
        if state is None and all(hasattr(v, 'shape') for v in blob.values()):
            state = blob
    if state is None:
        sys.exit(f"error: {args.checkpoint}: no 'Model' or 'model' state_dict entry found")
    if hasattr(state, 'state_dict'):
        state = state.state_dict()
    cfg = dict(PAPER_CONFIG)
    w = state.get('encoder.conv1.weight')
    if w is None:
        sys.exit(f"error: {args.checkpoint}: 'encoder.conv1.weight' missing; this is not the 2-D LEONARDO model")
    cfg['embedSize'] = int(w.shape[0])
    cfg['chainDecoderBlocks'] = bool(args.chain_decoder_blocks)
    tmp = args.out + '.tmp'
    with h5py.File(tmp, 'w') as f:
        f.attrs['format'] = 'microscopegym.leonardo/1'
        f.attrs['config'] = json.dumps(cfg, sort_keys=True)
        f.attrs['source'] = os.path.basename(args.checkpoint)
        if isinstance(blob, dict) and 'Epochs' in blob:
            f.attrs['epochs'] = int(blob['Epochs'])
        for name, tensor in state.items():
            arr = tensor.detach().cpu().numpy().astype(np.float32)
            if not np.all(np.isfinite(arr)):
                sys.exit(f"error: {args.checkpoint}: parameter '{name}' contains NaN or infinite values")
            f.create_dataset(name, data=arr)
    os.replace(tmp, args.out)
    print(f"wrote {len(state)} parameters to {args.out}")


if __name__ == '__main__':
    main()
