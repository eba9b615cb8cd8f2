// Element-wise float32 kernels the Swift side calls on contiguous buffers: GELU (exact, and its tanh form) with
// their derivatives, and softmax rows. Plain loops over polynomial approximations (no libm calls), so the compiler
// vectorizes them; each is built for AVX-512, AVX2 and baseline x86-64 and picked at run time (target_clones).
#ifndef MODELHUB_CKERNELS_H
#define MODELHUB_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// y = x·Φ(x) = ½x(1 + erf(x/√2)).
void mh_gelu(const float *x, float *y, size_t n);
/// dx = dy · (Φ(x) + x·φ(x)).
void mh_gelu_backward(const float *x, const float *dy, float *dx, size_t n);
/// y = ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (GPT-2's gelu_new).
void mh_gelu_tanh(const float *x, float *y, size_t n);
/// dx = dy · d/dx of mh_gelu_tanh.
void mh_gelu_tanh_backward(const float *x, const float *dy, float *dx, size_t n);
/// Softmax (or log-softmax when `log` is non-zero) of `rows` contiguous rows of `n` values.
void mh_softmax_rows(const float *x, float *y, size_t rows, size_t n, int log);

/// Softmax's backward over `rows` rows of `n`, from the output y and its gradient g: dx = y·(g − Σ g·y), or for
/// log-softmax dx = g − e^y·Σ g.
void mh_softmax_backward_rows(const float *y, const float *g, float *dx, size_t rows, size_t n, int log);

/// Cross-entropy of `rows` rows of `classes` logits against `labels` (rows labelled `ignore` are skipped): writes
/// each counted row's log-sum-exp to `lse` and its loss lse − (1 − ε)·x[label] − (ε/classes)·Σx to `loss` (0 for
/// skipped rows). Labels must be in range.
void mh_cross_entropy_rows(const float *x, size_t rows, size_t classes, const ptrdiff_t *labels, ptrdiff_t ignore,
                           float smoothing, double *lse, double *loss);
/// Its gradient: dx = (e^(x − lse) − ε/classes)·scale, minus (1 − ε)·scale at the label; 0 on skipped rows.
void mh_cross_entropy_backward(const float *x, size_t rows, size_t classes, const ptrdiff_t *labels,
                               ptrdiff_t ignore, const double *lse, float smoothing, float scale, float *dx);

/// Layer norm of `rows` rows of `n`: xhat = (x − mean)·rstd, y = xhat·w + b (w, b may be NULL: 1 and 0); writes
/// xhat and each row's rstd = 1/√(var + eps) for the backward.
void mh_layer_norm(const float *x, const float *w, const float *b, float *y, float *xhat, float *rstd, size_t rows,
                   size_t n, float eps);
/// The layer norm's backward: dx = (ĝ − mean ĝ − xhat·mean(ĝ·xhat))·rstd with ĝ = g·w; dw += Σ g·xhat and
/// db += Σ g over the rows (dw, db may be NULL; they are added to, so start them at zero).
void mh_layer_norm_backward(const float *g, const float *xhat, const float *rstd, const float *w, float *dx,
                            float *dw, float *db, size_t rows, size_t n);

/// Sums of the `n` columns of `rows` contiguous rows into `out`, accumulated in double (a bias gradient: the sum of
/// [rows, n] over its rows).
void mh_column_sums(const float *x, size_t rows, size_t n, float *out);

/// The sum of the squares of `n` floats: float32 in 16 lanes over blocks of 1024, the blocks added in double (a
/// gradient norm; a single float accumulator would neither vectorize nor keep the precision over millions).
double mh_sum_squares(const float *x, size_t n);

/// Copies the non-zero rows of `rows` × `columns` floats from `source` to `destination` and zeros the destination
/// rows `mask` marks (> 0) that are zero in `source`; other rows are not written. On return `mask[r]` is 1 where
/// source row r holds a non-zero value, else 0. An embedding's gradient touches only the rows of a batch's tokens:
/// with the previous step's mask on entry, a destination that held that step's rows gets this step's.
void mh_copy_rows_marking(const float *source, float *destination, size_t rows, size_t columns, float *mask);

/// One Adam step over `n` parameters: d = g·scale + l2·p; m ← β₁m + (1−β₁)d; v ← β₂v + (1−β₂)d²;
/// p ← p·shrink − step·m / (√v / c2 + eps) (AdamW: l2 = 0, shrink = 1 − lr·λ; Adam: shrink = 1). `scale` is
/// gradient clipping's factor (1: none), applied as clipping would have scaled the gradient.
void mh_adam(float *p, const float *g, float *m, float *v, size_t n, float scale, float beta1, float beta2, float l2,
             float shrink, float step, float c2, float eps);

/// `batches` small products C[i] = alpha · A[i] · B[i] (attention's per-head products, where OpenBLAS spends much of
/// each call packing and waking its threads). A[i] is [m, k] at `a + a_offsets[i]` with element (r, p) at
/// r·a_row + p·a_col (any strides: a transpose is a stride swap); B[i] is [k, n] likewise; C[i] is [m, n],
/// contiguous, at `c + i·m·n`. Each B is first copied into a contiguous k × n panel (malloc'd scratch); returns
/// non-zero, having written nothing, if that allocation fails.
int mh_sgemm_batch(size_t batches, size_t m, size_t n, size_t k, float alpha, const float *a,
                   const ptrdiff_t *a_offsets, ptrdiff_t a_row, ptrdiff_t a_col, const float *b,
                   const ptrdiff_t *b_offsets, ptrdiff_t b_row, ptrdiff_t b_col, float *c);
/// The kernels behind mh_sgemm_batch: a plain reference (the oracle), the vector-extension one (8 × 32 blocks, run
/// as its AVX-512 clone where the CPU has AVX-512) and an AVX2 one (6 × 16 blocks, no spills).
enum { MH_BATCH_REFERENCE = 0, MH_BATCH_VECTORS = 1, MH_BATCH_AVX2 = 2 };
/// Whether this CPU can run `path`.
int mh_sgemm_batch_path_supported(int path);
/// mh_sgemm_batch through `path`; 2 (nothing written) for a path this CPU lacks.
int mh_sgemm_batch_with(int path, size_t batches, size_t m, size_t n, size_t k, float alpha, const float *a,
                        const ptrdiff_t *a_offsets, ptrdiff_t a_row, ptrdiff_t a_col, const float *b,
                        const ptrdiff_t *b_offsets, ptrdiff_t b_row, ptrdiff_t b_col, float *c);

// Int8 products (int8.c): A [M, Kp] and W [N, Kp] symmetric s8 rows, Kp = K rounded up to 32 with a zero tail.

/// The kernel paths of mh_s8_gemm; each equals the reference bit for bit.
enum { MH_S8_REFERENCE = 0, MH_S8_AVX2 = 1, MH_S8_AVXVNNI = 2, MH_S8_AVX512VNNI = 3 };

/// Quantizes `rows` rows of `k` floats per row, symmetric: scale = max|x| / limit, q = round-half-even(x / scale)
/// clamped to ±limit (127: every path takes all of s8), rows padded with zeros to `kp` values.
void mh_quantize_rows_s8(const float *x, size_t rows, size_t k, size_t kp, int8_t *q, float *scales, int limit);
/// The same by the plain loop (the oracle the vectorized one is tested against).
void mh_quantize_rows_s8_plain(const float *x, size_t rows, size_t k, size_t kp, int8_t *q, float *scales,
                               int limit);
/// Σk w[j, k] for each of the `n` rows of W (the VNNI paths' correction for their u8-shifted activations).
void mh_s8_row_sums(const int8_t *w, size_t n, size_t kp, int32_t *sums);
/// Whether this CPU can run `path`.
int mh_s8_path_supported(int path);
/// The fastest path this CPU has (AVX-512 VNNI, AVX-VNNI, AVX2, else the reference).
int mh_s8_best_path(void);
/// C[i·ldc + j] = Σ A[i, p]·W[j, p] in int32 over `kp` (a multiple of 32) through `path`; `w_sums` from
/// mh_s8_row_sums. Returns 0, 1 when scratch could not be allocated, 2 for a path this CPU lacks or a bad kp
/// (nothing written).
int mh_s8_gemm(int path, const int8_t *a, const int8_t *w, const int32_t *w_sums, size_t m, size_t n, size_t kp,
               int32_t *c, size_t ldc);
/// y[i, j] = C[i, j]·a_scales[i]·w_scales[j] (+ bias[j] when bias is not NULL).
void mh_s8_dequantize(const int32_t *c, const float *a_scales, const float *w_scales, const float *bias, size_t m,
                      size_t n, float *y);

// Half-precision weights (half.c): bf16 or f16 values, float32 arithmetic.

/// The half formats: bfloat16 (the top 16 bits of a float32) and IEEE binary16.
enum { MH_HALF_BF16 = 0, MH_HALF_F16 = 1 };

/// Whether the vectorized path (AVX2, FMA and F16C) runs on this CPU.
int mh_half_fast_path(void);
/// dst[i] = src[i] as float32 (exact), vectorized where the CPU allows.
void mh_half_to_f32(int format, const uint16_t *src, size_t n, float *dst);
/// dst[i] = src[i] rounded to the half format (nearest, ties to even; NaN → 0xFFFF in bf16, ±0x7E00 in f16, as
/// Support's HalfPrecision and PyTorch), vectorized where the CPU allows.
void mh_f32_to_half(int format, const float *src, size_t n, uint16_t *dst);
/// The plain loops of the two conversions (the oracles the vectorized ones are tested against).
void mh_half_to_f32_plain(int format, const uint16_t *src, size_t n, float *dst);
void mh_f32_to_half_plain(int format, const float *src, size_t n, uint16_t *dst);
/// y[i·ldy + j] = bias[j] + Σp x[i·k + p]·w[j·k + p] for `m` rows of x [m, k] and W [n, k] in half, products in
/// float32 (bias may be NULL). `fast` 0 forces the plain loop (the oracle); otherwise the AVX2 path where the CPU
/// has it. Meant for few rows (generation); batches convert W blocks and use sgemm. Returns 0, or 1 when scratch
/// for a long input could not be allocated (nothing written).
int mh_half_gemv(int fast, int format, const float *x, size_t m, size_t k, const uint16_t *w, size_t n,
                  const float *bias, float *y, size_t ldy);

/// y[i·ldy + j] = (accumulate ? y[i·ldy + j] : 0) + Σp x[i·k + p]·w[j·k + p] for `m` rows of x [m, k] and a
/// float32 W [n, k] (a Linear layer's weight): each weight row read once, straight from W — for a few rows (a short
/// sequence), where sgemm would pack all of W first. `fast` 0 forces the plain loop (the oracle).
void mh_sgemm_rows(int fast, const float *x, size_t m, size_t k, const float *w, size_t n, int accumulate, float *y,
                   size_t ldy);

/// Hands the C heap's free pages back to the system (glibc's malloc_trim; nothing elsewhere).
void mh_trim_heap(void);

#endif
