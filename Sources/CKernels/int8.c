// Int8 products for dynamically quantized linear layers: y[m, n] = sa[m]·sw[n]·Σk a[m, k]·w[n, k] + b[n], with
// a the activations quantized per row (per token) and w the weights per output channel, both symmetric s8 in
// [−127, 127]. Accumulation is exact in int32, so every path below equals the plain reference bit for bit.
//
// Shapes: A [M, Kp] s8 rows, W [N, Kp] s8 rows (Kp = K rounded up to 16, the tail zero), C [M, N].
// Paths, chosen at run time (mh_s8_path):
//   reference  plain C, the oracle;
//   avx2       s8 → s16 widening (vpmovsxbw) and vpmaddwd: exact for any s8 values; vpmaddubsw would be twice
//              as dense but adds pairs of u8·s8 products into a saturating s16 (2·255·127 > 32767), which would
//              need 7-bit weights or activations (a loss of accuracy) — measured choices are in RESULTS;
//   avx512vnni / avxvnni  vpdpbusd: u8·s8 products summed four at a time into int32 without saturation; the
//              activations are shifted to u8 (a + 128) and 128·Σk w[n, k] is subtracted afterwards.
#include "CKernels.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#define MH_X86 1
#endif

// ---------------------------------------------------------------------------------------------------------------
// Quantization

void mh_quantize_rows_s8(const float *x, size_t rows, size_t k, size_t kp, int8_t *q, float *scales) {
    for (size_t r = 0; r < rows; r++) {
        const float *row = x + r * k;
        float largest = 0;
        for (size_t i = 0; i < k; i++) {
            float v = fabsf(row[i]);
            largest = v > largest ? v : largest;
        }
        float scale = largest / 127.0f;
        float inverse = largest > 0 ? 127.0f / largest : 0;
        int8_t *out = q + r * kp;
        for (size_t i = 0; i < k; i++) {
            float v = nearbyintf(row[i] * inverse);  // round half to even, as torch's quantize_per_channel
            v = v > 127 ? 127 : v < -127 ? -127 : v;
            out[i] = (int8_t)v;
        }
        memset(out + k, 0, kp - k);
        scales[r] = scale;
    }
}

void mh_s8_row_sums(const int8_t *w, size_t n, size_t kp, int32_t *sums) {
    for (size_t j = 0; j < n; j++) {
        int32_t sum = 0;
        for (size_t i = 0; i < kp; i++) sum += w[j * kp + i];
        sums[j] = sum;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The reference

static void s8_gemm_reference(const int8_t *a, const int8_t *w, const int32_t *w_sums, size_t m, size_t n, size_t kp,
                              int32_t *c, size_t ldc) {
    (void)w_sums;
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            int32_t sum = 0;
            for (size_t p = 0; p < kp; p++) sum += (int32_t)a[i * kp + p] * (int32_t)w[j * kp + p];
            c[i * ldc + j] = sum;
        }
    }
}

#ifdef MH_X86

// ---------------------------------------------------------------------------------------------------------------
// AVX2: 2 rows × 6 columns of dot products at a time, 16 values of k per step; 12 accumulators of 8 int32.

__attribute__((target("avx2"))) static inline int32_t hsum_avx2(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

__attribute__((target("avx2"))) static inline __m256i widen(const int8_t *p) {
    return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)p));
}

__attribute__((target("avx2"))) static void s8_gemm_avx2(const int8_t *a, const int8_t *w, const int32_t *w_sums,
                                                           size_t m, size_t n, size_t kp, int32_t *c, size_t ldc) {
    (void)w_sums;
    size_t j = 0;
    for (; j + 6 <= n; j += 6) {
        const int8_t *w0 = w + j * kp;
        size_t i = 0;
        for (; i + 2 <= m; i += 2) {
            const int8_t *a0 = a + i * kp, *a1 = a0 + kp;
            __m256i acc[2][6];
            for (int r = 0; r < 2; r++)
                for (int q = 0; q < 6; q++) acc[r][q] = _mm256_setzero_si256();
            for (size_t p = 0; p < kp; p += 16) {
                __m256i x0 = widen(a0 + p), x1 = widen(a1 + p);
                for (int q = 0; q < 6; q++) {
                    __m256i y = widen(w0 + q * kp + p);
                    acc[0][q] = _mm256_add_epi32(acc[0][q], _mm256_madd_epi16(x0, y));
                    acc[1][q] = _mm256_add_epi32(acc[1][q], _mm256_madd_epi16(x1, y));
                }
            }
            for (int q = 0; q < 6; q++) {
                c[i * ldc + j + q] = hsum_avx2(acc[0][q]);
                c[(i + 1) * ldc + j + q] = hsum_avx2(acc[1][q]);
            }
        }
        for (; i < m; i++) {  // the last row of an odd count
            const int8_t *a0 = a + i * kp;
            __m256i acc[6];
            for (int q = 0; q < 6; q++) acc[q] = _mm256_setzero_si256();
            for (size_t p = 0; p < kp; p += 16) {
                __m256i x0 = widen(a0 + p);
                for (int q = 0; q < 6; q++)
                    acc[q] = _mm256_add_epi32(acc[q], _mm256_madd_epi16(x0, widen(w0 + q * kp + p)));
            }
            for (int q = 0; q < 6; q++) c[i * ldc + j + q] = hsum_avx2(acc[q]);
        }
    }
    for (; j < n; j++) {  // the columns past the last block of six
        const int8_t *w0 = w + j * kp;
        for (size_t i = 0; i < m; i++) {
            const int8_t *a0 = a + i * kp;
            __m256i acc = _mm256_setzero_si256();
            for (size_t p = 0; p < kp; p += 16) acc = _mm256_add_epi32(acc, _mm256_madd_epi16(widen(a0 + p), widen(w0 + p)));
            c[i * ldc + j] = hsum_avx2(acc);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// VNNI: the activations shifted to u8 (a + 128) once per call, then vpdpbusd over 32 (AVX-VNNI) or 64 (AVX-512)
// values of k per step, 2 rows × 4 columns; c = Σ (a + 128)·w − 128·Σ w.

static uint8_t *shifted_copy(const int8_t *a, size_t count) {
    uint8_t *u = malloc(count > 0 ? count : 1);
    if (u)
        for (size_t i = 0; i < count; i++) u[i] = (uint8_t)((int)a[i] + 128);
    return u;
}

__attribute__((target("avx2,avxvnni"))) static int s8_gemm_avxvnni(const int8_t *a, const int8_t *w,
                                                                   const int32_t *w_sums, size_t m, size_t n,
                                                                   size_t kp, int32_t *c, size_t ldc) {
    uint8_t *u = shifted_copy(a, m * kp);
    if (!u) return 1;
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            __m256i acc = _mm256_setzero_si256();
            size_t p = 0;
            for (; p + 32 <= kp; p += 32)
                acc = _mm256_dpbusd_avx_epi32(acc, _mm256_loadu_si256((const __m256i *)(u + i * kp + p)),
                                              _mm256_loadu_si256((const __m256i *)(w + j * kp + p)));
            int32_t sum = hsum_avx2(acc);
            for (; p < kp; p++) sum += (int32_t)u[i * kp + p] * (int32_t)w[j * kp + p];
            c[i * ldc + j] = sum - 128 * w_sums[j];
        }
    }
    free(u);
    return 0;
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) static int s8_gemm_avx512vnni(
    const int8_t *a, const int8_t *w, const int32_t *w_sums, size_t m, size_t n, size_t kp, int32_t *c, size_t ldc) {
    uint8_t *u = shifted_copy(a, m * kp);
    if (!u) return 1;
    for (size_t j = 0; j < n; j++) {
        for (size_t i = 0; i < m; i++) {
            __m512i acc = _mm512_setzero_si512();
            size_t p = 0;
            for (; p + 64 <= kp; p += 64)
                acc = _mm512_dpbusd_epi32(acc, _mm512_loadu_si512(u + i * kp + p), _mm512_loadu_si512(w + j * kp + p));
            int32_t sum = _mm512_reduce_add_epi32(acc);
            for (; p < kp; p++) sum += (int32_t)u[i * kp + p] * (int32_t)w[j * kp + p];
            c[i * ldc + j] = sum - 128 * w_sums[j];
        }
    }
    free(u);
    return 0;
}

#endif

// ---------------------------------------------------------------------------------------------------------------
// Dispatch

int mh_s8_path_supported(int path) {
    switch (path) {
    case MH_S8_REFERENCE: return 1;
#ifdef MH_X86
    case MH_S8_AVX2: return __builtin_cpu_supports("avx2");
    case MH_S8_AVXVNNI: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avxvnni");
    case MH_S8_AVX512VNNI:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vnni");
#endif
    default: return 0;
    }
}

int mh_s8_best_path(void) {
    static const int order[] = {MH_S8_AVX512VNNI, MH_S8_AVXVNNI, MH_S8_AVX2};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (mh_s8_path_supported(order[i])) return order[i];
    return MH_S8_REFERENCE;
}

int mh_s8_gemm(int path, const int8_t *a, const int8_t *w, const int32_t *w_sums, size_t m, size_t n, size_t kp,
               int32_t *c, size_t ldc) {
    if (kp % 16 != 0 || !mh_s8_path_supported(path)) return 2;
    switch (path) {
#ifdef MH_X86
    case MH_S8_AVX2: s8_gemm_avx2(a, w, w_sums, m, n, kp, c, ldc); return 0;
    case MH_S8_AVXVNNI: return s8_gemm_avxvnni(a, w, w_sums, m, n, kp, c, ldc);
    case MH_S8_AVX512VNNI: return s8_gemm_avx512vnni(a, w, w_sums, m, n, kp, c, ldc);
#endif
    default: s8_gemm_reference(a, w, w_sums, m, n, kp, c, ldc); return 0;
    }
}

void mh_s8_dequantize(const int32_t *c, const float *a_scales, const float *w_scales, const float *bias, size_t m,
                      size_t n, float *y) {
    for (size_t i = 0; i < m; i++) {
        float sa = a_scales[i];
        for (size_t j = 0; j < n; j++) {
            float v = (float)c[i * n + j] * (sa * w_scales[j]);
            y[i * n + j] = bias ? v + bias[j] : v;
        }
    }
}
