// A linear layer on few rows whose input is mostly zero (LeonardoKernels.h): y = b + sum over the nonzero x_i of
// x_i * (column i of w). The input of the decoder's 1024 -> 6400 bottleneck is a ReLU's output, about half zeros;
// at batch 1 the product is bound by reading the 26 MB weight, and a weight column that meets x_i = 0 need not be
// read at all. The weight is rearranged once into tiles of LK_SPARSE_TILE outputs, each tile holding its in x
// LK_SPARSE_TILE block column by column, so one nonzero input reads one contiguous 1 KB run per tile.
//
// Every level sums in the same order, bias first, then the nonzero inputs in increasing i, each by one fused
// multiply-add (fmaf at level 0), so the three levels give bit-identical results.
#include "kernels_internal.h"

#include <math.h>

#define TW LK_SPARSE_TILE

long lk_sparse_input_weights_size(int in, int out) { return (long)((out + TW - 1) / TW) * in * TW; }

void lk_sparse_input_arrange(const float *w, int in, int out, float *wb) {
    const int tiles = (out + TW - 1) / TW;
    for (int t = 0; t < tiles; t++)
        for (int i = 0; i < in; i++) {
            float *dst = wb + ((long)t * in + i) * TW;
            for (int c = 0; c < TW; c++) {
                const int o = t * TW + c;
                dst[c] = o < out ? w[(long)o * in + i] : 0;
            }
        }
}

/// Level 0: the reference loops, for tile t.
static void sparse_reference(const float *xv, const int *xi, int nnz, int in, const float *wb, int out,
                             const float *bias, float *y, int t) {
    const int width = out - t * TW < TW ? out - t * TW : TW;
    for (int c = 0; c < width; c++) {
        float acc = bias ? bias[t * TW + c] : 0;
        for (int n = 0; n < nnz; n++) acc = fmaf(xv[n], wb[((long)t * in + xi[n]) * TW + c], acc);
        y[t * TW + c] = acc;
    }
}

#if LK_X86

/// Level 2: tile t's 256 outputs in sixteen registers; per nonzero input one broadcast, sixteen loads and FMAs.
AVX512 static void sparse_avx512(const float *xv, const int *xi, int nnz, int in, const float *wb, int out,
                                 const float *bias, float *y, int t) {
    const int width = out - t * TW < TW ? out - t * TW : TW;
    __m512 a[TW / 16];
    for (int k = 0; k < TW / 16; k++) {
        const int c = 16 * k;
        const __mmask16 m = lk_mask16(width - c < 0 ? 0 : width - c);
        a[k] = bias ? _mm512_maskz_loadu_ps(m, bias + t * TW + c) : _mm512_setzero_ps();
    }
    const float *base = wb + (long)t * in * TW;
    for (int n = 0; n < nnz; n++) {
        const float *col = base + (long)xi[n] * TW;
        if (n + 4 < nnz) {
            const char *next = (const char *)(base + (long)xi[n + 4] * TW);
            for (int line = 0; line < TW * 4; line += 64) _mm_prefetch(next + line, _MM_HINT_T0);
        }
        const __m512 v = _mm512_set1_ps(xv[n]);
        for (int k = 0; k < TW / 16; k++) a[k] = _mm512_fmadd_ps(v, _mm512_loadu_ps(col + 16 * k), a[k]);
    }
    for (int k = 0; k < TW / 16; k++) {
        const int c = 16 * k;
        if (c >= width) break;
        _mm512_mask_storeu_ps(y + t * TW + c, lk_mask16(width - c), a[k]);
    }
}

/// Level 1: tile t in four quarters of 64 outputs, eight 8-lane registers each.
AVX2 static void sparse_avx2(const float *xv, const int *xi, int nnz, int in, const float *wb, int out,
                             const float *bias, float *y, int t) {
    const int width = out - t * TW < TW ? out - t * TW : TW;
    const float *base = wb + (long)t * in * TW;
    for (int h = 0; h < width; h += 64) {
        __m256 a[8];
        for (int k = 0; k < 8; k++) {
            const int c = h + 8 * k;
            const int w = width - c < 0 ? 0 : (width - c > 8 ? 8 : width - c);
            a[k] = bias ? _mm256_maskload_ps(bias + t * TW + c, lk_mask8(w)) : _mm256_setzero_ps();
        }
        for (int n = 0; n < nnz; n++) {
            const float *col = base + (long)xi[n] * TW + h;
            const __m256 v = _mm256_set1_ps(xv[n]);
            for (int k = 0; k < 8; k++) a[k] = _mm256_fmadd_ps(v, _mm256_loadu_ps(col + 8 * k), a[k]);
        }
        for (int k = 0; k < 8; k++) {
            const int c = h + 8 * k;
            if (c >= width) break;
            const int w = width - c > 8 ? 8 : width - c;
            _mm256_maskstore_ps(y + t * TW + c, lk_mask8(w), a[k]);
        }
    }
}

#endif  // LK_X86

void lk_linear_sparse_input(const float *x, int rows, int in, const float *wb, int out, const float *bias, float *y,
                            int ldy, int tile_begin, int tile_end, float *values, int *indices, int level) {
    if (rows < 1 || in < 1 || out < 1 || tile_end <= tile_begin) return;
    int nnz[rows];
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (long)r * in;
        float *v = values + (long)r * in;
        int *ix = indices + (long)r * in;
        int n = 0;
        for (int i = 0; i < in; i++)
            if (xr[i] != 0) {
                v[n] = xr[i];
                ix[n++] = i;
            }
        nnz[r] = n;
    }
    level = lk_clamp_level(level);
    // Tile by tile, every row against the tile while it sits in L2 (a tile is in x LK_SPARSE_TILE floats, 1 MB for
    // the bottleneck); a row's arithmetic is the same whatever other rows share the call.
    for (int t = tile_begin; t < tile_end; t++)
        for (int r = 0; r < rows; r++) {
            const float *v = values + (long)r * in;
            const int *ix = indices + (long)r * in;
            float *yr = y + (long)r * ldy;
#if LK_X86
            if (level >= 2) {
                sparse_avx512(v, ix, nnz[r], in, wb, out, bias, yr, t);
                continue;
            }
            if (level == 1) {
                sparse_avx2(v, ix, nnz[r], in, wb, out, bias, yr, t);
                continue;
            }
#endif
            sparse_reference(v, ix, nnz[r], in, wb, out, bias, yr, t);
        }
}
