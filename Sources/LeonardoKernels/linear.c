// A linear layer on few rows (LeonardoKernels.h): y = x w^T + b with w in PyTorch's [out, in] layout. Each weight
// row is dotted with all rows of x while it sits in L1 (AVX-512: four weight rows by four x rows per pass, sixteen
// accumulators summed by one transpose tree; AVX2: two by four, eight accumulators), so the weight streams from
// memory once and is never copied.
#include "kernels_internal.h"

/// Level 0: the reference loops.
static void linear_reference(const float *x, long ldx, int rows, int in, const float *w, const float *bias, float *y,
                             int ldy, int o0, int o1) {
    for (int r = 0; r < rows; r++) {
        for (int o = o0; o < o1; o++) {
            const float *wo = w + (long)o * in;
            const float *xr = x + r * ldx;
            float acc = 0;
            for (int i = 0; i < in; i++) acc += wo[i] * xr[i];
            y[(long)r * ldy + o] = acc + (bias ? bias[o] : 0);
        }
    }
}

#if LK_X86

/// t[(j % 4) * 4 + j / 4] = the sum of the 16 lanes of a[j]: 16 -> 8 -> 4 -> 2 -> 1 vectors, each step adding
/// halves of two vectors side by side (256-bit halves, then 128-bit quarters, then pairs and single lanes within
/// quarters). Every vector's lanes are summed in the same order, wherever it sits.
AVX512 static inline __attribute__((always_inline)) void lk_sum16(const __m512 a[16], float t[16]) {
    __m512 h[8], q[4], p[2];
    for (int j = 0; j < 8; j++)
        h[j] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * j], a[2 * j + 1], 0x44),
                             _mm512_shuffle_f32x4(a[2 * j], a[2 * j + 1], 0xEE));
    for (int j = 0; j < 4; j++)
        q[j] = _mm512_add_ps(_mm512_shuffle_f32x4(h[2 * j], h[2 * j + 1], 0x88),
                             _mm512_shuffle_f32x4(h[2 * j], h[2 * j + 1], 0xDD));
    for (int j = 0; j < 2; j++)
        p[j] = _mm512_add_ps(_mm512_shuffle_ps(q[2 * j], q[2 * j + 1], 0x88),
                             _mm512_shuffle_ps(q[2 * j], q[2 * j + 1], 0xDD));
    _mm512_storeu_ps(t, _mm512_add_ps(_mm512_shuffle_ps(p[0], p[1], 0x88), _mm512_shuffle_ps(p[0], p[1], 0xDD)));
}

/// The 16 dot products of weight rows w[0..4) with x rows x[0..4): sixteen accumulators over the depth (four weight
/// and four x vectors loaded per sixteen FMAs, the tail masked), then one transpose-and-add tree that leaves the sum
/// of accumulator 4k + r in lane 4r + k. t[4r + k] = w[k] . x[r] for r < NR (a constant at each call: rows past it
/// take no loads or FMAs, and their lanes hold zeros).
AVX512 static inline __attribute__((always_inline)) void dots4x4_avx512_n(const float *const w[4],
                                                                         const float *const x[4], int in,
                                                                         float t[16], const int NR) {
    __m512 a[16];
    for (int i = 0; i < 16; i++) a[i] = _mm512_setzero_ps();
    int i = 0;
    for (; i + 16 <= in; i += 16) {
        __m512 wv[4], xv[4];
        for (int k = 0; k < 4; k++) wv[k] = _mm512_loadu_ps(w[k] + i);
        for (int r = 0; r < NR; r++) xv[r] = _mm512_loadu_ps(x[r] + i);
        for (int k = 0; k < 4; k++)
            for (int r = 0; r < NR; r++) a[4 * k + r] = _mm512_fmadd_ps(wv[k], xv[r], a[4 * k + r]);
    }
    if (i < in) {
        const __mmask16 m = lk_mask16(in - i);
        __m512 wv[4], xv[4];
        for (int k = 0; k < 4; k++) wv[k] = _mm512_maskz_loadu_ps(m, w[k] + i);
        for (int r = 0; r < NR; r++) xv[r] = _mm512_maskz_loadu_ps(m, x[r] + i);
        for (int k = 0; k < 4; k++)
            for (int r = 0; r < NR; r++) a[4 * k + r] = _mm512_fmadd_ps(wv[k], xv[r], a[4 * k + r]);
    }
    lk_sum16(a, t);
}

AVX512 static void dots4x4_avx512(const float *const w[4], const float *const x[4], int nr, int in, float t[16]) {
    switch (nr) {
    case 1: dots4x4_avx512_n(w, x, in, t, 1); break;
    case 2: dots4x4_avx512_n(w, x, in, t, 2); break;
    case 3: dots4x4_avx512_n(w, x, in, t, 3); break;
    default: dots4x4_avx512_n(w, x, in, t, 4); break;
    }
}

/// The 16 dot products of weight rows w[0], w[1] with x rows x[0..8): t[(r % 4) * 4 + 2k + r / 4] = w[k] . x[r] for
/// r < NR (the transpose tree of dots4x4_avx512_n on accumulator 8k + r). Two weight vectors and NR x vectors per
/// 2 NR FMAs: with eight x rows held in L1, the weight streams from L2 at a quarter of the loads.
AVX512 static inline __attribute__((always_inline)) void dots2x8_avx512_n(const float *w0, const float *w1,
                                                                         const float *const x[8], int in,
                                                                         float t[16], const int NR) {
    __m512 a[16];
    for (int i = 0; i < 16; i++) a[i] = _mm512_setzero_ps();
    int i = 0;
    for (; i + 16 <= in; i += 16) {
        const __m512 wa = _mm512_loadu_ps(w0 + i), wb = _mm512_loadu_ps(w1 + i);
        for (int r = 0; r < NR; r++) {
            const __m512 xv = _mm512_loadu_ps(x[r] + i);
            a[r] = _mm512_fmadd_ps(wa, xv, a[r]);
            a[8 + r] = _mm512_fmadd_ps(wb, xv, a[8 + r]);
        }
    }
    if (i < in) {
        const __mmask16 m = lk_mask16(in - i);
        const __m512 wa = _mm512_maskz_loadu_ps(m, w0 + i), wb = _mm512_maskz_loadu_ps(m, w1 + i);
        for (int r = 0; r < NR; r++) {
            const __m512 xv = _mm512_maskz_loadu_ps(m, x[r] + i);
            a[r] = _mm512_fmadd_ps(wa, xv, a[r]);
            a[8 + r] = _mm512_fmadd_ps(wb, xv, a[8 + r]);
        }
    }
    lk_sum16(a, t);
}

AVX512 static void dots2x8_avx512(const float *w0, const float *w1, const float *const x[8], int nr, int in,
                                  float t[16]) {
    switch (nr) {
    case 5: dots2x8_avx512_n(w0, w1, x, in, t, 5); break;
    case 6: dots2x8_avx512_n(w0, w1, x, in, t, 6); break;
    case 7: dots2x8_avx512_n(w0, w1, x, in, t, 7); break;
    default: dots2x8_avx512_n(w0, w1, x, in, t, 8); break;
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

/// The few-rows product with x rows `ldx` floats apart (ldx < in: overlapping windows).
static void few_rows(const float *x, long ldx, int rows, int in, const float *w, const float *bias, float *y, int ldy,
                     int out_begin, int out_end, int level) {
    if (rows < 1 || in < 1 || out_end <= out_begin) return;
#if LK_X86
    if (level >= 2 && rows > 4) {
        // Blocks of 64 weight rows (kept in L2) against blocks of eight rows of x (kept in L1), two weight rows by
        // eight x rows at a time; a last block of up to four x rows takes dots4x4 and short blocks repeat their last
        // row (computed, not stored).
        for (int ob = out_begin; ob < out_end; ob += 64) {
            const int oe = out_end - ob < 64 ? out_end : ob + 64;
            for (int r0 = 0; r0 < rows; r0 += 8) {
                const int nr = rows - r0 < 8 ? rows - r0 : 8;
                if (nr <= 4) {
                    const float *xr[4];
                    for (int r = 0; r < 4; r++) xr[r] = x + (r0 + (r < nr ? r : nr - 1)) * ldx;
                    for (int o = ob; o < oe; o += 4) {
                        const int nk = oe - o < 4 ? oe - o : 4;
                        const float *wr[4];
                        for (int k = 0; k < 4; k++) wr[k] = w + (long)(o + (k < nk ? k : nk - 1)) * in;
                        float t[16];
                        dots4x4_avx512(wr, xr, nr, in, t);
                        for (int r = 0; r < nr; r++)
                            for (int k = 0; k < nk; k++)
                                y[(long)(r0 + r) * ldy + o + k] = t[4 * r + k] + (bias ? bias[o + k] : 0);
                    }
                    continue;
                }
                const float *xr[8];
                for (int r = 0; r < 8; r++) xr[r] = x + (r0 + (r < nr ? r : nr - 1)) * ldx;
                for (int o = ob; o < oe; o += 2) {
                    const int nk = oe - o < 2 ? 1 : 2;
                    float t[16];
                    dots2x8_avx512(w + (long)o * in, w + (long)(o + nk - 1) * in, xr, nr, in, t);
                    for (int r = 0; r < nr; r++)
                        for (int k = 0; k < nk; k++)
                            y[(long)(r0 + r) * ldy + o + k] = t[(r % 4) * 4 + 2 * k + r / 4] + (bias ? bias[o + k] : 0);
                }
            }
        }
        return;
    }
    if (level >= 2) {
        // Four weight rows by four rows of x at a time; short blocks repeat their last row (computed, not stored).
        for (int o = out_begin; o < out_end; o += 4) {
            const int nk = out_end - o < 4 ? out_end - o : 4;
            const float *wr[4];
            for (int k = 0; k < 4; k++) wr[k] = w + (long)(o + (k < nk ? k : nk - 1)) * in;
            for (int r0 = 0; r0 < rows; r0 += 4) {
                const int nr = rows - r0 < 4 ? rows - r0 : 4;
                const float *xr[4];
                for (int r = 0; r < 4; r++) xr[r] = x + (r0 + (r < nr ? r : nr - 1)) * ldx;
                float t[16];
                dots4x4_avx512(wr, xr, nr, in, t);
                for (int r = 0; r < nr; r++)
                    for (int k = 0; k < nk; k++) y[(long)(r0 + r) * ldy + o + k] = t[4 * r + k] + (bias ? bias[o + k] : 0);
            }
        }
        return;
    }
    if (level == 1) {
        // Two weight rows at a time (an odd last one is paired with itself and stored once).
        for (int o = out_begin; o < out_end; o += 2) {
            const int ob = o + 1 < out_end ? o + 1 : o;
            const float *wa = w + (long)o * in, *wb = w + (long)ob * in;
            for (int r0 = 0; r0 < rows; r0 += 4) {
                const int nr = rows - r0 < 4 ? rows - r0 : 4;
                const float *xr[4];
                for (int r = 0; r < 4; r++) xr[r] = x + (r0 + (r < nr ? r : 0)) * ldx;
                float out[2][4];
                dots_avx2(wa, wb, xr, nr, in, out);
                for (int r = 0; r < nr; r++) {
                    y[(long)(r0 + r) * ldy + o] = out[0][r] + (bias ? bias[o] : 0);
                    if (ob != o) y[(long)(r0 + r) * ldy + ob] = out[1][r] + (bias ? bias[ob] : 0);
                }
            }
        }
        return;
    }
#endif
    linear_reference(x, ldx, rows, in, w, bias, y, ldy, out_begin, out_end);
}

void lk_linear_few_rows(const float *x, int rows, int in, const float *w, const float *bias, float *y, int ldy,
                        int out_begin, int out_end, int level) {
    few_rows(x, in, rows, in, w, bias, y, ldy, out_begin, out_end, lk_clamp_level(level));
}

void lk_dot_windows(const float *a, int lda, int rows, int depth, const float *w, int out, const float *bias,
                    float *y, int ldy, int level) {
    few_rows(a, lda, rows, depth, w, bias, y, ldy, 0, out, lk_clamp_level(level));
}
