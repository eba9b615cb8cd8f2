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

// y[i·ldy + j] = (accumulate ? y[i·ldy + j] : 0) + Σp x[i·k + p]·w[j·k + p], float32 weights, summed in index order.
static void sgemm_rows_plain(const float *x, size_t m, size_t k, const float *w, size_t n, int accumulate, float *y,
                             size_t ldy) {
    for (size_t j = 0; j < n; j++) {
        for (size_t i = 0; i < m; i++) {
            float sum = 0;
            for (size_t p = 0; p < k; p++) sum += x[i * k + p] * w[j * k + p];
            y[i * ldy + j] = (accumulate ? y[i * ldy + j] : 0) + sum;
        }
    }
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

// Float32 weights, a few input rows (a short sequence), where sgemm would first copy all of W into its packed layout
// (most of such a forward pass). Blocks of four weight rows × two input rows: per eight values six loads feed eight
// FMAs, so the loop runs at the FMA rate rather than the load rate; the four weight rows (≤ 24 KB at k = 1536) stay
// in L1 while every input row passes.
__attribute__((target("avx2,fma,f16c"))) static void sgemm_rows_avx2(const float *x, size_t m, size_t k,
                                                                     const float *w, size_t n, int accumulate,
                                                                     float *y, size_t ldy) {
    const size_t k8 = k / 8 * 8;
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const float *w0 = w + j * k, *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;
        size_t i = 0;
        for (; i + 2 <= m; i += 2) {
            const float *x0 = x + i * k, *x1 = x0 + k;
            __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00;
            __m256 a10 = a00, a11 = a00, a12 = a00, a13 = a00;
            for (size_t p = 0; p < k8; p += 8) {
                __m256 v0 = _mm256_loadu_ps(x0 + p), v1 = _mm256_loadu_ps(x1 + p);
                __m256 b = _mm256_loadu_ps(w0 + p);
                a00 = _mm256_fmadd_ps(v0, b, a00);
                a10 = _mm256_fmadd_ps(v1, b, a10);
                b = _mm256_loadu_ps(w1 + p);
                a01 = _mm256_fmadd_ps(v0, b, a01);
                a11 = _mm256_fmadd_ps(v1, b, a11);
                b = _mm256_loadu_ps(w2 + p);
                a02 = _mm256_fmadd_ps(v0, b, a02);
                a12 = _mm256_fmadd_ps(v1, b, a12);
                b = _mm256_loadu_ps(w3 + p);
                a03 = _mm256_fmadd_ps(v0, b, a03);
                a13 = _mm256_fmadd_ps(v1, b, a13);
            }
            float s[2][4] = {{hsum(a00), hsum(a01), hsum(a02), hsum(a03)}, {hsum(a10), hsum(a11), hsum(a12), hsum(a13)}};
            for (size_t p = k8; p < k; p++) {
                s[0][0] += x0[p] * w0[p], s[0][1] += x0[p] * w1[p], s[0][2] += x0[p] * w2[p], s[0][3] += x0[p] * w3[p];
                s[1][0] += x1[p] * w0[p], s[1][1] += x1[p] * w1[p], s[1][2] += x1[p] * w2[p], s[1][3] += x1[p] * w3[p];
            }
            for (size_t r = 0; r < 2; r++)
                for (size_t c = 0; c < 4; c++) {
                    float *out = y + (i + r) * ldy + j + c;
                    *out = (accumulate ? *out : 0) + s[r][c];
                }
        }
        for (; i < m; i++) {
            const float *x0 = x + i * k;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (size_t p = 0; p < k8; p += 8) {
                __m256 v0 = _mm256_loadu_ps(x0 + p);
                a0 = _mm256_fmadd_ps(v0, _mm256_loadu_ps(w0 + p), a0);
                a1 = _mm256_fmadd_ps(v0, _mm256_loadu_ps(w1 + p), a1);
                a2 = _mm256_fmadd_ps(v0, _mm256_loadu_ps(w2 + p), a2);
                a3 = _mm256_fmadd_ps(v0, _mm256_loadu_ps(w3 + p), a3);
            }
            float s[4] = {hsum(a0), hsum(a1), hsum(a2), hsum(a3)};
            for (size_t p = k8; p < k; p++) s[0] += x0[p] * w0[p], s[1] += x0[p] * w1[p], s[2] += x0[p] * w2[p], s[3] += x0[p] * w3[p];
            for (size_t c = 0; c < 4; c++) {
                float *out = y + i * ldy + j + c;
                *out = (accumulate ? *out : 0) + s[c];
            }
        }
    }
    for (; j < n; j++) {
        const float *wj = w + j * k;
        for (size_t i = 0; i < m; i++) {
            const float *xi = x + i * k;
            __m256 a0 = _mm256_setzero_ps();
            for (size_t p = 0; p < k8; p += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(xi + p), _mm256_loadu_ps(wj + p), a0);
            float sum = hsum(a0);
            for (size_t p = k8; p < k; p++) sum += xi[p] * wj[p];
            y[i * ldy + j] = (accumulate ? y[i * ldy + j] : 0) + sum;
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

void mh_sgemm_rows(int fast, const float *x, size_t m, size_t k, const float *w, size_t n, int accumulate, float *y,
                   size_t ldy) {
#ifdef MH_X86
    if (fast && has_avx2()) {
        sgemm_rows_avx2(x, m, k, w, n, accumulate, y, ldy);
        return;
    }
#endif
    (void)fast;
    sgemm_rows_plain(x, m, k, w, n, accumulate, y, ldy);
}
