// Single-stage kernels for the checkasm-style harness (crates/cuda/tests):
// each runs one device function of a stage on many inputs so that the tests
// can compare it with the CPU function it mirrors.

// Transform stage. `op` selects the function; each case is 16 ints in and 17
// out (16 values and a flag). Scalar forms: one thread per case. Lane forms:
// one half warp per case.
#define CHECK_FORWARD 0
#define CHECK_QUANT 1
#define CHECK_DEQUANT 2
#define CHECK_INVERSE 3
#define CHECK_SATD 4
#define CHECK_LUMA_DC_FWD 5
#define CHECK_LUMA_DC_INV 6
#define CHECK_CHROMA_DC_FWD 7
#define CHECK_CHROMA_DC_INV 8

extern "C" __global__ void check_transform(const int *in, int *out, int n, int op, int qp, int flag) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    int b[16], r[16];
    for (int k = 0; k < 16; k++) b[k] = in[i * 16 + k], r[k] = 0;
    int ok = 1;
    switch (op) {
    case CHECK_FORWARD: forward4x4(b); for (int k = 0; k < 16; k++) r[k] = b[k]; break;
    case CHECK_QUANT: quant4x4(b, qp, flag != 0); for (int k = 0; k < 16; k++) r[k] = b[k]; break;
    case CHECK_DEQUANT: dequant4x4(b, qp, flag != 0, r); break;
    case CHECK_INVERSE: ok = inverse4x4(b, r); break;
    case CHECK_SATD: r[0] = (int)satd4x4(b); break;
    case CHECK_LUMA_DC_FWD: forward_quant_luma_dc(b, qp, r); break;
    case CHECK_LUMA_DC_INV: ok = inverse_luma_dc(b, qp, r); break;
    case CHECK_CHROMA_DC_FWD: forward_quant_chroma_dc(b, chroma_qp(qp), r); break;
    case CHECK_CHROMA_DC_INV: ok = inverse_chroma_dc(b, chroma_qp(qp), r); break;
    }
    for (int k = 0; k < 16; k++) out[i * 17 + k] = r[k];
    out[i * 17 + 16] = ok;
}

// The half-warp forms of the same operations (forward, quant, dequant,
// inverse, satd); blocks of 32 threads, two cases per warp.
extern "C" __global__ void check_transform_lane(const int *in, int *out, int n, int op, int qp, int flag) {
    int i = blockIdx.x * 2 + (threadIdx.x >> 4);
    int pos = threadIdx.x & 15;
    int ci = i < n ? i : n - 1; // every lane takes part in the shuffles
    int v = in[ci * 16 + pos], r = 0, ok = 1;
    switch (op) {
    case CHECK_FORWARD: r = forward4x4_lane(v); break;
    case CHECK_QUANT: r = quant_lane(v, qp, flag != 0); break;
    case CHECK_DEQUANT: r = dequant_lane(v, qp, flag != 0); break;
    case CHECK_INVERSE: ok = inverse4x4_lane(v, &r); break;
    case CHECK_SATD: r = (int)satd4x4_lane(v); break;
    }
    if (i >= n) return;
    out[i * 17 + pos] = r;
    if (pos == 0) out[i * 17 + 16] = ok;
}

// Intra prediction. Each case: edge values and availability in `in`
// (layout below), the prediction in `out`.
//   kind 0 (4x4):   in = e[13], avail bits, mode          -> 16 samples
//   kind 1 (16x16): in = top[16], left[16], corner, avail, mode -> 256 samples
//   kind 2 (chroma): in = top[8], left[8], corner, avail, mode  -> 64 samples
// avail bits: 1 left, 2 top, 4 top-left, 8 top-right.
__device__ Avail avail_from_bits(int bits) {
    Avail a;
    a.left = bits & 1, a.top = (bits >> 1) & 1, a.top_left = (bits >> 2) & 1, a.top_right = (bits >> 3) & 1;
    return a;
}

extern "C" __global__ void check_predict(const int *in, int *out, int n, int kind) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    if (kind == 0) {
        const int *c = in + i * 15;
        Avail a = avail_from_bits(c[13]);
        for (int p = 0; p < 16; p++) out[i * 16 + p] = predict4x4_sample(c[14], c, a, p);
    } else if (kind == 1) {
        const int *c = in + i * 35;
        Avail a = avail_from_bits(c[33]);
        int pa, pb, pc;
        plane_params(c, c + 16, c[32], 16, &pa, &pb, &pc);
        int dc = dc16x16(c, c + 16, a);
        for (int p = 0; p < 256; p++)
            out[i * 256 + p] = predict16x16_sample(c[34], c, c + 16, dc, pa, pb, pc, p % 16, p / 16);
    } else {
        const int *c = in + i * 19;
        Avail a = avail_from_bits(c[17]);
        int pa, pb, pc;
        plane_params(c, c + 8, c[16], 8, &pa, &pb, &pc);
        for (int p = 0; p < 64; p++)
            out[i * 64 + p] = predict_chroma_sample(c[18], c, c + 8, a, pa, pb, pc, p % 8, p / 8);
    }
}

// CAVLC residual blocks. Each case: 16 levels, len, nc (-1 chroma DC).
// out per case: [0] bit count (-1 when not codable), [1] bound (-1 when not
// codable), [2..] the bits as big-endian words (up to 32 words).
extern "C" __global__ void check_cavlc(const int *in, int *out, int n) {
    __shared__ LenTables tables;
    load_len_tables(tables, threadIdx.x, blockDim.x);
    __syncthreads();
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const int *c = in + i * 18;
    i16 levels[16];
    for (int k = 0; k < 16; k++) levels[k] = (i16)c[k];
    int len = c[16], nc = c[17];
    int *o = out + i * 34;
    CodedBlock b;
    analyse_block(levels, len, b);
    if (!block_codable(b)) {
        o[0] = -1;
        o[1] = residual_block_bits_bound(levels, len, nc == TABLE_CHROMA_DC, tables);
        return;
    }
    u32 words[32];
    for (int k = 0; k < 32; k++) words[k] = 0;
    BitWriter w = {words, 0, 0, 0};
    write_residual_block(w, levels, len, nc);
    w.flush();
    o[0] = (int)w.bits;
    o[1] = residual_block_bits_bound(levels, len, nc == TABLE_CHROMA_DC, tables);
    for (int k = 0; k < 32; k++) o[2 + k] = (int)words[k];
}

// Motion compensation (inter.cu). Each case: kind (0 luma, 1 Cb, 2 Cr), x,
// y (the block's top-left sample in its plane), mv0, mv1 (quarter luma
// samples) -> the 4x4 predicted block. `planes` and `ref` as p_inter takes them.
extern "C" __global__ void check_mc(const int *in, int *out, int n, const u8 *planes, const u8 *ref, int wm, int hm,
                                    long long plane_bytes) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const int *c = in + i * 5;
    RefView r = ref_view(planes, plane_bytes, ref, wm, hm);
    for (int p = 0; p < 16; p++) {
        int x = c[1] + p % 4, y = c[2] + p / 4;
        out[i * 16 + p] = c[0] == 0 ? predict_luma_sample(r, x, y, c[3], c[4])
                                    : predict_chroma_sample(r, c[0] - 1, x, y, c[3], c[4]);
    }
}

// Search costs (me_eval). Each case: mb_x, mb_y, part, idx, pred0, pred1,
// lambda, sad, c0, c1 -> the cost (SAD at whole-sample (c0, c1) or SATD at
// quarter-sample (c0, c1), + lambda * bits). One warp per case.
extern "C" __global__ void check_me_cost(const int *in, int *out, int n, const u8 *src, const u8 *planes, int wm,
                                         int hm, long long plane_bytes) {
    __shared__ MeScratch scratch;
    int i = blockIdx.x;
    if (i >= n) return;
    const int *c = in + i * 10;
    int W = wm * 16, H = hm * 16;
    RefView r = ref_view(planes, plane_bytes, 0, wm, hm);
    for (int k = threadIdx.x; k < 256; k += 32) scratch.src[k] = src[(size_t)(c[1] * 16 + k / 16) * W + c[0] * 16 + k % 16];
    MeBlock b = me_block(c[0], c[1], c[2], c[3], W, H, c[4], c[5], (u32)c[6]);
    if (threadIdx.x == 0) scratch.cand[0][0] = c[8], scratch.cand[0][1] = c[9];
    __syncwarp();
    me_eval(scratch, b, r, 1, 1u, c[7] != 0);
    if (threadIdx.x == 0) out[i] = (int)scratch.cost[0];
}
