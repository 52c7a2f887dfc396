// Shared by the kernel files, not part of the public header: instruction-set attributes, the level clamp and small
// vector helpers.
#ifndef LEONARDO_KERNELS_INTERNAL_H
#define LEONARDO_KERNELS_INTERNAL_H

#include "LeonardoKernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LK_X86 1
#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f,avx2,fma")))
#else
#define LK_X86 0
#endif

/// `level` lowered to what this CPU runs (the CPU is asked once; a race only asks twice).
static inline int lk_clamp_level(int level) {
    static int best = -1;
    if (best < 0) best = lk_best_level();
    return level > best ? best : level;
}

#if LK_X86
/// The first w of 16 lanes (all for w >= 16, none for w <= 0), as AVX-512's masked loads and stores take them.
static inline __mmask16 lk_mask16(int w) {
    return w >= 16 ? (__mmask16)0xFFFF : w <= 0 ? (__mmask16)0 : (__mmask16)((1u << w) - 1u);
}

/// The first w of 8 lanes, as the sign bits AVX2's masked loads and stores read.
AVX2 static inline __m256i lk_mask8(int w) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(w), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/// Sum of the eight lanes.
AVX2 static inline float lk_hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}
#endif

#endif
