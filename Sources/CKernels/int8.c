// Int8 products for dynamically quantized linear layers: y[m, n] = sa[m]·sw[n]·Σk a[m, k]·w[n, k] + b[n], with
// a the activations quantized per row (per token) and w the weights per output channel, both symmetric s8 in
// [−127, 127]. Accumulation is exact in int32, so every path below equals the plain reference bit for bit.
//
// Shapes: A [M, Kp] s8 rows, W [N, Kp] s8 rows (Kp = K rounded up to 32, the tail zero), C [M, N].
// Paths, chosen at run time (mh_s8_path):
//   reference  plain C, the oracle;
//   avx2       s8 → s16 widening and vpmaddwd: exact for any s8 values (why not vpmaddubsw: see the kernel);
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

static void quantize_row(const float *row, size_t k, size_t kp, int8_t *out, float *scale, int limit) {
    float largest = 0;
    for (size_t i = 0; i < k; i++) {
        float v = fabsf(row[i]);
        largest = v > largest ? v : largest;
    }
    float inverse = largest > 0 ? (float)limit / largest : 0;
    for (size_t i = 0; i < k; i++) {
        float v = nearbyintf(row[i] * inverse);  // round half to even, as torch's quantize_per_channel
        v = v > limit ? limit : v < -limit ? -limit : v;
        out[i] = (int8_t)v;
    }
    memset(out + k, 0, kp - k);
    *scale = largest / (float)limit;
}

#ifdef MH_X86
// The same eight lanes at a time: the maximum over lanes, then vcvtps2dq (round half to even under the default
// rounding mode), clamped, packed to bytes; the tail through the plain loop's arithmetic.
__attribute__((target("avx2"))) static void quantize_row_avx2(const float *row, size_t k, size_t kp, int8_t *out,
                                                                float *scale, int limit) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 most = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= k; i += 8) most = _mm256_max_ps(most, _mm256_andnot_ps(sign, _mm256_loadu_ps(row + i)));
    float lanes[8];
    _mm256_storeu_ps(lanes, most);
    float largest = 0;
    for (int l = 0; l < 8; l++) largest = lanes[l] > largest ? lanes[l] : largest;
    for (; i < k; i++) largest = fabsf(row[i]) > largest ? fabsf(row[i]) : largest;
    float inverse = largest > 0 ? (float)limit / largest : 0;
    const __m256 factor = _mm256_set1_ps(inverse);
    const __m256i high = _mm256_set1_epi32(limit), low = _mm256_set1_epi32(-limit);
    i = 0;
    for (; i + 8 <= k; i += 8) {
        __m256i q = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(row + i), factor));
        q = _mm256_max_epi32(_mm256_min_epi32(q, high), low);
        __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
        _mm_storel_epi64((__m128i *)(out + i), _mm_packs_epi16(words, words));
    }
    for (; i < k; i++) {
        float v = nearbyintf(row[i] * inverse);
        v = v > limit ? limit : v < -limit ? -limit : v;
        out[i] = (int8_t)v;
    }
    memset(out + k, 0, kp - k);
    *scale = largest / (float)limit;
}
#endif

void mh_quantize_rows_s8_plain(const float *x, size_t rows, size_t k, size_t kp, int8_t *q, float *scales,
                               int limit) {
    for (size_t r = 0; r < rows; r++) quantize_row(x + r * k, k, kp, q + r * kp, scales + r, limit);
}

void mh_quantize_rows_s8(const float *x, size_t rows, size_t k, size_t kp, int8_t *q, float *scales, int limit) {
#ifdef MH_X86
    int fast = __builtin_cpu_supports("avx2");
#endif
    for (size_t r = 0; r < rows; r++) {
#ifdef MH_X86
        if (fast) {
            quantize_row_avx2(x + r * k, k, kp, q + r * kp, scales + r, limit);
            continue;
        }
#endif
        quantize_row(x + r * k, k, kp, q + r * kp, scales + r, limit);
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
// AVX2: both operands widened to s16 (vpmovsxbw) and multiplied by vpmaddwd, which adds pairs into int32: exact for
// all s8 values. (vpmaddubsw is denser, but it adds pairs of u8·s8 products into a saturating s16; keeping either
// operand to 7 bits to avoid that cost all-MiniLM-L6-v2 cosines down to 0.971 / 0.983 against float32 — below the
// 0.99 bound — so this path stays with 8 bits.) 16 values of k per step.

__attribute__((target("avx2"))) static inline int32_t hsum_avx2(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

__attribute__((target("avx2"))) static inline __m256i widen(const int8_t *p) {
    return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)p));
}

// Two rows × six columns of dot products at a time: 12 accumulators of 8 int32, 8 conversions per 12 multiplies.
// (Measured and dropped: the activations widened once into s16 scratch and read as vpmaddwd's memory operand, four
// rows × three columns, with or without 64-row blocks: 0.9–1.0× float32's rate against 1.1–1.5× for this.)
__attribute__((target("avx2"))) static int s8_gemm_avx2(const int8_t *a, const int8_t *w, const int32_t *w_sums,
                                                          size_t m, size_t n, size_t kp, int32_t *c, size_t ldc) {
    (void)w_sums;
    if (m == 1) {
        // One row (a generation step) is bound by reading W: one weight row at a time, start to end, is a single
        // stream the hardware prefetcher follows (on GPT-2's LM head, 1 × 768 → 50257: 38–41 GOP/s with six rows
        // interleaved, 48–65 this way).
        for (size_t j = 0; j < n; j++) {
            const int8_t *wj = w + j * kp;
            __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0;
            for (size_t p = 0; p < kp; p += 32) {
                acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(widen(a + p), widen(wj + p)));
                acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(widen(a + p + 16), widen(wj + p + 16)));
            }
            c[j] = hsum_avx2(_mm256_add_epi32(acc0, acc1));
        }
        return 0;
    }
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
            for (size_t p = 0; p < kp; p += 16)
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(widen(a0 + p), widen(w0 + p)));
            c[i * ldc + j] = hsum_avx2(acc);
        }
    }
    return 0;
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
    if (kp % 32 != 0 || !mh_s8_path_supported(path)) return 2;
    switch (path) {
#ifdef MH_X86
    case MH_S8_AVX2: return s8_gemm_avx2(a, w, w_sums, m, n, kp, c, ldc);
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
