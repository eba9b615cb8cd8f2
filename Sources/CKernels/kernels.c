#include "CKernels.h"

#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#if defined(__x86_64__) && defined(__clang__) && defined(__linux__)
#define MH_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MH_CLONES
#endif

// exp(x) for float: 2^n · e^r with n = round(x·log2 e) and r = x − n·ln 2 (ln 2 in two parts), e^r by the Cephes
// polynomial (sse_mathfun's constants); relative error a few 1e-8. Inputs are clamped to the float range; NaN stays
// NaN.
static inline float mh_exp(float input) {
    float x = input > 88.3762626647949f ? 88.3762626647949f : input;
    x = x < -87.3365447504019f ? -87.3365447504019f : x;
    float n = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    // Below the float range e^x is 0 (e^−∞ = 0 exactly, as libm gives it: masked attention scores).
    return input < -87.3365447504019f ? 0.0f : y * scale;
}

// erf(x) for float: the rational approximation of Eigen and XLA (odd numerator of degree 13 over an even
// denominator of degree 8, on x clamped to [−4, 4], where erf is ±1 in float); absolute error about 1e-7.
static inline float mh_erf(float x) {
    x = x > 4.0f ? 4.0f : x;
    x = x < -4.0f ? -4.0f : x;
    float x2 = x * x;
    float p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 + -2.10102402082508e-06f;
    p = p * x2 + -5.69250639462346e-05f;
    p = p * x2 + -7.34990630326855e-04f;
    p = p * x2 + -2.95459980854025e-03f;
    p = p * x2 + -1.60960333262415e-02f;
    p = p * x;
    float q = -1.45660718464996e-05f;
    q = q * x2 + -2.13374055278905e-04f;
    q = q * x2 + -1.68282697438203e-03f;
    q = q * x2 + -7.37332916720468e-03f;
    q = q * x2 + -1.42647390514189e-02f;
    return p / q;
}

// tanh(u) = 1 − 2/(e^{2u} + 1), exact in the limits.
static inline float mh_tanh(float u) {
    float e = mh_exp(2.0f * u);
    return 1.0f - 2.0f / (e + 1.0f);
}

MH_CLONES void mh_gelu(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + mh_erf(x[i] * 0.70710678118654752f));
}

MH_CLONES void mh_gelu_backward(const float *x, const float *dy, float *dx, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float cdf = 0.5f * (1.0f + mh_erf(v * 0.70710678118654752f));
        float pdf = mh_exp(-0.5f * v * v) * 0.39894228040143268f;
        dx[i] = dy[i] * (cdf + v * pdf);
    }
}

MH_CLONES void mh_gelu_tanh(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = 0.5f * v * (1.0f + mh_tanh(0.79788456080286536f * (v + 0.044715f * v * v * v)));
    }
}

MH_CLONES void mh_gelu_tanh_backward(const float *x, const float *dy, float *dx, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float t = mh_tanh(0.79788456080286536f * (v + 0.044715f * v * v * v));
        float d = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * 0.79788456080286536f * (1.0f + 3.0f * 0.044715f * v * v);
        dx[i] = dy[i] * d;
    }
}

MH_CLONES void mh_softmax_rows(const float *x, float *y, size_t rows, size_t n, int log) {
    // Maxima and sums kept in 16 lanes: a single float accumulator would not vectorize (it would reorder the sum).
    enum { LANES = 16 };
    for (size_t row = 0; row < rows; row++) {
        const float *xr = x + row * n;
        float *yr = y + row * n;
        size_t body = n - n % LANES;
        float top[LANES];
        for (int k = 0; k < LANES; k++) top[k] = -INFINITY;
        for (size_t j = 0; j < body; j += LANES)
            for (int k = 0; k < LANES; k++) top[k] = xr[j + k] > top[k] ? xr[j + k] : top[k];
        float largest = -INFINITY;
        for (int k = 0; k < LANES; k++) largest = top[k] > largest ? top[k] : largest;
        for (size_t j = body; j < n; j++) largest = xr[j] > largest ? xr[j] : largest;
        // A row of −∞ only: every e^x is 0 and the result NaN, as PyTorch gives it.
        if (largest == -INFINITY) largest = 0;
        float sums[LANES] = {0};
        for (size_t j = 0; j < body; j += LANES)
            for (int k = 0; k < LANES; k++) {
                float e = mh_exp(xr[j + k] - largest);
                yr[j + k] = e;
                sums[k] += e;
            }
        float total = 0;
        for (int k = 0; k < LANES; k++) total += sums[k];
        for (size_t j = body; j < n; j++) {
            float e = mh_exp(xr[j] - largest);
            yr[j] = e;
            total += e;
        }
        if (log) {
            float shift = largest + logf(total);
            for (size_t j = 0; j < n; j++) yr[j] = xr[j] - shift;
        } else {
            float scale = 1.0f / total;
            for (size_t j = 0; j < n; j++) yr[j] *= scale;
        }
    }
}

// Sums of a row in 16 lanes (vectorizes; the lanes are added at the end).
static inline float mh_sum(const float *x, size_t n) {
    enum { LANES = 16 };
    float lanes[LANES] = {0};
    size_t body = n - n % LANES;
    for (size_t j = 0; j < body; j += LANES)
        for (int k = 0; k < LANES; k++) lanes[k] += x[j + k];
    float total = 0;
    for (int k = 0; k < LANES; k++) total += lanes[k];
    for (size_t j = body; j < n; j++) total += x[j];
    return total;
}

MH_CLONES void mh_softmax_backward_rows(const float *y, const float *g, float *dx, size_t rows, size_t n, int log) {
    enum { LANES = 16 };
    for (size_t row = 0; row < rows; row++) {
        const float *yr = y + row * n, *gr = g + row * n;
        float *dr = dx + row * n;
        float lanes[LANES] = {0};
        size_t body = n - n % LANES;
        for (size_t j = 0; j < body; j += LANES)
            for (int k = 0; k < LANES; k++) lanes[k] += log ? gr[j + k] : gr[j + k] * yr[j + k];
        float total = 0;
        for (int k = 0; k < LANES; k++) total += lanes[k];
        for (size_t j = body; j < n; j++) total += log ? gr[j] : gr[j] * yr[j];
        if (log) {
            for (size_t j = 0; j < n; j++) dr[j] = gr[j] - mh_exp(yr[j]) * total;
        } else {
            for (size_t j = 0; j < n; j++) dr[j] = yr[j] * (gr[j] - total);
        }
    }
}

MH_CLONES void mh_cross_entropy_rows(const float *x, size_t rows, size_t classes, const ptrdiff_t *labels,
                                     ptrdiff_t ignore, float smoothing, double *lse, double *loss) {
    enum { LANES = 16 };
    size_t body = classes - classes % LANES;
    for (size_t row = 0; row < rows; row++) {
        loss[row] = 0;
        lse[row] = 0;
        if (labels[row] == ignore) continue;
        const float *xr = x + row * classes;
        float top[LANES], sums[LANES] = {0}, plains[LANES] = {0};
        for (int k = 0; k < LANES; k++) top[k] = -INFINITY;
        for (size_t j = 0; j < body; j += LANES)
            for (int k = 0; k < LANES; k++) top[k] = xr[j + k] > top[k] ? xr[j + k] : top[k];
        float largest = -INFINITY;
        for (int k = 0; k < LANES; k++) largest = top[k] > largest ? top[k] : largest;
        for (size_t j = body; j < classes; j++) largest = xr[j] > largest ? xr[j] : largest;
        for (size_t j = 0; j < body; j += LANES)
            for (int k = 0; k < LANES; k++) {
                sums[k] += mh_exp(xr[j + k] - largest);
                plains[k] += xr[j + k];
            }
        float sum = 0, plain = 0;
        for (int k = 0; k < LANES; k++) {
            sum += sums[k];
            plain += plains[k];
        }
        for (size_t j = body; j < classes; j++) {
            sum += mh_exp(xr[j] - largest);
            plain += xr[j];
        }
        double row_lse = (double)largest + log((double)sum);
        lse[row] = row_lse;
        loss[row] = row_lse - (1.0 - smoothing) * (double)xr[labels[row]] - (double)smoothing / (double)classes * plain;
    }
}

MH_CLONES void mh_cross_entropy_backward(const float *x, size_t rows, size_t classes, const ptrdiff_t *labels,
                                         ptrdiff_t ignore, const double *lse, float smoothing, float scale,
                                         float *dx) {
    float uniform = smoothing / (float)classes;
    for (size_t row = 0; row < rows; row++) {
        const float *xr = x + row * classes;
        float *dr = dx + row * classes;
        if (labels[row] == ignore) {
            memset(dr, 0, classes * sizeof(float));
            continue;
        }
        float shift = (float)lse[row];
        for (size_t j = 0; j < classes; j++) dr[j] = (mh_exp(xr[j] - shift) - uniform) * scale;
        dr[labels[row]] -= (1.0f - smoothing) * scale;
    }
}

MH_CLONES void mh_layer_norm(const float *x, const float *w, const float *b, float *y, float *xhat, float *rstd,
                             size_t rows, size_t n, float eps) {
    for (size_t row = 0; row < rows; row++) {
        const float *xr = x + row * n;
        float *yr = y + row * n, *hr = xhat + row * n;
        float mean = mh_sum(xr, n) / (float)n;
        // Two passes (the centred squares), as accurate as the mean.
        for (size_t j = 0; j < n; j++) hr[j] = (xr[j] - mean) * (xr[j] - mean);
        float s = 1.0f / sqrtf(mh_sum(hr, n) / (float)n + eps);
        rstd[row] = s;
        for (size_t j = 0; j < n; j++) hr[j] = (xr[j] - mean) * s;
        // One loop per case: a per-element choice compiles to masked loads, slow on AMD (ModernBERT has no bias).
        if (w && b) {
            for (size_t j = 0; j < n; j++) yr[j] = hr[j] * w[j] + b[j];
        } else if (w) {
            for (size_t j = 0; j < n; j++) yr[j] = hr[j] * w[j];
        } else if (b) {
            for (size_t j = 0; j < n; j++) yr[j] = hr[j] + b[j];
        } else {
            memcpy(yr, hr, n * sizeof(float));
        }
    }
}

MH_CLONES void mh_layer_norm_backward(const float *g, const float *xhat, const float *rstd, const float *w, float *dx,
                                      float *dw, float *db, size_t rows, size_t n) {
    for (size_t row = 0; row < rows; row++) {
        const float *gr = g + row * n, *hr = xhat + row * n;
        float *dr = dx + row * n;
        // dr holds ĝ, then ĝ·xhat for the second mean, then the result.
        if (w) {
            for (size_t j = 0; j < n; j++) dr[j] = gr[j] * w[j];
        } else {
            memcpy(dr, gr, n * sizeof(float));
        }
        float a = mh_sum(dr, n) / (float)n;
        for (size_t j = 0; j < n; j++) dr[j] *= hr[j];
        float c = mh_sum(dr, n) / (float)n;
        float s = rstd[row];
        if (w) {
            for (size_t j = 0; j < n; j++) dr[j] = (gr[j] * w[j] - a - hr[j] * c) * s;
        } else {
            for (size_t j = 0; j < n; j++) dr[j] = (gr[j] - a - hr[j] * c) * s;
        }
        if (dw)
            for (size_t j = 0; j < n; j++) dw[j] += gr[j] * hr[j];
        if (db)
            for (size_t j = 0; j < n; j++) db[j] += gr[j];
    }
}

MH_CLONES void mh_column_sums(const float *x, size_t rows, size_t n, float *out) {
    // Column blocks of 512 doubles stay in L1 while every row adds to them.
    enum { BLOCK = 512 };
    double sums[BLOCK];
    for (size_t start = 0; start < n; start += BLOCK) {
        size_t width = n - start < BLOCK ? n - start : BLOCK;
        for (size_t j = 0; j < width; j++) sums[j] = 0;
        for (size_t row = 0; row < rows; row++) {
            const float *xr = x + row * n + start;
            for (size_t j = 0; j < width; j++) sums[j] += (double)xr[j];
        }
        for (size_t j = 0; j < width; j++) out[start + j] = (float)sums[j];
    }
}

MH_CLONES double mh_sum_squares(const float *x, size_t n) {
    enum { LANES = 16, BLOCK = 1024 };
    double total = 0;
    for (size_t start = 0; start < n; start += BLOCK) {
        size_t end = n - start < BLOCK ? n : start + BLOCK;
        float lanes[LANES] = {0};
        size_t i = start;
        for (; i + LANES <= end; i += LANES)
            for (size_t j = 0; j < LANES; j++) lanes[j] += x[i + j] * x[i + j];
        float block = 0;
        for (; i < end; i++) block += x[i] * x[i];
        for (size_t j = 0; j < LANES; j++) block += lanes[j];
        total += (double)block;
    }
    return total;
}

// no_builtin: clang would turn the row copies into memcpy calls, slower for rows of a few hundred floats.
__attribute__((no_builtin("memcpy", "memset"))) MH_CLONES void mh_copy_rows_marking(
    const float *restrict source, float *restrict destination, size_t rows, size_t columns, float *restrict mask) {
    for (size_t r = 0; r < rows; r++) {
        const float *in = source + r * columns;
        float *out = destination + r * columns;
        int any = 0;
        for (size_t j = 0; j < columns; j++) any |= in[j] != 0.0f;
        if (any) {
            for (size_t j = 0; j < columns; j++) out[j] = in[j];
        } else if (mask[r] > 0) {
            for (size_t j = 0; j < columns; j++) out[j] = 0;
        }
        mask[r] = any ? 1.0f : 0.0f;
    }
}

// restrict: the four buffers never overlap, and without it the loop is not vectorized. The square root is clang's
// element-wise builtin: sqrtf may set errno, which keeps the loop scalar (a libm call per element).
MH_CLONES void mh_adam(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, size_t n,
                       float scale, float beta1, float beta2, float l2, float shrink, float step, float c2, float eps) {
    for (size_t i = 0; i < n; i++) {
        float d = g[i] * scale + l2 * p[i];
        float mi = beta1 * m[i] + (1.0f - beta1) * d;
        float vi = beta2 * v[i] + (1.0f - beta2) * d * d;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * shrink - step * mi / (__builtin_elementwise_sqrt(vi) / c2 + eps);
    }
}

// 16 floats as one value: one zmm register with AVX-512, two ymm with AVX2. Loads and stores go through memcpy
// (unaligned, no aliasing assumptions); a scalar operand is splatted. The helpers are always inlined into the
// clones, so clang's warning about passing such vectors without AVX-512 (an ABI question) does not apply.
typedef float mh_v16 __attribute__((vector_size(64)));
#pragma clang diagnostic ignored "-Wpsabi"

static inline __attribute__((always_inline)) mh_v16 mh_load16(const float *p) {
    mh_v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline __attribute__((always_inline)) void mh_store16(float *p, mh_v16 v) { memcpy(p, &v, sizeof v); }

// C[i..i+R, j..j+32] = alpha · Σ_p A[i.., p] · panel[p, j..] for R = 8 (4 for the rows left over): 2R accumulators
// stay in registers; each step of p loads two panel vectors and R values of A for 2R fused multiply-adds, enough
// independent chains to cover the FMA latency.
#define MH_BLOCK(R)                                                                                                  \
    static inline __attribute__((always_inline)) void mh_block_##R##x32(                                             \
        size_t k, size_t n, float alpha, const float *a, ptrdiff_t a_row, ptrdiff_t a_col, const float *panel,       \
        float *c) {                                                                                                  \
        mh_v16 lo[R], hi[R];                                                                                         \
        for (int r = 0; r < R; r++) lo[r] = hi[r] = (mh_v16){0};                                                     \
        for (size_t p = 0; p < k; p++) {                                                                             \
            mh_v16 b0 = mh_load16(panel + p * n), b1 = mh_load16(panel + p * n + 16);                                \
            const float *ap = a + (ptrdiff_t)p * a_col;                                                              \
            for (int r = 0; r < R; r++) {                                                                            \
                float ar = ap[r * a_row];                                                                            \
                lo[r] += ar * b0;                                                                                    \
                hi[r] += ar * b1;                                                                                    \
            }                                                                                                        \
        }                                                                                                            \
        for (int r = 0; r < R; r++) {                                                                                \
            mh_store16(c + r * n, alpha * lo[r]);                                                                    \
            mh_store16(c + r * n + 16, alpha * hi[r]);                                                               \
        }                                                                                                            \
    }
MH_BLOCK(8)
MH_BLOCK(4)

// One row of C over columns [from, to), accumulated in place (rows and columns left over from the blocks).
static inline void mh_row(size_t k, size_t n, size_t from, size_t to, float alpha, const float *a, ptrdiff_t a_col,
                          const float *panel, float *c) {
    for (size_t j = from; j < to; j++) c[j] = 0;
    for (size_t p = 0; p < k; p++) {
        float ap = a[(ptrdiff_t)p * a_col];
        const float *bp = panel + p * n;
        for (size_t j = from; j < to; j++) c[j] += ap * bp[j];
    }
    for (size_t j = from; j < to; j++) c[j] *= alpha;
}

// Rows [i, i + R) of C: 32-column blocks, then the columns left over one row at a time.
#define MH_ROWS(R)                                                                                                   \
    for (; i + R <= m; i += R) {                                                                                     \
        const float *ai = ab + (ptrdiff_t)i * a_row;                                                                 \
        for (size_t j = 0; j < wide; j += 32)                                                                        \
            mh_block_##R##x32(k, n, alpha, ai, a_row, a_col, panel + j, cb + i * n + j);                             \
        for (size_t r = 0; r < R && wide < n; r++)                                                                   \
            mh_row(k, n, wide, n, alpha, ai + (ptrdiff_t)r * a_row, a_col, panel, cb + (i + r) * n);                 \
    }

// B[index] copied into a contiguous k × n panel, read along its contiguous axis (a transposed B, as Kᵀ in attention
// scores, is read row by row).
static inline void mh_pack_panel(float *panel, const float *bb, size_t k, size_t n, ptrdiff_t b_row, ptrdiff_t b_col) {
    if (b_col == 1) {
        for (size_t p = 0; p < k; p++) memcpy(panel + p * n, bb + (ptrdiff_t)p * b_row, n * sizeof(float));
    } else {
        for (size_t j = 0; j < n; j++)
            for (size_t p = 0; p < k; p++) panel[p * n + j] = bb[(ptrdiff_t)p * b_row + (ptrdiff_t)j * b_col];
    }
}

// The vector-extension kernel, 8 × 32 blocks: 16 zmm accumulators with AVX-512 (its clone is the one used there);
// with AVX2 the same source needs 32 ymm and spills, hence the kernel below.
MH_CLONES static int sgemm_batch_vectors(size_t batches, size_t m, size_t n, size_t k, float alpha, const float *a,
                                         const ptrdiff_t *a_offsets, ptrdiff_t a_row, ptrdiff_t a_col, const float *b,
                                         const ptrdiff_t *b_offsets, ptrdiff_t b_row, ptrdiff_t b_col, float *c) {
    float *panel = malloc((k * n > 0 ? k * n : 1) * sizeof(float));
    if (!panel) return 1;
    size_t wide = n - n % 32;
    for (size_t index = 0; index < batches; index++) {
        const float *ab = a + a_offsets[index];
        float *cb = c + index * m * n;
        mh_pack_panel(panel, b + b_offsets[index], k, n, b_row, b_col);
        size_t i = 0;
        MH_ROWS(8)
        MH_ROWS(4)
        for (; i < m; i++) mh_row(k, n, 0, n, alpha, ab + (ptrdiff_t)i * a_row, a_col, panel, cb + i * n);
    }
    free(panel);
    return 0;
}

// The oracle: every element summed over p in order, in float.
static int sgemm_batch_reference(size_t batches, size_t m, size_t n, size_t k, float alpha, const float *a,
                                 const ptrdiff_t *a_offsets, ptrdiff_t a_row, ptrdiff_t a_col, const float *b,
                                 const ptrdiff_t *b_offsets, ptrdiff_t b_row, ptrdiff_t b_col, float *c) {
    for (size_t index = 0; index < batches; index++) {
        const float *ab = a + a_offsets[index], *bb = b + b_offsets[index];
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++) {
                float sum = 0;
                for (size_t p = 0; p < k; p++)
                    sum += ab[(ptrdiff_t)i * a_row + (ptrdiff_t)p * a_col] * bb[(ptrdiff_t)p * b_row + (ptrdiff_t)j * b_col];
                c[index * m * n + i * n + j] = alpha * sum;
            }
    }
    return 0;
}

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

// AVX2: R rows × 16 columns, 2R ymm accumulators (12 for R = 6) plus two panel vectors and a broadcast — within the
// 16 registers, so nothing spills. Each step of p: 2 loads, R broadcasts, 2R fused multiply-adds.
#define MH_AVX2_BLOCK(R)                                                                                             \
    __attribute__((target("avx2,fma"))) static inline void mh_avx2_block_##R##x16(                                   \
        size_t k, size_t n, float alpha, const float *a, ptrdiff_t a_row, ptrdiff_t a_col, const float *panel,       \
        float *c) {                                                                                                  \
        __m256 lo[R], hi[R];                                                                                         \
        for (int r = 0; r < R; r++) lo[r] = hi[r] = _mm256_setzero_ps();                                             \
        for (size_t p = 0; p < k; p++) {                                                                             \
            __m256 b0 = _mm256_loadu_ps(panel + p * n), b1 = _mm256_loadu_ps(panel + p * n + 8);                     \
            const float *ap = a + (ptrdiff_t)p * a_col;                                                              \
            for (int r = 0; r < R; r++) {                                                                            \
                __m256 ar = _mm256_broadcast_ss(ap + r * a_row);                                                     \
                lo[r] = _mm256_fmadd_ps(ar, b0, lo[r]);                                                              \
                hi[r] = _mm256_fmadd_ps(ar, b1, hi[r]);                                                              \
            }                                                                                                        \
        }                                                                                                            \
        __m256 scale = _mm256_set1_ps(alpha);                                                                        \
        for (int r = 0; r < R; r++) {                                                                                \
            _mm256_storeu_ps(c + r * n, _mm256_mul_ps(scale, lo[r]));                                                \
            _mm256_storeu_ps(c + r * n + 8, _mm256_mul_ps(scale, hi[r]));                                            \
        }                                                                                                            \
    }
MH_AVX2_BLOCK(6)
MH_AVX2_BLOCK(3)
MH_AVX2_BLOCK(1)

#define MH_AVX2_ROWS(R)                                                                                              \
    for (; i + R <= m; i += R) {                                                                                     \
        const float *ai = ab + (ptrdiff_t)i * a_row;                                                                 \
        for (size_t j = 0; j < wide; j += 16)                                                                        \
            mh_avx2_block_##R##x16(k, n, alpha, ai, a_row, a_col, panel + j, cb + i * n + j);                        \
        for (size_t r = 0; r < R && wide < n; r++)                                                                   \
            mh_row(k, n, wide, n, alpha, ai + (ptrdiff_t)r * a_row, a_col, panel, cb + (i + r) * n);                 \
    }

__attribute__((target("avx2,fma"))) static int sgemm_batch_avx2(size_t batches, size_t m, size_t n, size_t k,
                                                                 float alpha, const float *a,
                                                                 const ptrdiff_t *a_offsets, ptrdiff_t a_row,
                                                                 ptrdiff_t a_col, const float *b,
                                                                 const ptrdiff_t *b_offsets, ptrdiff_t b_row,
                                                                 ptrdiff_t b_col, float *c) {
    float *panel = malloc((k * n > 0 ? k * n : 1) * sizeof(float));
    if (!panel) return 1;
    size_t wide = n - n % 16;
    for (size_t index = 0; index < batches; index++) {
        const float *ab = a + a_offsets[index];
        float *cb = c + index * m * n;
        mh_pack_panel(panel, b + b_offsets[index], k, n, b_row, b_col);
        size_t i = 0;
        MH_AVX2_ROWS(6)
        MH_AVX2_ROWS(3)
        MH_AVX2_ROWS(1)
    }
    free(panel);
    return 0;
}
#endif

int mh_sgemm_batch_path_supported(int path) {
    switch (path) {
    case MH_BATCH_REFERENCE:
    case MH_BATCH_VECTORS: return 1;
#if defined(__x86_64__) && defined(__clang__)
    case MH_BATCH_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    default: return 0;
    }
}

int mh_sgemm_batch_with(int path, size_t batches, size_t m, size_t n, size_t k, float alpha, const float *a,
                        const ptrdiff_t *a_offsets, ptrdiff_t a_row, ptrdiff_t a_col, const float *b,
                        const ptrdiff_t *b_offsets, ptrdiff_t b_row, ptrdiff_t b_col, float *c) {
    if (!mh_sgemm_batch_path_supported(path)) return 2;
    switch (path) {
    case MH_BATCH_REFERENCE:
        return sgemm_batch_reference(batches, m, n, k, alpha, a, a_offsets, a_row, a_col, b, b_offsets, b_row, b_col,
                                     c);
#if defined(__x86_64__) && defined(__clang__)
    case MH_BATCH_AVX2:
        return sgemm_batch_avx2(batches, m, n, k, alpha, a, a_offsets, a_row, a_col, b, b_offsets, b_row, b_col, c);
#endif
    default:
        return sgemm_batch_vectors(batches, m, n, k, alpha, a, a_offsets, a_row, a_col, b, b_offsets, b_row, b_col,
                                   c);
    }
}

int mh_sgemm_batch(size_t batches, size_t m, size_t n, size_t k, float alpha, const float *a,
                   const ptrdiff_t *a_offsets, ptrdiff_t a_row, ptrdiff_t a_col, const float *b,
                   const ptrdiff_t *b_offsets, ptrdiff_t b_row, ptrdiff_t b_col, float *c) {
#if defined(__x86_64__) && defined(__clang__)
    int avx512 = __builtin_cpu_supports("avx512f");
#else
    int avx512 = 0;
#endif
    // AVX-512: the vector-extension clone (8 × 32 in zmm); AVX2 alone: its own 6 × 16 kernel.
    int path = !avx512 && mh_sgemm_batch_path_supported(MH_BATCH_AVX2) ? MH_BATCH_AVX2 : MH_BATCH_VECTORS;
    return mh_sgemm_batch_with(path, batches, m, n, k, alpha, a, a_offsets, a_row, a_col, b, b_offsets, b_row, b_col,
                               c);
}

void mh_trim_heap(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}
