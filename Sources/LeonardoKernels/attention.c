// Fused attention for one head (LeonardoKernels.h). Three implementations of the same arithmetic:
//   level 0: plain C, the readable reference of this file;
//   level 1: AVX2 + FMA, 8 lanes;  level 2: AVX-512F, 16 lanes.
// For a tile of LK_QUERY_TILE queries: scores against the keys (packed D x Tp, Tp = T rounded up to
// LK_KEY_BLOCK; padded keys take no part), exp(score - row max) with the row's sum, then the weighted sum of V
// divided by that sum. At level 1 exp is Cephes' expf (range reduction by n*ln2 with ln2 split in two, degree-7
// polynomial, 2^n from the exponent bits), the same method as `expNonPositive` in SoftmaxKernels.swift; level 2
// keeps the scores times log2 e and takes 2^x with AVX-512's round and scalef around a degree-5 polynomial.
#include "kernels_internal.h"

#include <math.h>
#include <stdint.h>

#define TILE LK_QUERY_TILE

static int round_up(int n, int m) { return (n + m - 1) / m * m; }

long lk_attention_scratch(int length, int head_dim) {
    int tp = round_up(length < 1 ? 1 : length, LK_KEY_BLOCK);
    return (long)(head_dim + TILE) * tp + (long)tp * head_dim;
}

int lk_best_level(void) {
#if LK_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
#endif
    return 0;
}

// ---- Level 0: the reference --------------------------------------------------------------------------------------

/// One query at a time: T scores in scratch, max, exp and sum, then the weighted sum of V.
static void attention_reference(const float *q, const float *k, const float *v, int stride, float *ctx, int cs,
                                int T, int D, float scale, float *scratch, float *probs) {
    const int tp = round_up(T, LK_KEY_BLOCK);
    for (int i = 0; i < T; i++) {
        float *scores = probs ? probs + (long)i * tp : scratch;
        const float *qi = q + (long)i * stride;
        float m = -INFINITY;
        for (int j = 0; j < T; j++) {
            const float *kj = k + (long)j * stride;
            float s = 0;
            for (int d = 0; d < D; d++) s += qi[d] * kj[d];
            scores[j] = s * scale;
            if (scores[j] > m) m = scores[j];
        }
        float sum = 0;
        for (int j = 0; j < T; j++) {
            scores[j] = expf(scores[j] - m);
            sum += scores[j];
        }
        for (int d = 0; d < D; d++) {
            float acc = 0;
            for (int j = 0; j < T; j++) acc += scores[j] * v[(long)j * stride + d];
            ctx[(long)i * cs + d] = acc / sum;
        }
        if (probs) {
            for (int j = 0; j < T; j++) scores[j] /= sum;
            for (int j = T; j < tp; j++) scores[j] = 0;
        }
    }
}

/// Normalises the probability rows of a query tile kept for training (times 1/sum, the padded keys zero).
static void normalise_tile(float *s, int tp, int T, const float *inv) {
    for (int r = 0; r < TILE; r++) {
        float *row = s + (long)r * tp;
        for (int j = 0; j < T; j++) row[j] *= inv[r];
        for (int j = T; j < tp; j++) row[j] = 0;
    }
}

/// Values copied into T contiguous rows of D: rows `stride` apart (a multiple of 64 bytes in the decoder) map to a
/// handful of L1 sets and would evict one another on every pass of a query tile.
static void pack_values(const float *v, float *vp, int T, int D, int stride) {
    for (int j = 0; j < T; j++)
        for (int d = 0; d < D; d++) vp[(long)j * D + d] = v[(long)j * stride + d];
}

/// Keys transposed into kt (D rows of Tp) and multiplied by `mult` (the score scale, folded in once here instead of
/// once per score), the padding zero.
static void pack_keys(const float *k, float *kt, int T, int D, int stride, int tp, float mult) {
    for (int d = 0; d < D; d++) {
        float *row = kt + (long)d * tp;
        for (int j = 0; j < T; j++) row[j] = k[(long)j * stride + d] * mult;
        for (int j = T; j < tp; j++) row[j] = 0;
    }
}

#if LK_X86

// ---- Level 1: AVX2 + FMA -----------------------------------------------------------------------------------------

AVX2 static inline __m256 exp_nonpositive8(__m256 x) {
    const __m256 shifter = _mm256_set1_ps(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
    __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), shifter);
    __m256 n = _mm256_sub_ps(t, shifter);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440054690583e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i bits = _mm256_add_epi32(_mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(0x4B400000)),
                                    _mm256_set1_epi32(127));
    return _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(bits, 23)));
}

/// row[j] <- exp(row[j] - max), returns the sum (tp a multiple of 8).
AVX2 static float exp_row8(float *row, int tp) {
    __m256 m8 = _mm256_set1_ps(-INFINITY);
    for (int j = 0; j < tp; j += 8) m8 = _mm256_max_ps(m8, _mm256_loadu_ps(row + j));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m8), _mm256_extractf128_ps(m8, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
    __m256 mv = _mm256_broadcastss_ps(m4);
    __m256 s8 = _mm256_setzero_ps();
    for (int j = 0; j < tp; j += 8) {
        __m256 e = exp_nonpositive8(_mm256_sub_ps(_mm256_loadu_ps(row + j), mv));
        _mm256_storeu_ps(row + j, e);
        s8 = _mm256_add_ps(s8, e);
    }
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    s4 = _mm_add_ss(s4, _mm_shuffle_ps(s4, s4, 1));
    return _mm_cvtss_f32(s4);
}

AVX2 static void attention_avx2(const float *q, const float *k, const float *v, int stride, float *ctx, int cs,
                                int T, int D, float scale, float *scratch, float *probs) {
    const int tp = round_up(T, LK_KEY_BLOCK);
    float *kt = scratch;
    float *const tileScores = scratch + (long)D * tp;
    float *vp = tileScores + (long)TILE * tp;
    pack_keys(k, kt, T, D, stride, tp, scale);
    pack_values(v, vp, T, D, stride);
    v = vp;
    const int vs = D;  // row stride of the packed values
    for (int i0 = 0; i0 < T; i0 += TILE) {
        const int tile = T - i0 < TILE ? T - i0 : TILE;
        // Training keeps the tile's rows in place (probs has room for a whole last tile).
        float *s = probs ? probs + (long)i0 * tp : tileScores;
        // A partial last tile repeats its last query (computed, never stored): the loops stay branch-free.
        const float *qr[TILE];
        for (int r = 0; r < TILE; r++) qr[r] = q + (long)(i0 + r < T ? i0 + r : T - 1) * stride;
        // Scores: 6 queries x 16 keys in 12 registers; each packed key vector is loaded once for all six.
        for (int j = 0; j < tp; j += 16) {
            __m256 a[TILE][2];
            for (int r = 0; r < TILE; r++) a[r][0] = a[r][1] = _mm256_setzero_ps();
            for (int d = 0; d < D; d++) {
                const __m256 k0 = _mm256_loadu_ps(kt + (long)d * tp + j);
                const __m256 k1 = _mm256_loadu_ps(kt + (long)d * tp + j + 8);
                for (int r = 0; r < TILE; r++) {
                    const __m256 b = _mm256_broadcast_ss(qr[r] + d);
                    a[r][0] = _mm256_fmadd_ps(b, k0, a[r][0]);
                    a[r][1] = _mm256_fmadd_ps(b, k1, a[r][1]);
                }
            }
            for (int r = 0; r < TILE; r++) {
                _mm256_storeu_ps(s + r * tp + j, a[r][0]);
                _mm256_storeu_ps(s + r * tp + j + 8, a[r][1]);
            }
        }
        float inv[TILE];
        for (int r = 0; r < TILE; r++) {
            for (int j = T; j < tp; j++) s[r * tp + j] = -INFINITY;
            inv[r] = 1.0f / exp_row8(s + r * tp, tp);
        }
        // Weighted sum of V: 8 output columns of 6 queries, two keys per iteration (12 accumulators).
        for (int d0 = 0; d0 < D; d0 += 8) {
            const int w = D - d0 < 8 ? D - d0 : 8;
            const __m256i mask = lk_mask8(w);
            __m256 a0[TILE], a1[TILE];
            for (int r = 0; r < TILE; r++) a0[r] = a1[r] = _mm256_setzero_ps();
            int j = 0;
            for (; j + 1 < T; j += 2) {
                const __m256 v0 = _mm256_maskload_ps(v + (long)j * vs + d0, mask);
                const __m256 v1 = _mm256_maskload_ps(v + (long)(j + 1) * vs + d0, mask);
                for (int r = 0; r < TILE; r++) {
                    a0[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(s + r * tp + j), v0, a0[r]);
                    a1[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(s + r * tp + j + 1), v1, a1[r]);
                }
            }
            if (j < T) {
                const __m256 v0 = _mm256_maskload_ps(v + (long)j * vs + d0, mask);
                for (int r = 0; r < TILE; r++) a0[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(s + r * tp + j), v0, a0[r]);
            }
            for (int r = 0; r < tile; r++) {
                const __m256 out = _mm256_mul_ps(_mm256_add_ps(a0[r], a1[r]), _mm256_set1_ps(inv[r]));
                _mm256_maskstore_ps(ctx + (long)(i0 + r) * cs + d0, mask, out);
            }
        }
        if (probs) normalise_tile(s, tp, T, inv);
    }
}

// ---- Level 2: AVX-512F -------------------------------------------------------------------------------------------

/// 2^y for y <= 0: y = n + f with n = round(y), |f| <= 1/2, 2^f by a degree-5 polynomial (fitted for relative
/// error on [-1/2, 1/2]: at most 2.2e-7 in float32 Horner), times 2^n by scalef (which also takes large negative n
/// to 0, so no clamp is needed). Ten operations a vector, against Cephes' nineteen at level 1.
AVX512 static inline __m512 exp2_nonpositive16(__m512 y) {
    const __m512 n = _mm512_roundscale_ps(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512 f = _mm512_sub_ps(y, n);
    __m512 p = _mm512_set1_ps(1.3266970636323094e-3f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.675459936261177e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550742521882057e-2f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022121727466583e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931469440460205e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0000001192092896f));
    return _mm512_scalef_ps(p, n);
}

/// row[j] <- 2^(row[j] - max) for j < T (max given; the row holds scores times log2 e), returns the sum; the last
/// vector is masked.
AVX512 static float exp2_row16(float *row, int T, __m512 mv) {
    __m512 s16 = _mm512_setzero_ps();
    int j = 0;
    for (; j + 16 <= T; j += 16) {
        __m512 e = exp2_nonpositive16(_mm512_sub_ps(_mm512_loadu_ps(row + j), mv));
        _mm512_storeu_ps(row + j, e);
        s16 = _mm512_add_ps(s16, e);
    }
    if (j < T) {
        const __mmask16 m = lk_mask16(T - j);
        __m512 e = exp2_nonpositive16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, row + j), mv));
        _mm512_mask_storeu_ps(row + j, m, e);
        s16 = _mm512_mask_add_ps(s16, m, s16, e);
    }
    return _mm512_reduce_add_ps(s16);
}

AVX512 static void attention_avx512(const float *q, const float *k, const float *v, int stride, float *ctx,
                                    int cs, int T, int D, float scale, float *scratch, float *probs) {
    const int tp = round_up(T, LK_KEY_BLOCK);
    float *kt = scratch;
    float *const tileScores = scratch + (long)D * tp;
    float *vp = tileScores + (long)TILE * tp;
    // Scores are kept times log2 e, so that exp(x - m) = 2^(x log2 e - m log2 e); the keys carry that factor.
    pack_keys(k, kt, T, D, stride, tp, scale * 1.44269504088896341f);
    pack_values(v, vp, T, D, stride);
    v = vp;
    const int vs = D;  // row stride of the packed values
    for (int i0 = 0; i0 < T; i0 += TILE) {
        const int tile = T - i0 < TILE ? T - i0 : TILE;
        float *s = probs ? probs + (long)i0 * tp : tileScores;
        const float *qr[TILE];
        for (int r = 0; r < TILE; r++) qr[r] = q + (long)(i0 + r < T ? i0 + r : T - 1) * stride;
        // Scores: 6 queries x 32 keys in 12 registers; each row's running maximum over the real keys on the way.
        __m512 mx[TILE];
        for (int r = 0; r < TILE; r++) mx[r] = _mm512_set1_ps(-INFINITY);
        int j = 0;
        for (; j + 32 <= tp; j += 32) {
            __m512 a[TILE][2];
            for (int r = 0; r < TILE; r++) a[r][0] = a[r][1] = _mm512_setzero_ps();
            for (int d = 0; d < D; d++) {
                const __m512 k0 = _mm512_loadu_ps(kt + (long)d * tp + j);
                const __m512 k1 = _mm512_loadu_ps(kt + (long)d * tp + j + 16);
                for (int r = 0; r < TILE; r++) {
                    const __m512 b = _mm512_set1_ps(qr[r][d]);
                    a[r][0] = _mm512_fmadd_ps(b, k0, a[r][0]);
                    a[r][1] = _mm512_fmadd_ps(b, k1, a[r][1]);
                }
            }
            if (j + 32 <= T) {
                for (int r = 0; r < TILE; r++) {
                    mx[r] = _mm512_max_ps(mx[r], _mm512_max_ps(a[r][0], a[r][1]));
                    _mm512_storeu_ps(s + r * tp + j, a[r][0]);
                    _mm512_storeu_ps(s + r * tp + j + 16, a[r][1]);
                }
            } else {
                // Lanes of padded keys (only in the last blocks) take no part in the maximum.
                const __mmask16 v0 = lk_mask16(T - j), v1 = lk_mask16(T - j - 16);
                for (int r = 0; r < TILE; r++) {
                    mx[r] = _mm512_mask_max_ps(mx[r], v0, mx[r], a[r][0]);
                    mx[r] = _mm512_mask_max_ps(mx[r], v1, mx[r], a[r][1]);
                    _mm512_storeu_ps(s + r * tp + j, a[r][0]);
                    _mm512_storeu_ps(s + r * tp + j + 16, a[r][1]);
                }
            }
        }
        if (j < tp) {  // a last block of 16 keys (tp is a multiple of 16)
            __m512 a[TILE];
            for (int r = 0; r < TILE; r++) a[r] = _mm512_setzero_ps();
            for (int d = 0; d < D; d++) {
                const __m512 k0 = _mm512_loadu_ps(kt + (long)d * tp + j);
                for (int r = 0; r < TILE; r++) a[r] = _mm512_fmadd_ps(_mm512_set1_ps(qr[r][d]), k0, a[r]);
            }
            const __mmask16 v0 = lk_mask16(T - j);
            for (int r = 0; r < TILE; r++) {
                mx[r] = _mm512_mask_max_ps(mx[r], v0, mx[r], a[r]);
                _mm512_storeu_ps(s + r * tp + j, a[r]);
            }
        }
        float inv[TILE];
        for (int r = 0; r < TILE; r++) {
            inv[r] = 1.0f / exp2_row16(s + r * tp, T, _mm512_set1_ps(_mm512_reduce_max_ps(mx[r])));
        }
        // Weighted sum of V: 16 output columns of 6 queries, two keys per iteration.
        for (int d0 = 0; d0 < D; d0 += 16) {
            const int w = D - d0 < 16 ? D - d0 : 16;
            const __mmask16 mask = lk_mask16(w);
            __m512 a0[TILE], a1[TILE];
            for (int r = 0; r < TILE; r++) a0[r] = a1[r] = _mm512_setzero_ps();
            int j = 0;
            for (; j + 1 < T; j += 2) {
                const __m512 v0 = _mm512_maskz_loadu_ps(mask, v + (long)j * vs + d0);
                const __m512 v1 = _mm512_maskz_loadu_ps(mask, v + (long)(j + 1) * vs + d0);
                for (int r = 0; r < TILE; r++) {
                    a0[r] = _mm512_fmadd_ps(_mm512_set1_ps(s[r * tp + j]), v0, a0[r]);
                    a1[r] = _mm512_fmadd_ps(_mm512_set1_ps(s[r * tp + j + 1]), v1, a1[r]);
                }
            }
            if (j < T) {
                const __m512 v0 = _mm512_maskz_loadu_ps(mask, v + (long)j * vs + d0);
                for (int r = 0; r < TILE; r++) a0[r] = _mm512_fmadd_ps(_mm512_set1_ps(s[r * tp + j]), v0, a0[r]);
            }
            for (int r = 0; r < tile; r++) {
                const __m512 out = _mm512_mul_ps(_mm512_add_ps(a0[r], a1[r]), _mm512_set1_ps(inv[r]));
                _mm512_mask_storeu_ps(ctx + (long)(i0 + r) * cs + d0, mask, out);
            }
        }
        if (probs) normalise_tile(s, tp, T, inv);
    }
}

#endif  // LK_X86

static void attention_dispatch(const float *q, const float *k, const float *v, int stride, float *ctx, int cs,
                               int T, int D, float scale, float *scratch, float *probs, int level) {
    level = lk_clamp_level(level);
    if (T < 1 || D < 1) return;
#if LK_X86
    if (level >= 2) {
        attention_avx512(q, k, v, stride, ctx, cs, T, D, scale, scratch, probs);
        return;
    }
    if (level == 1) {
        attention_avx2(q, k, v, stride, ctx, cs, T, D, scale, scratch, probs);
        return;
    }
#endif
    attention_reference(q, k, v, stride, ctx, cs, T, D, scale, scratch, probs);
}

void lk_attention_head(const float *q, const float *k, const float *v, int stride, float *ctx, int ctx_stride,
                       int length, int head_dim, float scale, float *scratch, int level) {
    attention_dispatch(q, k, v, stride, ctx, ctx_stride, length, head_dim, scale, scratch, NULL, level);
}

int lk_attention_probs_stride(int length) { return round_up(length < 1 ? 1 : length, LK_KEY_BLOCK); }

long lk_attention_probs_size(int length) {
    return (long)round_up(length < 1 ? 1 : length, TILE) * lk_attention_probs_stride(length);
}

void lk_attention_head_train(const float *q, const float *k, const float *v, int stride, float *ctx, int ctx_stride,
                             int length, int head_dim, float scale, float *probs, float *scratch, int level) {
    attention_dispatch(q, k, v, stride, ctx, ctx_stride, length, head_dim, scale, scratch, probs, level);
}
