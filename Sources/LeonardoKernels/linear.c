// A linear layer on few rows (LeonardoKernels.h): y = x w^T + b with w in PyTorch's [out, in] layout. Each weight
// row is dotted with all rows of x while it sits in L1 (two weight rows by four x rows per pass, eight
// accumulators), so the weight streams from memory once and is never copied.
#include "kernels_internal.h"

/// Level 0: the reference loops.
static void linear_reference(const float *x, int rows, int in, const float *w, const float *bias, float *y, int ldy,
                             int o0, int o1) {
    for (int r = 0; r < rows; r++) {
        for (int o = o0; o < o1; o++) {
            const float *wo = w + (long)o * in;
            const float *xr = x + (long)r * in;
            float acc = 0;
            for (int i = 0; i < in; i++) acc += wo[i] * xr[i];
            y[(long)r * ldy + o] = acc + (bias ? bias[o] : 0);
        }
    }
}

#if LK_X86

/// Dot products of weight rows wa, wb with x rows xr[0..nr) (nr <= 4), 16 lanes, the tail masked.
AVX512 static inline __attribute__((always_inline)) void dots_avx512_n(const float *wa, const float *wb,
                                                                     const float *const xr[4], int in,
                                                                     float out[2][4], const int nr) {
    __m512 a[2][4];
    for (int r = 0; r < 4; r++) a[0][r] = a[1][r] = _mm512_setzero_ps();
    int i = 0;
    for (; i + 16 <= in; i += 16) {
        const __m512 va = _mm512_loadu_ps(wa + i), vb = _mm512_loadu_ps(wb + i);
        for (int r = 0; r < nr; r++) {
            const __m512 xv = _mm512_loadu_ps(xr[r] + i);
            a[0][r] = _mm512_fmadd_ps(va, xv, a[0][r]);
            a[1][r] = _mm512_fmadd_ps(vb, xv, a[1][r]);
        }
    }
    if (i < in) {
        const __mmask16 m = lk_mask16(in - i);
        const __m512 va = _mm512_maskz_loadu_ps(m, wa + i), vb = _mm512_maskz_loadu_ps(m, wb + i);
        for (int r = 0; r < nr; r++) {
            const __m512 xv = _mm512_maskz_loadu_ps(m, xr[r] + i);
            a[0][r] = _mm512_fmadd_ps(va, xv, a[0][r]);
            a[1][r] = _mm512_fmadd_ps(vb, xv, a[1][r]);
        }
    }
    for (int r = 0; r < nr; r++) {
        out[0][r] = _mm512_reduce_add_ps(a[0][r]);
        out[1][r] = _mm512_reduce_add_ps(a[1][r]);
    }
}

AVX2 static inline __attribute__((always_inline)) void dots_avx2_n(const float *wa, const float *wb,
                                                                 const float *const xr[4], int in, float out[2][4],
                                                                 const int nr) {
    __m256 a[2][4];
    for (int r = 0; r < 4; r++) a[0][r] = a[1][r] = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= in; i += 8) {
        const __m256 va = _mm256_loadu_ps(wa + i), vb = _mm256_loadu_ps(wb + i);
        for (int r = 0; r < nr; r++) {
            const __m256 xv = _mm256_loadu_ps(xr[r] + i);
            a[0][r] = _mm256_fmadd_ps(va, xv, a[0][r]);
            a[1][r] = _mm256_fmadd_ps(vb, xv, a[1][r]);
        }
    }
    if (i < in) {
        const __m256i m = lk_mask8(in - i);
        const __m256 va = _mm256_maskload_ps(wa + i, m), vb = _mm256_maskload_ps(wb + i, m);
        for (int r = 0; r < nr; r++) {
            const __m256 xv = _mm256_maskload_ps(xr[r] + i, m);
            a[0][r] = _mm256_fmadd_ps(va, xv, a[0][r]);
            a[1][r] = _mm256_fmadd_ps(vb, xv, a[1][r]);
        }
    }
    for (int r = 0; r < nr; r++) {
        out[0][r] = lk_hsum8(a[0][r]);
        out[1][r] = lk_hsum8(a[1][r]);
    }
}

/// The dot products with the row count a constant, so the unused accumulators vanish.
AVX512 static void dots_avx512(const float *wa, const float *wb, const float *const xr[4], int nr, int in,
                               float out[2][4]) {
    switch (nr) {
    case 1: dots_avx512_n(wa, wb, xr, in, out, 1); break;
    case 2: dots_avx512_n(wa, wb, xr, in, out, 2); break;
    case 3: dots_avx512_n(wa, wb, xr, in, out, 3); break;
    default: dots_avx512_n(wa, wb, xr, in, out, 4); break;
    }
}

AVX2 static void dots_avx2(const float *wa, const float *wb, const float *const xr[4], int nr, int in,
                           float out[2][4]) {
    switch (nr) {
    case 1: dots_avx2_n(wa, wb, xr, in, out, 1); break;
    case 2: dots_avx2_n(wa, wb, xr, in, out, 2); break;
    case 3: dots_avx2_n(wa, wb, xr, in, out, 3); break;
    default: dots_avx2_n(wa, wb, xr, in, out, 4); break;
    }
}

#endif  // LK_X86

void lk_linear_few_rows(const float *x, int rows, int in, const float *w, const float *bias, float *y, int ldy,
                        int out_begin, int out_end, int level) {
    level = lk_clamp_level(level);
    if (rows < 1 || in < 1 || out_end <= out_begin) return;
#if LK_X86
    if (level >= 1) {
        // Two weight rows at a time (an odd last one is paired with itself and stored once).
        for (int o = out_begin; o < out_end; o += 2) {
            const int ob = o + 1 < out_end ? o + 1 : o;
            const float *wa = w + (long)o * in, *wb = w + (long)ob * in;
            for (int r0 = 0; r0 < rows; r0 += 4) {
                const int nr = rows - r0 < 4 ? rows - r0 : 4;
                const float *xr[4];
                for (int r = 0; r < 4; r++) xr[r] = x + (long)(r0 + (r < nr ? r : 0)) * in;
                float out[2][4];
                if (level >= 2) {
                    dots_avx512(wa, wb, xr, nr, in, out);
                } else {
                    dots_avx2(wa, wb, xr, nr, in, out);
                }
                for (int r = 0; r < nr; r++) {
                    y[(long)(r0 + r) * ldy + o] = out[0][r] + (bias ? bias[o] : 0);
                    if (ob != o) y[(long)(r0 + r) * ldy + ob] = out[1][r] + (bias ? bias[ob] : 0);
                }
            }
        }
        return;
    }
#endif
    linear_reference(x, rows, in, w, bias, y, ldy, out_begin, out_end);
}
