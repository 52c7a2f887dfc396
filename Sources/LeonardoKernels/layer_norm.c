// Layer normalisation of rows (LeonardoKernels.h, lk_layer_norm_rows): mean, then the variance about it, then the
// affine map, each pass over a row with vector partial sums (the Swift loops of LayerNorm.forward are scalar
// reductions, which the compiler may not reorder).
#include "kernels_internal.h"

#include <math.h>

/// Level 0: the reference loops.
static void layer_norm_reference(const float *x, float *y, int rows, int C, const float *g, const float *b,
                                 float eps) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (long)r * C;
        float *yr = y + (long)r * C;
        float m = 0;
        for (int i = 0; i < C; i++) m += xr[i];
        m /= (float)C;
        float v = 0;
        for (int i = 0; i < C; i++) v += (xr[i] - m) * (xr[i] - m);
        v /= (float)C;
        const float s = 1.0f / sqrtf(v + eps);
        for (int i = 0; i < C; i++) yr[i] = (xr[i] - m) * s * g[i] + b[i];
    }
}

#if LK_X86

AVX512 static void layer_norm_avx512(const float *x, float *y, int rows, int C, const float *g, const float *b,
                                     float eps) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (long)r * C;
        float *yr = y + (long)r * C;
        __m512 acc = _mm512_setzero_ps();
        for (int i = 0; i < C; i += 16) {
            const __mmask16 m = lk_mask16(C - i);
            acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, xr + i));
        }
        const __m512 mean = _mm512_set1_ps(_mm512_reduce_add_ps(acc) / (float)C);
        acc = _mm512_setzero_ps();
        for (int i = 0; i < C; i += 16) {
            const __mmask16 m = lk_mask16(C - i);
            const __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, xr + i), mean);
            acc = _mm512_fmadd_ps(d, d, acc);
        }
        const __m512 s = _mm512_set1_ps(1.0f / sqrtf(_mm512_reduce_add_ps(acc) / (float)C + eps));
        for (int i = 0; i < C; i += 16) {
            const __mmask16 m = lk_mask16(C - i);
            const __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, xr + i), mean), s);
            const __m512 out = _mm512_fmadd_ps(d, _mm512_maskz_loadu_ps(m, g + i), _mm512_maskz_loadu_ps(m, b + i));
            _mm512_mask_storeu_ps(yr + i, m, out);
        }
    }
}

AVX2 static void layer_norm_avx2(const float *x, float *y, int rows, int C, const float *g, const float *b,
                                 float eps) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (long)r * C;
        float *yr = y + (long)r * C;
        __m256 acc = _mm256_setzero_ps();
        for (int i = 0; i < C; i += 8) {
            const __m256i m = lk_mask8(C - i);
            acc = _mm256_add_ps(acc, _mm256_maskload_ps(xr + i, m));
        }
        const float mean_s = lk_hsum8(acc) / (float)C;
        const __m256 mean = _mm256_set1_ps(mean_s);
        acc = _mm256_setzero_ps();
        for (int i = 0; i < C; i += 8) {
            const __m256i m = lk_mask8(C - i);
            const __m256 d = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(xr + i, m), mean), _mm256_castsi256_ps(m));
            acc = _mm256_fmadd_ps(d, d, acc);
        }
        const __m256 s = _mm256_set1_ps(1.0f / sqrtf(lk_hsum8(acc) / (float)C + eps));
        for (int i = 0; i < C; i += 8) {
            const __m256i m = lk_mask8(C - i);
            const __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(xr + i, m), mean), s);
            _mm256_maskstore_ps(yr + i, m, _mm256_fmadd_ps(d, _mm256_maskload_ps(g + i, m), _mm256_maskload_ps(b + i, m)));
        }
    }
}

#endif  // LK_X86

void lk_layer_norm_rows(const float *x, float *y, int rows, int C, const float *gamma, const float *beta, float eps,
                        int level) {
    level = lk_clamp_level(level);
    if (rows < 1 || C < 1) return;
#if LK_X86
    if (level >= 2) {
        layer_norm_avx512(x, y, rows, C, gamma, beta, eps);
        return;
    }
    if (level == 1) {
        layer_norm_avx2(x, y, rows, C, gamma, beta, eps);
        return;
    }
#endif
    layer_norm_reference(x, y, rows, C, gamma, beta, eps);
}
