// Half-precision weights (bf16, f16) with float32 arithmetic: conversion both ways, and the matrix–vector products
// of generation read straight from the half rows (half the bytes of float32, which is what a memory-bound step
// costs). Batched products convert a block of rows at a time and hand it to sgemm (the caller, in Swift).
//
// Formats: MH_HALF_BF16 (the top 16 bits of a float32) and MH_HALF_F16 (IEEE binary16). Float → half rounds to
// nearest, ties to even, exactly as Support's HalfPrecision (and PyTorch) do: a NaN becomes 0xFFFF in bf16 and a
// quiet 0x7E00 with its sign in f16. Paths: plain C (the oracle), and AVX2 + FMA (+ F16C for f16).
#include "CKernels.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#define MH_X86 1
#endif

// ---------------------------------------------------------------------------------------------------------------
// Scalar conversions (the oracle)

static inline float bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline uint16_t f32_to_bf16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    if ((bits & 0x7FFFFFFF) > 0x7F800000) return 0xFFFF;
    bits += 0x7FFF + ((bits >> 16) & 1);
    return (uint16_t)(bits >> 16);
}

static inline float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF, bits;
    if (exponent == 0x1F) {
        bits = sign | 0x7F800000 | (mantissa << 13);
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        bits = sign;
    } else {  // subnormal: normalize
        int shift = 0;
        while (!(mantissa & 0x400)) {
            mantissa <<= 1;
            shift++;
        }
        bits = sign | ((uint32_t)(113 - shift) << 23) | ((mantissa & 0x3FF) << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline uint16_t f32_to_f16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000);
    uint32_t magnitude = bits & 0x7FFFFFFF;
    if (magnitude > 0x7F800000) return sign | 0x7E00;
    if (magnitude >= 0x477FF000) return sign | 0x7C00;  // rounds to ≥ 65520: infinity
    if (magnitude < 0x38800000) {  // below 2^-14: subnormal or zero, rounded at the fixed point 2^-24
        float absolute;
        memcpy(&absolute, &magnitude, 4);
        // Adding 0.5 (2^-1) puts the subnormal's bits in the low mantissa, rounded to even by the addition.
        float shifted = absolute + 0.5f;
        uint32_t shiftedBits;
        memcpy(&shiftedBits, &shifted, 4);
        return sign | (uint16_t)(shiftedBits - 0x3F000000);
    }
    uint32_t rounded = magnitude + 0xFFF + ((magnitude >> 13) & 1) - (112u << 23);
    return sign | (uint16_t)(rounded >> 13);
}

static inline float half_to_f32(int format, uint16_t h) {
    return format == MH_HALF_BF16 ? bf16_to_f32(h) : f16_to_f32(h);
}

void mh_half_to_f32_plain(int format, const uint16_t *src, size_t n, float *dst) {
    for (size_t i = 0; i < n; i++) dst[i] = half_to_f32(format, src[i]);
}

void mh_f32_to_half_plain(int format, const float *src, size_t n, uint16_t *dst) {
    if (format == MH_HALF_BF16)
        for (size_t i = 0; i < n; i++) dst[i] = f32_to_bf16(src[i]);
    else
        for (size_t i = 0; i < n; i++) dst[i] = f32_to_f16(src[i]);
}

// y[i·ldy + j] = bias[j] + Σp x[i·k + p]·w[j·k + p], summed in float in index order.
static void half_gemv_plain(int format, const float *x, size_t m, size_t k, const uint16_t *w, size_t n,
                            const float *bias, float *y, size_t ldy) {
    for (size_t j = 0; j < n; j++) {
        for (size_t i = 0; i < m; i++) {
            float sum = 0;
            for (size_t p = 0; p < k; p++) sum += x[i * k + p] * half_to_f32(format, w[j * k + p]);
            y[i * ldy + j] = sum + (bias ? bias[j] : 0);
        }
    }
}

#ifdef MH_X86

// ---------------------------------------------------------------------------------------------------------------
// AVX2 + FMA (+ F16C)

__attribute__((target("avx2,fma,f16c"))) static inline __m256 load8(int format, const uint16_t *p) {
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    if (format == MH_HALF_BF16) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    return _mm256_cvtph_ps(h);
}

__attribute__((target("avx2,fma,f16c"))) static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma,f16c"))) static void half_to_f32_avx2(int format, const uint16_t *src, size_t n,
                                                                      float *dst) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load8(format, src + i));
    for (; i < n; i++) dst[i] = half_to_f32(format, src[i]);
}

__attribute__((target("avx2,fma,f16c"))) static void f32_to_half_avx2(int format, const float *src, size_t n,
                                                                      uint16_t *dst) {
    size_t i = 0;
    if (format == MH_HALF_F16) {
        for (; i + 8 <= n; i += 8) {
            __m256 v = _mm256_loadu_ps(src + i);
            if (_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q))) {  // vcvtps2ph keeps NaN payloads
                for (size_t l = 0; l < 8; l++) dst[i + l] = f32_to_f16(src[i + l]);
                continue;
            }
            _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
        }
    } else {
        const __m256i round = _mm256_set1_epi32(0x7FFF), one = _mm256_set1_epi32(1);
        const __m256i magnitude = _mm256_set1_epi32(0x7FFFFFFF), infinity = _mm256_set1_epi32(0x7F800000);
        const __m256i ones = _mm256_set1_epi32(-1);
        for (; i + 8 <= n; i += 8) {
            __m256i bits = _mm256_castps_si256(_mm256_loadu_ps(src + i));
            __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(bits, magnitude), infinity);
            __m256i rounded = _mm256_add_epi32(
                bits, _mm256_add_epi32(round, _mm256_and_si256(_mm256_srli_epi32(bits, 16), one)));
            __m256i result = _mm256_blendv_epi8(rounded, ones, nan);
            result = _mm256_srli_epi32(result, 16);
            __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(result), _mm256_extracti128_si256(result, 1));
            _mm_storeu_si128((__m128i *)(dst + i), packed);
        }
    }
    for (; i < n; i++) dst[i] = format == MH_HALF_BF16 ? f32_to_bf16(src[i]) : f32_to_f16(src[i]);
}

__attribute__((target("avx2,fma,f16c"))) static inline float hsum4(__m256 a, __m256 b, __m256 c, __m256 d) {
    return hsum(_mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d)));
}

// One weight row at a time, read once from start to end: a single sequential stream is what the hardware
// prefetcher follows best (four rows interleaved reached 17–19 GB/s on two cores where this reaches 30, as much as
// OpenBLAS's float32 sgemv), and the row stays in L1 for the other input rows. 32 values per step.
//
// bf16: a 256-bit load holds 16 values, and each 32-bit lane two of them: shifted left by 16 the lane is the even
// value as a float32, masked to its top half the odd one — no widening instructions, one shift or and per eight
// values. The input is de-interleaved once to match (`xp`: per 16 values, the eight even then the eight odd).
__attribute__((target("avx2,fma,f16c"))) static void half_gemv_avx2(int format, const float *x, const float *xp,
                                                                    size_t m, size_t k, const uint16_t *w, size_t n,
                                                                    const float *bias, float *y, size_t ldy) {
    const size_t k32 = k / 32 * 32;
    const __m256i top = _mm256_set1_epi32((int)0xFFFF0000);
    for (size_t j = 0; j < n; j++) {
        const uint16_t *wj = w + j * k;
        for (size_t i = 0; i < m; i++) {
            const float *xi = x + i * k, *xpi = xp + i * k32;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            if (format == MH_HALF_BF16) {
                for (size_t p = 0; p < k32; p += 32) {
                    __m256i v0 = _mm256_loadu_si256((const __m256i *)(wj + p));
                    __m256i v1 = _mm256_loadu_si256((const __m256i *)(wj + p + 16));
                    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(xpi + p), _mm256_castsi256_ps(_mm256_slli_epi32(v0, 16)), a0);
                    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(xpi + p + 8), _mm256_castsi256_ps(_mm256_and_si256(v0, top)),
                                         a1);
                    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(xpi + p + 16),
                                         _mm256_castsi256_ps(_mm256_slli_epi32(v1, 16)), a2);
                    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(xpi + p + 24), _mm256_castsi256_ps(_mm256_and_si256(v1, top)),
                                         a3);
                }
            } else {
                for (size_t p = 0; p < k32; p += 32) {
                    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(xi + p), load8(format, wj + p), a0);
                    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(xi + p + 8), load8(format, wj + p + 8), a1);
                    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(xi + p + 16), load8(format, wj + p + 16), a2);
                    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(xi + p + 24), load8(format, wj + p + 24), a3);
                }
            }
            float sum = hsum4(a0, a1, a2, a3);
            for (size_t p = k32; p < k; p++) sum += xi[p] * half_to_f32(format, wj[p]);
            y[i * ldy + j] = sum + (bias ? bias[j] : 0);
        }
    }
}

static int has_avx2(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}
#endif

// ---------------------------------------------------------------------------------------------------------------
// Dispatch

int mh_half_fast_path(void) {
#ifdef MH_X86
    return has_avx2();
#else
    return 0;
#endif
}

void mh_half_to_f32(int format, const uint16_t *src, size_t n, float *dst) {
#ifdef MH_X86
    if (has_avx2()) {
        half_to_f32_avx2(format, src, n, dst);
        return;
    }
#endif
    mh_half_to_f32_plain(format, src, n, dst);
}

void mh_f32_to_half(int format, const float *src, size_t n, uint16_t *dst) {
#ifdef MH_X86
    if (has_avx2()) {
        f32_to_half_avx2(format, src, n, dst);
        return;
    }
#endif
    mh_f32_to_half_plain(format, src, n, dst);
}

int mh_half_gemv(int fast, int format, const float *x, size_t m, size_t k, const uint16_t *w, size_t n,
                 const float *bias, float *y, size_t ldy) {
#ifdef MH_X86
    if (fast && has_avx2()) {
        // The de-interleaved inputs (bf16 only; whole 32-value blocks), on the stack when small.
        size_t k32 = k / 32 * 32, count = format == MH_HALF_BF16 ? m * k32 : 0;
        float local[4096];
        float *xp = count <= 4096 ? local : malloc(count * sizeof(float));
        if (!xp) return 1;
        for (size_t i = 0; i < m && count; i++)
            for (size_t p = 0; p < k32; p += 16)
                for (size_t l = 0; l < 8; l++) {
                    xp[i * k32 + p + l] = x[i * k + p + 2 * l];
                    xp[i * k32 + p + 8 + l] = x[i * k + p + 2 * l + 1];
                }
        half_gemv_avx2(format, x, xp, m, k, w, n, bias, y, ldy);
        if (xp != local) free(xp);
        return 0;
    }
#endif
    (void)fast;
    half_gemv_plain(format, x, m, k, w, n, bias, y, ldy);
    return 0;
}
