// Hand-written kernels for LEONARDO's decoder where OpenBLAS's shapes are poor (docs/results.md, "Speed").
// Each has a plain C reference (`level` 0) beside the SIMD versions; the fastest one the CPU supports is chosen at
// run time, so the package is still built for baseline x86-64 and runs on any machine.
#ifndef LEONARDO_KERNELS_H
#define LEONARDO_KERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// Kernel levels: 0 portable C, 1 AVX2 + FMA, 2 AVX-512F. `lk_best_level` is the highest the CPU runs.
int lk_best_level(void);

/// Keys per block of the packed key matrix: scratch rows are padded to a multiple of it.
#define LK_KEY_BLOCK 16
/// Queries handled together by one pass over the keys.
#define LK_QUERY_TILE 6

/// Floats of scratch `lk_attention_head` needs for a head of T keys and width D.
long lk_attention_scratch(int length, int head_dim);

/// One attention head, fused: ctx_i = sum_j softmax_j(scale * q_i . k_j) v_j for the T queries i.
/// q, k and v are T rows of width D, `stride` floats apart (one head's columns of the projections); ctx is T rows
/// `ctx_stride` apart. `scratch` holds `lk_attention_scratch(T, D)` floats. `level` picks the implementation
/// (clamped to what the CPU runs); the score rows of a query tile stay in L1, nothing T x T is ever written.
void lk_attention_head(const float *q, const float *k, const float *v, int stride, float *ctx, int ctx_stride,
                       int length, int head_dim, float scale, float *scratch, int level);

/// Row stride of the probabilities a training forward keeps for a head of T keys (T rounded up to LK_KEY_BLOCK).
int lk_attention_probs_stride(int length);

/// Floats of one head's kept probabilities: rows for T rounded up to LK_QUERY_TILE, `lk_attention_probs_stride` each.
long lk_attention_probs_size(int length);

/// `lk_attention_head` for training: the same ctx, and the softmax probabilities of every query written to `probs`
/// (row i at i * lk_attention_probs_stride(T), the padded keys 0; `lk_attention_probs_size(T)` floats, the rows past
/// T are scratch) for `lk_attention_head_backward`.
void lk_attention_head_train(const float *q, const float *k, const float *v, int stride, float *ctx, int ctx_stride,
                             int length, int head_dim, float scale, float *probs, float *scratch, int level);

/// Floats of scratch `lk_attention_head_backward` needs for a head of T keys and width D.
long lk_attention_backward_scratch(int length, int head_dim);

/// The backward pass of one head from the probabilities of `lk_attention_head_train`: given dout (T rows
/// `dout_stride` apart, the gradient of ctx), writes dq, dk and dv (T rows `grad_stride` apart, overwritten) for
/// scores scale * q_i . k_j. q, k, v as in the forward call. Level 2 (AVX-512F) for head_dim <= 16; otherwise the
/// plain C reference.
void lk_attention_head_backward(const float *q, const float *k, const float *v, int stride, const float *probs,
                                const float *dout, int dout_stride, float *dq, float *dk, float *dv, int grad_stride,
                                int length, int head_dim, float scale, float *scratch, int level);

/// y[r][o] = bias[o] + sum_i x[r][i] * w[o][i] for r < rows and o in [out_begin, out_end): a linear layer on few
/// rows (a small decoder batch), reading each weight row once while it serves every row of x, where a GEMM would
/// first copy the whole weight into its packed layout. x is rows x in, w is out x in (PyTorch layout), y rows x
/// `ldy`; `bias` may be NULL.
void lk_linear_few_rows(const float *x, int rows, int in, const float *w, const float *bias, float *y, int ldy,
                        int out_begin, int out_end, int level);

/// Outputs per tile of the sparse-input weight layout (`lk_sparse_input_arrange`).
#define LK_SPARSE_TILE 256

/// Floats of the sparse-input layout of an out x in weight: ceil(out / LK_SPARSE_TILE) tiles of in x LK_SPARSE_TILE.
long lk_sparse_input_weights_size(int in, int out);

/// Rearranges w (out x in, PyTorch layout) into wb (`lk_sparse_input_weights_size` floats): tile t holds, for every
/// input i, the LK_SPARSE_TILE weights w[t * LK_SPARSE_TILE + c][i] contiguously (outputs past `out` zero).
void lk_sparse_input_arrange(const float *w, int in, int out, float *wb);

/// y[r][o] = bias[o] + sum over i with x[r][i] != 0 of x[r][i] * w[o][i], for r < rows and the outputs of tiles
/// [tile_begin, tile_end): a linear layer whose input is mostly zero (a ReLU's output), each row reading only the
/// weight columns of its nonzero inputs from wb (`lk_sparse_input_arrange`), tile by tile so that a tile serves
/// every row from L2. x is rows x in, y rows `ldy` apart; `values` and `indices` are scratch of rows x in entries
/// each (the nonzero inputs, gathered per call). Each row sums bias first, then its nonzero inputs in increasing i by
/// one fused multiply-add each, at every level: bit-identical across levels and whatever rows share the call
/// (another order than `lk_linear_few_rows`). `bias` may be NULL.
void lk_linear_sparse_input(const float *x, int rows, int in, const float *wb, int out, const float *bias, float *y,
                            int ldy, int tile_begin, int tile_end, float *values, int *indices, int level);

/// y[r][o] = bias[o] + sum_i a[r * lda + i] * w[o][i] for r < rows, o < out: the few-rows dot products of
/// `lk_linear_few_rows` over rows `lda` floats apart that may overlap (windows), w out x depth. `lk_gemm_rows` hands
/// products with at most four outputs (conv_out's two channels) to it, where its tiles of 16 output lanes would be
/// mostly empty.
void lk_dot_windows(const float *a, int lda, int rows, int depth, const float *w, int out, const float *bias,
                    float *y, int ldy, int level);

/// y[r][o] = bias[o] + sum_i a[r * lda + i] * b[i][o] for r < rows, i < depth, o < out: a product whose left rows
/// may overlap (lda < depth), so a 1-D convolution over channels-last rows is one call on the zero-padded input,
/// each output row reading its window of K input rows in place of an im2col copy. b is depth x out, row-major;
/// y rows are `ldy` apart; `bias` may be NULL. Six rows by up to 64 (AVX-512) or 16 (AVX2) outputs per pass.
void lk_gemm_windows(const float *a, int lda, int rows, int depth, const float *b, int out, const float *bias,
                     float *y, int ldy, int level);

/// y[r][o] = act(bias[o] + sum_i a[r * lda + i] * b[i][o] + residual[r * ldr + o]): `lk_gemm_windows` with the
/// layer's epilogue fused into the tile's store, the decoder's dense layers on many rows (lda = depth, b the
/// transposed weight). `residual` may be NULL; act is ReLU when `relu` is non-zero (max(0, v), NaN kept), else none.
void lk_gemm_rows(const float *a, int lda, int rows, int depth, const float *b, int out, const float *bias,
                  const float *residual, int ldr, int relu, float *y, int ldy, int level);

/// y[r] = (x[r] - mean) / sqrt(var + eps) * gamma + beta for each of `rows` rows of width C (layer normalisation,
/// biased variance as PyTorch), two passes per row with 16- or 8-lane partial sums.
void lk_layer_norm_rows(const float *x, float *y, int rows, int C, const float *gamma, const float *beta, float eps,
                        int level);

/// A region's work for one worker: `fn(ctx, worker)`.
typedef void (*lk_pool_task)(void *ctx, long worker);

/// Runs fn(ctx, w) for w in [0, workers), worker 0 on the calling thread and the others on the pool's helper
/// threads (started on first use, spinning for the next region for 0.2 ms after each before they park), and returns
/// 1 once all have finished. Returns 0 without running anything when the pool is busy with another region (another
/// thread's, or a call from inside a region) or its threads cannot be started: the caller then runs the work itself.
int lk_pool_run(long workers, lk_pool_task fn, void *ctx);

#ifdef __cplusplus
}
#endif

#endif
