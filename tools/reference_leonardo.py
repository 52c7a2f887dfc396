#!/usr/bin/env python3
"""Independent NumPy reference of the LEONARDO transformer-VAE forward pass and physics-informed loss.

Written in PyTorch's own layout (N×C×L for convolutions, einsum attention) without sharing any code or
layout choices with the Swift implementation, it produces the committed test fixture:

    Tests/LeonardoSimTests/Fixtures/tiny_reference_model.h5  a checkpoint in MicroscopeGym's format
    Tests/LeonardoSimTests/Fixtures/tiny_reference_io.h5     inputs and expected outputs

Usage: python3 tools/reference_leonardo.py [--out-dir DIR]   (needs numpy and h5py; not used by CI)
"""
import argparse
import json
import os

import h5py
import numpy as np

CFG = dict(length=16, latentDim=3, inputChannels=2, embedSize=8, heads=2, numLayers=2, forwardExpansion=2,
           inputKernel=3, bottleneckChannels=4, bottleneckKernel=7, encoderHidden=10, decoderHidden=12,
           decoderChannels=3, convTransposeKernel=7, outputKernel=3, chainDecoderBlocks=False)
WEIGHTS = [0.001, 0.05, 50000, 500, 10, 0.06, 1, 1000, 100, 10, 1]


def conv1d(x, w, b, stride=1, pad=0):
    """PyTorch Conv1d: x N×Cin×L, w Cout×Cin×K."""
    n, cin, length = x.shape
    cout, _, k = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad)))
    lout = (length + 2 * pad - k) // stride + 1
    y = np.zeros((n, cout, lout))
    for t in range(lout):
        seg = xp[:, :, t * stride:t * stride + k]          # N×Cin×K
        y[:, :, t] = np.einsum('nck,ock->no', seg, w)
    return y + b[None, :, None]


def conv_transpose1d(x, w, b, pad=0):
    """PyTorch ConvTranspose1d, stride 1: x N×Cin×L, w Cin×Cout×K; scatter formulation."""
    n, cin, length = x.shape
    _, cout, k = w.shape
    full = np.zeros((n, cout, length + k - 1))
    for t in range(length):
        full[:, :, t:t + k] += np.einsum('nc,cok->nok', x[:, :, t], w)
    lout = length - 1 - 2 * pad + k
    return full[:, :, pad:pad + lout] + b[None, :, None]


def linear(x, p, name, bias=True):
    y = x @ p[name + '.weight'].T
    return y + p[name + '.bias'] if bias else y


def layernorm(x, p, name, eps=1e-5):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * p[name + '.weight'] + p[name + '.bias']


def attention(p, name, values, keys, queries, heads, embed):
    v = linear(values, p, name + '.values', False)
    k = linear(keys, p, name + '.keys', False)
    q = linear(queries, p, name + '.queries', False)
    n, length, _ = q.shape
    d = embed // heads
    v = v.reshape(n, length, heads, d); k = k.reshape(n, length, heads, d); q = q.reshape(n, length, heads, d)
    energy = np.einsum('nqhd,nkhd->nhqk', q, k) / np.sqrt(embed)
    energy = energy - energy.max(-1, keepdims=True)
    att = np.exp(energy); att /= att.sum(-1, keepdims=True)
    out = np.einsum('nhql,nlhd->nqhd', att, v).reshape(n, length, embed)
    return linear(out, p, name + '.fc_out')


def transformer_block(p, name, values, keys, queries, c):
    a = attention(p, name + '.attention', values, keys, queries, c['heads'], c['embedSize'])
    x = layernorm(a + queries, p, name + '.norm1')
    h = np.maximum(linear(x, p, name + '.feed_forward.0'), 0)
    f = linear(h, p, name + '.feed_forward.2')
    return layernorm(f + x, p, name + '.norm2')


def encoder(p, r, c):
    x = conv1d(r.transpose(0, 2, 1), p['encoder.conv1.weight'], p['encoder.conv1.bias'], pad=c['inputKernel'] // 2)
    x = x.transpose(0, 2, 1)
    for i in range(c['numLayers']):
        x = transformer_block(p, f'encoder.layers.{i}', x, x, x, c)
    m = x.transpose(0, 2, 1)
    m = np.maximum(conv1d(m, p['encoder.bottleneck.conv1.weight'], p['encoder.bottleneck.conv1.bias'],
                          pad=c['bottleneckKernel'] // 2), 0)
    m = np.maximum(conv1d(m, p['encoder.bottleneck.conv2.weight'], p['encoder.bottleneck.conv2.bias'], stride=2), 0)
    m = m.reshape(m.shape[0], -1)
    h = np.maximum(linear(m, p, 'encoder.bottleneck.linear1'), 0)
    return linear(h, p, 'encoder.z_means'), linear(h, p, 'encoder.z_var')


def decoder(p, z, c, chain):
    h = np.maximum(linear(z, p, 'decoder.linear1'), 0)
    h = np.maximum(linear(h, p, 'decoder.bottleneck_decoding.linear1'), 0)
    h = h.reshape(z.shape[0], c['decoderChannels'], c['length'])
    e = conv_transpose1d(h, p['decoder.bottleneck_decoding.convtranspose1.weight'],
                         p['decoder.bottleneck_decoding.convtranspose1.bias'], pad=c['convTransposeKernel'] // 2)
    e = e.transpose(0, 2, 1)
    x = e
    for i in range(c['numLayers']):
        inp = x if chain else e
        a = attention(p, f'decoder.layers.{i}.attention', inp, inp, inp, c['heads'], c['embedSize'])
        q = layernorm(a + inp, p, f'decoder.layers.{i}.norm')
        x = transformer_block(p, f'decoder.layers.{i}.transformer_block', inp, inp, q, c)
    y = conv1d(x.transpose(0, 2, 1), p['decoder.conv_out.weight'], p['decoder.conv_out.bias'], pad=c['outputKernel'] // 2)
    return y.transpose(0, 2, 1)


def param_shapes(c):
    E, H = c['embedSize'], c['forwardExpansion'] * c['embedSize']
    s = {}
    s['encoder.conv1.weight'] = (E, c['inputChannels'], c['inputKernel']); s['encoder.conv1.bias'] = (E,)

    def tb(prefix):
        for nm in ('values', 'keys', 'queries'):
            s[f'{prefix}.attention.{nm}.weight'] = (E, E)
        s[f'{prefix}.attention.fc_out.weight'] = (E, E); s[f'{prefix}.attention.fc_out.bias'] = (E,)
        for nm in ('norm1', 'norm2'):
            s[f'{prefix}.{nm}.weight'] = (E,); s[f'{prefix}.{nm}.bias'] = (E,)
        s[f'{prefix}.feed_forward.0.weight'] = (H, E); s[f'{prefix}.feed_forward.0.bias'] = (H,)
        s[f'{prefix}.feed_forward.2.weight'] = (E, H); s[f'{prefix}.feed_forward.2.bias'] = (E,)
    for i in range(c['numLayers']):
        tb(f'encoder.layers.{i}')
    B = c['bottleneckChannels']
    s['encoder.bottleneck.conv1.weight'] = (B, E, c['bottleneckKernel']); s['encoder.bottleneck.conv1.bias'] = (B,)
    s['encoder.bottleneck.conv2.weight'] = (B, B, 2); s['encoder.bottleneck.conv2.bias'] = (B,)
    s['encoder.bottleneck.linear1.weight'] = (c['encoderHidden'], B * c['length'] // 2)
    s['encoder.bottleneck.linear1.bias'] = (c['encoderHidden'],)
    for nm in ('z_means', 'z_var'):
        s[f'encoder.{nm}.weight'] = (c['latentDim'], c['encoderHidden']); s[f'encoder.{nm}.bias'] = (c['latentDim'],)
    s['decoder.linear1.weight'] = (c['decoderHidden'], c['latentDim']); s['decoder.linear1.bias'] = (c['decoderHidden'],)
    s['decoder.bottleneck_decoding.linear1.weight'] = (c['decoderChannels'] * c['length'], c['decoderHidden'])
    s['decoder.bottleneck_decoding.linear1.bias'] = (c['decoderChannels'] * c['length'],)
    s['decoder.bottleneck_decoding.convtranspose1.weight'] = (c['decoderChannels'], E, c['convTransposeKernel'])
    s['decoder.bottleneck_decoding.convtranspose1.bias'] = (E,)
    for i in range(c['numLayers']):
        for nm in ('values', 'keys', 'queries'):
            s[f'decoder.layers.{i}.attention.{nm}.weight'] = (E, E)
        s[f'decoder.layers.{i}.attention.fc_out.weight'] = (E, E); s[f'decoder.layers.{i}.attention.fc_out.bias'] = (E,)
        s[f'decoder.layers.{i}.norm.weight'] = (E,); s[f'decoder.layers.{i}.norm.bias'] = (E,)
        tb(f'decoder.layers.{i}.transformer_block')
    s['decoder.conv_out.weight'] = (c['inputChannels'], E, c['outputKernel']); s['decoder.conv_out.bias'] = (c['inputChannels'],)
    s['layernorm.weight'] = (c['length'],); s['layernorm.bias'] = (c['length'],)
    return s


# ---- statistics and loss (paper appendix C, definitions as documented in docs/leonardo.md) ----
def stats(r):
    d = np.diff(r, axis=1)                       # N×M×2
    s = np.sqrt((d ** 2).sum(-1))
    M = s.shape[1]
    m = s.mean(1); c = s - m[:, None]
    m2 = (c ** 2).mean(1); m3 = (c ** 3).mean(1); m4 = (c ** 4).mean(1)
    med = np.sort(s, axis=1)[:, (M - 1) // 2]
    def acf(a):
        n = a.shape[1]
        den = (a ** 2).sum(-1).mean(1)
        return np.stack([(a[:, :n - t] * a[:, t:]).sum(-1).mean(1) / den for t in range(1, n)], 1)
    dx = d[..., 0] - d[..., 0].mean(1, keepdims=True); dy = d[..., 1] - d[..., 1].mean(1, keepdims=True)
    rho = (dx * dy).mean(1) / np.sqrt((dx ** 2).mean(1) * (dy ** 2).mean(1))
    return dict(mean=m, var=m2, skew=m3 / m2 ** 1.5, kurt=m4 / m2 ** 2, median=med, vacf=acf(d), pacf=acf(r), rho=rho)


def loss_terms(r, rh, mu, lv):
    n = r.shape[0]
    a, b = stats(r), stats(rh)
    M = r.shape[1] - 1
    lag = min(50, M - 1)
    t = [((r - rh) ** 2).sum() / n,
         (-0.5 * (1 + lv - mu ** 2 - np.exp(lv)).sum(1)).mean()]
    for k in ('mean', 'var', 'skew', 'kurt', 'median'):
        t.append(((a[k] - b[k]) ** 2).mean())
    t.append((((a['vacf'][:, :lag] - b['vacf'][:, :lag]) ** 2) / np.arange(1, lag + 1)).sum(1).mean())
    t.append(((a['vacf'].mean(0) - b['vacf'].mean(0)) ** 2).mean())
    t.append(((a['rho'] - b['rho']) ** 2).mean())
    t.append(((a['pacf'] - b['pacf']) ** 2).sum(1).mean())
    return np.array(t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out-dir', default='Tests/LeonardoSimTests/Fixtures')
    args = ap.parse_args()
    c = CFG
    rng = np.random.default_rng(20261123)
    p = {}
    for name, shape in param_shapes(c).items():
        if name.endswith('norm1.weight') or name.endswith('norm2.weight') or name.endswith('norm.weight') or name == 'layernorm.weight':
            p[name] = 1.0 + 0.1 * rng.standard_normal(shape)
        else:
            p[name] = 0.4 * rng.standard_normal(shape)
        p[name] = p[name].astype(np.float32).astype(np.float64)
    n = 5
    steps = rng.standard_normal((n, c['length'], 2)) * 0.1
    r = np.cumsum(steps, axis=1)
    r = (r - r.min(1, keepdims=True)) / (r.max((1, 2), keepdims=True) - r.min((1, 2), keepdims=True))
    r = r.astype(np.float32).astype(np.float64)
    mu, lv = encoder(p, r, c)
    z = rng.standard_normal((n, c['latentDim'])).astype(np.float32).astype(np.float64)
    dec = decoder(p, z, c, chain=False)
    dec_chained = decoder(p, z, c, chain=True)
    # loss of (r, a second random-walk set) with the posterior (mu, lv)
    r2 = np.cumsum(rng.standard_normal((n, c['length'], 2)) * 0.1, axis=1).astype(np.float32).astype(np.float64)
    terms = loss_terms(r, r2, mu.astype(np.float32).astype(np.float64), lv.astype(np.float32).astype(np.float64))
    os.makedirs(args.out_dir, exist_ok=True)
    with h5py.File(os.path.join(args.out_dir, 'tiny_reference_model.h5'), 'w') as f:
        f.attrs['format'] = 'microscopegym.leonardo/1'
        f.attrs['config'] = json.dumps(c, sort_keys=True)
        for k, v in p.items():
            f.create_dataset(k, data=v.astype(np.float32))
    with h5py.File(os.path.join(args.out_dir, 'tiny_reference_io.h5'), 'w') as f:
        f.create_dataset('input', data=r.astype(np.float32))
        f.create_dataset('mu', data=mu.astype(np.float32))
        f.create_dataset('logvar', data=lv.astype(np.float32))
        f.create_dataset('z', data=z.astype(np.float32))
        f.create_dataset('decoded', data=dec.astype(np.float32))
        f.create_dataset('decoded_chained', data=dec_chained.astype(np.float32))
        f.create_dataset('loss_input', data=r.astype(np.float32))
        f.create_dataset('loss_reconstruction', data=r2.astype(np.float32))
        f.create_dataset('loss_mu', data=mu.astype(np.float32))
        f.create_dataset('loss_logvar', data=lv.astype(np.float32))
        f.create_dataset('loss_terms', data=terms)
        st = stats(r[:1])
        f.create_dataset('stats0_scalars', data=np.array([st['mean'][0], st['var'][0], st['skew'][0], st['kurt'][0],
                                                           st['median'][0], st['rho'][0]]))
        f.create_dataset('stats0_vacf', data=st['vacf'][0])
        f.create_dataset('stats0_pacf', data=st['pacf'][0])
    print('decoded[0,:3]', dec[0, :3].tolist())
    print('loss terms', terms.tolist())


if __name__ == '__main__':
    main()
