// Products over row windows (LeonardoKernels.h, lk_gemm_rows and lk_gemm_windows): the decoder's dense layers on
// many rows, and its 1-D convolutions without an im2col copy (windows that overlap). A register tile of six rows by
// several output vectors accumulates over the depth, each depth step loading one row of b per output vector and
// broadcasting one value per row of a; the tile then adds the residual and applies ReLU before its one store.
#include "kernels_internal.h"

#define ROWS 6

/// Level 0: the reference loops.
static void windows_reference(const float *a, int lda, int rows, int depth, const float *b, int out,
                              const float *bias, const float *res, int ldr, int relu, float *y, int ldy) {
    for (int r = 0; r < rows; r++) {
        const float *ar = a + (long)r * lda;
        for (int o = 0; o < out; o++) {
            float acc = 0;
            for (int i = 0; i < depth; i++) acc += ar[i] * b[(long)i * out + o];
            float v = acc + (bias ? bias[o] : 0);
            if (res) v += res[(long)r * ldr + o];
            y[(long)r * ldy + o] = relu && v < 0 ? 0 : v;
        }
    }
}

#if LK_X86

/// One tile of up to six rows by `NV` output vectors starting at column o0 (masks in m); NV is a constant at each
/// call, so the accumulators stay in registers.
AVX512 static inline __attribute__((always_inline)) void tile_avx512(const float *const ar[ROWS], int nr, int depth,
                                                                     const float *b, int out, int o0,
                                                                     const __mmask16 m[4], const __m512 bias_v[4],
                                                                     const float *res, int ldr, int relu, float *y,
                                                                     int ldy, int r0, const int NV) {
    __m512 acc[ROWS][4];
    for (int r = 0; r < ROWS; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = bias_v[v];
    for (int i = 0; i < depth; i++) {
        const float *bi = b + (long)i * out + o0;
        __m512 bv[4];
        for (int v = 0; v < NV; v++) bv[v] = _mm512_maskz_loadu_ps(m[v], bi + 16 * v);
        for (int r = 0; r < ROWS; r++) {
            const __m512 x = _mm512_set1_ps(ar[r][i]);
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(x, bv[v], acc[r][v]);
        }
    }
    for (int r = 0; r < nr; r++) {
        for (int v = 0; v < NV; v++) {
            __m512 out_v = acc[r][v];
            if (res) out_v = _mm512_add_ps(out_v, _mm512_maskz_loadu_ps(m[v], res + (long)(r0 + r) * ldr + o0 + 16 * v));
            // max(0, x) returns x itself when x is NaN, as the reference's select does.
            if (relu) out_v = _mm512_max_ps(_mm512_setzero_ps(), out_v);
            _mm512_mask_storeu_ps(y + (long)(r0 + r) * ldy + o0 + 16 * v, m[v], out_v);
        }
    }
}

/// Rows per block of the outer loop: a block of a (up to ROW_BLOCK windows) stays in L2 while every output column
/// block passes over it, instead of streaming all rows once per column block.
#define ROW_BLOCK 192

AVX512 static void windows_avx512(const float *a, int lda, int rows, int depth, const float *b, int out,
                                  const float *bias, const float *res, int ldr, int relu, float *y, int ldy) {
    for (int rb = 0; rb < rows; rb += ROW_BLOCK) {
        const int rb_end = rows - rb < ROW_BLOCK ? rows : rb + ROW_BLOCK;
        for (int o0 = 0; o0 < out; o0 += 64) {
            __mmask16 m[4];
            __m512 bias_v[4];
            for (int v = 0; v < 4; v++) {
                const int w = out - o0 - 16 * v;
                m[v] = lk_mask16(w);
                bias_v[v] = bias ? _mm512_maskz_loadu_ps(m[v], bias + o0 + 16 * v) : _mm512_setzero_ps();
            }
            const int vectors = (out - o0 + 15) / 16;
            for (int r0 = rb; r0 < rb_end; r0 += ROWS) {
                const int nr = rb_end - r0 < ROWS ? rb_end - r0 : ROWS;
                const float *ar[ROWS];
                for (int r = 0; r < ROWS; r++) ar[r] = a + (long)(r0 + (r < nr ? r : nr - 1)) * lda;
                switch (vectors) {
                case 1: tile_avx512(ar, nr, depth, b, out, o0, m, bias_v, res, ldr, relu, y, ldy, r0, 1); break;
                case 2: tile_avx512(ar, nr, depth, b, out, o0, m, bias_v, res, ldr, relu, y, ldy, r0, 2); break;
                case 3: tile_avx512(ar, nr, depth, b, out, o0, m, bias_v, res, ldr, relu, y, ldy, r0, 3); break;
                default: tile_avx512(ar, nr, depth, b, out, o0, m, bias_v, res, ldr, relu, y, ldy, r0, 4); break;
                }
            }
        }
    }
}

AVX2 static void windows_avx2(const float *a, int lda, int rows, int depth, const float *b, int out,
                              const float *bias, const float *res, int ldr, int relu, float *y, int ldy) {
    for (int o0 = 0; o0 < out; o0 += 16) {
        __m256i m[2];
        __m256 bias_v[2];
        for (int v = 0; v < 2; v++) {
            m[v] = lk_mask8(out - o0 - 8 * v);
            bias_v[v] = bias ? _mm256_maskload_ps(bias + o0 + 8 * v, m[v]) : _mm256_setzero_ps();
        }
        for (int r0 = 0; r0 < rows; r0 += ROWS) {
            const int nr = rows - r0 < ROWS ? rows - r0 : ROWS;
            const float *ar[ROWS];
            for (int r = 0; r < ROWS; r++) ar[r] = a + (long)(r0 + (r < nr ? r : nr - 1)) * lda;
            __m256 acc[ROWS][2];
            for (int r = 0; r < ROWS; r++)
                for (int v = 0; v < 2; v++) acc[r][v] = bias_v[v];
            for (int i = 0; i < depth; i++) {
                const float *bi = b + (long)i * out + o0;
                const __m256 b0 = _mm256_maskload_ps(bi, m[0]), b1 = _mm256_maskload_ps(bi + 8, m[1]);
                for (int r = 0; r < ROWS; r++) {
                    const __m256 x = _mm256_broadcast_ss(ar[r] + i);
                    acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
                    acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
                }
            }
            for (int r = 0; r < nr; r++) {
                for (int v = 0; v < 2; v++) {
                    __m256 out_v = acc[r][v];
                    if (res) out_v = _mm256_add_ps(out_v, _mm256_maskload_ps(res + (long)(r0 + r) * ldr + o0 + 8 * v, m[v]));
                    if (relu) out_v = _mm256_max_ps(_mm256_setzero_ps(), out_v);
                    _mm256_maskstore_ps(y + (long)(r0 + r) * ldy + o0 + 8 * v, m[v], out_v);
                }
            }
        }
    }
}

#endif  // LK_X86

void lk_gemm_rows(const float *a, int lda, int rows, int depth, const float *b, int out, const float *bias,
                  const float *residual, int ldr, int relu, float *y, int ldy, int level) {
    level = lk_clamp_level(level);
    if (rows < 1 || out < 1) return;
#if LK_X86
    if (level >= 1 && out <= 4 && !residual && !relu && depth <= 4096) {
        // A few outputs: dot products of each window with the weight columns (copied out of b), four rows at once.
        float bt[4 * 4096];
        for (int o = 0; o < out; o++)
            for (int i = 0; i < depth; i++) bt[(long)o * depth + i] = b[(long)i * out + o];
        lk_dot_windows(a, lda, rows, depth, bt, out, bias, y, ldy, level);
        return;
    }
    if (level >= 2) {
        windows_avx512(a, lda, rows, depth, b, out, bias, residual, ldr, relu, y, ldy);
        return;
    }
    if (level == 1) {
        windows_avx2(a, lda, rows, depth, b, out, bias, residual, ldr, relu, y, ldy);
        return;
    }
#endif
    windows_reference(a, lda, rows, depth, b, out, bias, residual, ldr, relu, y, ldy);
}

void lk_gemm_windows(const float *a, int lda, int rows, int depth, const float *b, int out, const float *bias,
                     float *y, int ldy, int level) {
    lk_gemm_rows(a, lda, rows, depth, b, out, bias, NULL, 0, 0, y, ldy, level);
}
