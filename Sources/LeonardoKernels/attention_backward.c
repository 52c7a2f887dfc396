// The backward pass of one attention head (LeonardoKernels.h), from the probabilities its training forward kept
// (`lk_attention_head_train`). With P the T x T softmax probabilities (rows `lk_attention_probs_stride(T)` apart, the
// padded keys zero), dO the gradient of the head's output rows and s the score scale:
//   dV = P^T dO,   dP = dO V^T,   dS = s * P o (dP - rowsum(P o dP)),   dQ = dS K,   dK = dS^T Q.
// Two implementations of the same arithmetic: level 0, plain C (the readable reference of this file), and level 2,
// AVX-512F for heads of at most 16 columns (one vector a row). Level 1 runs the reference; callers on AVX2 machines
// take the BLAS path instead. The AVX-512 kernel walks query tiles as the forward kernel does: the tile's dP rows
// against V packed transposed, dS in place, then dQ for the tile's rows and the tile's share of dK and dV added into
// accumulators of T rows that stay in L1/L2, written out once at the end. Nothing of P is packed or copied.
#include "kernels_internal.h"

#include <math.h>
#include <string.h>

#define TILE LK_QUERY_TILE

static int round_up(int n, int m) { return (n + m - 1) / m * m; }

long lk_attention_backward_scratch(int length, int head_dim) {
    int T = length < 1 ? 1 : length;
    int tp = round_up(T, LK_KEY_BLOCK);
    // V transposed (D x tp), packed keys (T x D), the dK and dV accumulators (T x 16 each), one tile's dS rows.
    return (long)head_dim * tp + (long)T * head_dim + 2L * T * 16 + (long)TILE * tp;
}

// ---- Level 0: the reference --------------------------------------------------------------------------------------

static void attention_backward_reference(const float *q, const float *k, const float *v, int stride,
                                         const float *probs, const float *dout, int ds, float *dq, float *dk,
                                         float *dv, int gs, int T, int D, float scale, float *scratch) {
    const int tp = round_up(T, LK_KEY_BLOCK);
    float *row = scratch;  // one row of dS
    for (int j = 0; j < T; j++)
        for (int d = 0; d < D; d++) dk[(long)j * gs + d] = dv[(long)j * gs + d] = 0;
    for (int i = 0; i < T; i++) {
        const float *p = probs + (long)i * tp;
        const float *g = dout + (long)i * ds;
        float dot = 0;
        for (int j = 0; j < T; j++) {
            float s = 0;
            for (int d = 0; d < D; d++) s += g[d] * v[(long)j * stride + d];
            row[j] = s;
            dot += p[j] * s;
        }
        for (int j = 0; j < T; j++) row[j] = scale * p[j] * (row[j] - dot);
        for (int d = 0; d < D; d++) {
            float acc = 0;
            for (int j = 0; j < T; j++) acc += row[j] * k[(long)j * stride + d];
            dq[(long)i * gs + d] = acc;
        }
        const float *qi = q + (long)i * stride;
        for (int j = 0; j < T; j++) {
            for (int d = 0; d < D; d++) {
                dk[(long)j * gs + d] += row[j] * qi[d];
                dv[(long)j * gs + d] += p[j] * g[d];
            }
        }
    }
}

#if LK_X86

// ---- Level 2: AVX-512F, D <= 16 ----------------------------------------------------------------------------------

AVX512 static void attention_backward_avx512(const float *q, const float *k, const float *v, int stride,
                                             const float *probs, const float *dout, int ds, float *dq, float *dk,
                                             float *dv, int gs, int T, int D, float scale, float *scratch) {
    const int tp = round_up(T, LK_KEY_BLOCK);
    float *vt = scratch;                 // D x tp: V transposed, padding zero
    float *kp = vt + (long)D * tp;       // T x D: the keys, contiguous
    float *acck = kp + (long)T * D;      // T x 16
    float *accv = acck + (long)T * 16;   // T x 16
    float *dst = accv + (long)T * 16;    // TILE x tp: the tile's dP, then dS
    const __mmask16 dm = lk_mask16(D);
    for (int d = 0; d < D; d++) {
        float *r = vt + (long)d * tp;
        for (int j = 0; j < T; j++) r[j] = v[(long)j * stride + d];
        for (int j = T; j < tp; j++) r[j] = 0;
    }
    for (int j = 0; j < T; j++)
        for (int d = 0; d < D; d++) kp[(long)j * D + d] = k[(long)j * stride + d];
    memset(acck, 0, sizeof(float) * 32 * (size_t)T);  // acck and accv
    const __m512 sv = _mm512_set1_ps(scale);
    for (int i0 = 0; i0 < T; i0 += TILE) {
        const int tile = T - i0 < TILE ? T - i0 : TILE;
        const float *gr[TILE];
        for (int r = 0; r < TILE; r++) gr[r] = dout + (long)(i0 + (r < tile ? r : tile - 1)) * ds;
        // dP for the tile: 6 rows x 32 keys in 12 accumulators, then a last block of 16 (tp is a multiple of 16).
        int j = 0;
        for (; j + 32 <= tp; j += 32) {
            __m512 a[TILE][2];
            for (int r = 0; r < TILE; r++) a[r][0] = a[r][1] = _mm512_setzero_ps();
            for (int d = 0; d < D; d++) {
                const __m512 v0 = _mm512_loadu_ps(vt + (long)d * tp + j);
                const __m512 v1 = _mm512_loadu_ps(vt + (long)d * tp + j + 16);
                for (int r = 0; r < TILE; r++) {
                    const __m512 b = _mm512_set1_ps(gr[r][d]);
                    a[r][0] = _mm512_fmadd_ps(b, v0, a[r][0]);
                    a[r][1] = _mm512_fmadd_ps(b, v1, a[r][1]);
                }
            }
            for (int r = 0; r < TILE; r++) {
                _mm512_storeu_ps(dst + r * tp + j, a[r][0]);
                _mm512_storeu_ps(dst + r * tp + j + 16, a[r][1]);
            }
        }
        if (j < tp) {
            __m512 a[TILE];
            for (int r = 0; r < TILE; r++) a[r] = _mm512_setzero_ps();
            for (int d = 0; d < D; d++) {
                const __m512 v0 = _mm512_loadu_ps(vt + (long)d * tp + j);
                for (int r = 0; r < TILE; r++) a[r] = _mm512_fmadd_ps(_mm512_set1_ps(gr[r][d]), v0, a[r]);
            }
            for (int r = 0; r < TILE; r++) _mm512_storeu_ps(dst + r * tp + j, a[r]);
        }
        // dS = s * P o (dP - sum_j P dP), row by row; the padded keys have P = 0, so their dS is 0. Rows past the
        // tile's end (a partial last tile) get dS = 0 and take no part below.
        for (int r = 0; r < TILE; r++) {
            float *dr = dst + r * tp;
            if (r >= tile) {
                memset(dr, 0, sizeof(float) * (size_t)tp);
                continue;
            }
            const float *pr = probs + (long)(i0 + r) * tp;
            __m512 acc = _mm512_setzero_ps();
            for (int jj = 0; jj < tp; jj += 16)
                acc = _mm512_fmadd_ps(_mm512_loadu_ps(pr + jj), _mm512_loadu_ps(dr + jj), acc);
            const __m512 dot = _mm512_set1_ps(_mm512_reduce_add_ps(acc));
            for (int jj = 0; jj < tp; jj += 16) {
                const __m512 p = _mm512_loadu_ps(pr + jj);
                const __m512 g = _mm512_sub_ps(_mm512_loadu_ps(dr + jj), dot);
                _mm512_storeu_ps(dr + jj, _mm512_mul_ps(sv, _mm512_mul_ps(p, g)));
            }
        }
        // dQ rows of the tile: sum_j dS[r][j] k_j, two keys per iteration.
        {
            __m512 a0[TILE], a1[TILE];
            for (int r = 0; r < TILE; r++) a0[r] = a1[r] = _mm512_setzero_ps();
            int jj = 0;
            for (; jj + 1 < T; jj += 2) {
                const __m512 k0 = _mm512_maskz_loadu_ps(dm, kp + (long)jj * D);
                const __m512 k1 = _mm512_maskz_loadu_ps(dm, kp + (long)(jj + 1) * D);
                for (int r = 0; r < TILE; r++) {
                    a0[r] = _mm512_fmadd_ps(_mm512_set1_ps(dst[r * tp + jj]), k0, a0[r]);
                    a1[r] = _mm512_fmadd_ps(_mm512_set1_ps(dst[r * tp + jj + 1]), k1, a1[r]);
                }
            }
            if (jj < T) {
                const __m512 k0 = _mm512_maskz_loadu_ps(dm, kp + (long)jj * D);
                for (int r = 0; r < TILE; r++) a0[r] = _mm512_fmadd_ps(_mm512_set1_ps(dst[r * tp + jj]), k0, a0[r]);
            }
            for (int r = 0; r < tile; r++)
                _mm512_mask_storeu_ps(dq + (long)(i0 + r) * gs, dm, _mm512_add_ps(a0[r], a1[r]));
        }
        // The tile's share of dK (dS^T Q) and dV (P^T dO): for every key, six fused multiply-adds into each.
        {
            __m512 qv[TILE], gv[TILE];
            for (int r = 0; r < TILE; r++) {
                const __mmask16 m = r < tile ? dm : 0;
                qv[r] = _mm512_maskz_loadu_ps(m, q + (long)(i0 + r) * stride);
                gv[r] = _mm512_maskz_loadu_ps(m, dout + (long)(i0 + r) * ds);
            }
            const float *pt = probs + (long)i0 * tp;
            for (int jj = 0; jj < T; jj++) {
                __m512 ak = _mm512_loadu_ps(acck + (long)jj * 16);
                __m512 av = _mm512_loadu_ps(accv + (long)jj * 16);
                for (int r = 0; r < TILE; r++) {
                    ak = _mm512_fmadd_ps(_mm512_set1_ps(dst[r * tp + jj]), qv[r], ak);
                    av = _mm512_fmadd_ps(_mm512_set1_ps(r < tile ? pt[r * tp + jj] : 0.0f), gv[r], av);
                }
                _mm512_storeu_ps(acck + (long)jj * 16, ak);
                _mm512_storeu_ps(accv + (long)jj * 16, av);
            }
        }
    }
    for (int jj = 0; jj < T; jj++) {
        _mm512_mask_storeu_ps(dk + (long)jj * gs, dm, _mm512_loadu_ps(acck + (long)jj * 16));
        _mm512_mask_storeu_ps(dv + (long)jj * gs, dm, _mm512_loadu_ps(accv + (long)jj * 16));
    }
}

#endif  // LK_X86

void lk_attention_head_backward(const float *q, const float *k, const float *v, int stride, const float *probs,
                                const float *dout, int dout_stride, float *dq, float *dk, float *dv, int grad_stride,
                                int length, int head_dim, float scale, float *scratch, int level) {
    level = lk_clamp_level(level);
    if (length < 1 || head_dim < 1) return;
#if LK_X86
    if (level >= 2 && head_dim <= 16) {
        attention_backward_avx512(q, k, v, stride, probs, dout, dout_stride, dq, dk, dv, grad_stride, length,
                                  head_dim, scale, scratch);
        return;
    }
#endif
    attention_backward_reference(q, k, v, stride, probs, dout, dout_stride, dq, dk, dv, grad_stride, length,
                                 head_dim, scale, scratch);
}
