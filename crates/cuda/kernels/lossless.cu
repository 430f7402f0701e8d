// Lossless intra macroblocks (avc::lossless::code_intra_mb_lossless):
// transform bypass with QP'Y = 0 (qpprime_y_zero_transform_bypass_flag),
// the residual sent as the levels themselves (8.5.12: r = c) with the DPCM
// of 8.5.15 after horizontal and vertical prediction.
//
// Every lossless macroblock reconstructs to its source, so the neighbours a
// macroblock predicts from are source samples: unlike the lossy intra
// wavefront, all macroblocks are coded at once, one warp each.

// Residual DPCM direction (8.5.15): 0 none, 1 vertical (each row minus the
// row above), 2 horizontal (each column minus the column to its left).
#define DPCM_NONE 0
#define DPCM_VERTICAL 1
#define DPCM_HORIZONTAL 2

// Intra4x4 vertical (0) and horizontal (1) carry the DPCM (8.5.15).
__device__ __forceinline__ int i4_dpcm(int mode) {
    return mode == 0 ? DPCM_VERTICAL : (mode == 1 ? DPCM_HORIZONTAL : DPCM_NONE);
}

// Chroma horizontal (1) and vertical (2) carry the DPCM (8.5.15).
__device__ __forceinline__ int chroma_dpcm(int mode) {
    return mode == 2 ? DPCM_VERTICAL : (mode == 1 ? DPCM_HORIZONTAL : DPCM_NONE);
}

// The levels 8.5.15 turns back into the w x h raster residual `r`.
__device__ __forceinline__ int dpcm_level(const int *r, int w, int x, int y, int dpcm) {
    int v = r[y * w + x];
    if (dpcm == DPCM_VERTICAL && y > 0) return v - r[(y - 1) * w + x];
    if (dpcm == DPCM_HORIZONTAL && x > 0) return v - r[y * w + x - 1];
    return v;
}

// The 13 edge values of 4x4 block `blk` (e[3 - y] = p[-1, y], e[4] =
// p[-1, -1], e[5 + x] = p[x, -1]) from s.ry, as avc::intra::Edge4::gather.
__device__ void lossless_i4_edge(const Scratch &s, const MbCtx &m, int blk, Avail *out, int *e) {
    int bx = luma_block_x(blk), by = luma_block_y(blk);
    Avail a = i4_block_avail(m, blk);
    for (int pos = 0; pos < 13; pos++) e[pos] = i4_edge_sample(s, bx, by, a, pos);
    *out = a;
}

// Lane `blk` < 16 chooses the Intra4x4 mode of its block with the fewest
// absolute levels (the first such mode) and stores its levels in scan order.
__device__ void lossless_i4_block(Scratch &s, const MbCtx &m, int blk) {
    int bx = luma_block_x(blk), by = luma_block_y(blk);
    int e[13], src[16], d[16];
    Avail a;
    lossless_i4_edge(s, m, blk, &a, e);
    for (int p = 0; p < 16; p++) src[p] = s.src_y[(by + p / 4) * 16 + bx + p % 4];
    int dc = dc4x4(e, a);
    u32 best_cost = 0xffffffffu;
    int best_mode = 0;
    for (int mode = 0; mode < 9; mode++) {
        if (!i4_mode_allowed(mode, a)) continue;
        i4_residual(mode, e, dc, src, d);
        u32 cost = 0;
        for (int p = 0; p < 16; p++) cost += (u32)abs(dpcm_level(d, 4, p % 4, p / 4, i4_dpcm(mode)));
        if (cost < best_cost) {
            best_cost = cost;
            best_mode = mode;
        }
    }
    i4_residual(best_mode, e, dc, src, d);
    for (int p = 0; p < 16; p++) s.i4_levels[blk][unzigzag(p)] = (i16)dpcm_level(d, 4, p % 4, p / 4, i4_dpcm(best_mode));
    s.modes[blk] = (u8)best_mode;
}

// Lane c < 2: the residual of chroma plane c under `mode`, 8 x 8 raster.
__device__ void lossless_chroma_residual(const Scratch &s, const MbCtx &m, int c, int mode, int *r) {
    int pa, pb, pc;
    plane_params(s.top8[c], s.left8[c], s.corner8[c], 8, &pa, &pb, &pc);
    for (int q = 0; q < 64; q++) {
        int x = q % 8, y = q / 8;
        r[q] = s.src_c[c][q] - predict_chroma_sample(mode, s.top8[c], s.left8[c], m.a, pa, pb, pc, x, y);
    }
}

// Sum of absolute DPCM levels of chroma plane c under `mode`.
__device__ u32 lossless_chroma_cost(const Scratch &s, const MbCtx &m, int c, int mode) {
    int r[64];
    lossless_chroma_residual(s, m, c, mode, r);
    u32 cost = 0;
    for (int q = 0; q < 64; q++) cost += (u32)abs(dpcm_level(r, 8, q % 8, q / 8, chroma_dpcm(mode)));
    return cost;
}

// Chooses the chroma mode with the fewest absolute levels over both planes
// (the first such mode) and stores its levels: per 4x4 block the DC (its
// first sample, 8.5.11.1 with dcC = c) and the AC in scan order.
__device__ int lossless_chroma(Scratch &s, const MbCtx &m) {
    int lane = m.lane;
    // Lanes 0..7: mode lane / 2, plane lane % 2.
    u32 cost = 0;
    int mode = lane / 2, c = lane % 2;
    if (lane < 8 && chroma_mode_allowed(mode, m.a)) cost = lossless_chroma_cost(s, m, c, mode);
    cost += __shfl_xor_sync(FULL_MASK, cost, 1);
    u32 key = (lane < 8 && lane % 2 == 0 && chroma_mode_allowed(mode, m.a)) ? (cost << 4) | (u32)mode : 0xffffffffu;
    int best = (int)(warp_min_u32(key) & 15);
    if (lane < 2) {
        int r[64];
        lossless_chroma_residual(s, m, lane, best, r);
        for (int blk = 0; blk < 4; blk++) {
            int bx = (blk % 2) * 4, by = (blk / 2) * 4;
            for (int p = 0; p < 16; p++) {
                int level = dpcm_level(r, 8, bx + p % 4, by + p / 4, chroma_dpcm(best));
                if (p == 0) s.c_dcl[lane][blk] = (i16)level;
                s.c_ac[lane][blk][unzigzag(p)] = p == 0 ? 0 : (i16)level;
            }
        }
        for (int q = 0; q < 64; q++) s.c_recon[lane][q] = s.src_c[lane][q];
    }
    __syncwarp();
    return best;
}

// Codes one macroblock losslessly with the warp (its neighbours read from
// the source, which is their reconstruction).
__device__ void code_intra_mb_lossless(Scratch &s, const MbCtx &m, const u8 *src, u8 *rec, int hm, MbRecord *out) {
    load_mb(s, m, src, src, hm);
    // Inside the macroblock, the reconstruction is the source too.
    for (int i = m.lane; i < 256; i += 32) s.ry[1 + i / 16][1 + i % 16] = s.src_y[i];
    __syncwarp();
    if (m.lane < 16) lossless_i4_block(s, m, m.lane);
    __syncwarp();
    int chroma_mode = lossless_chroma(s, m);
    int cbp_luma = i4_cbp_luma(s, m.lane);
    int cbp_chroma = chroma_cbp(s, m.lane);
    int bits = candidate_bits(s, m, true, 0, chroma_mode, cbp_luma, cbp_chroma);
    int kind = (bits >= 0 && bits <= MB_MAX_BITS) ? KIND_I4 : KIND_PCM;
    store_mb(s, m, kind, 0, chroma_mode, cbp_luma, cbp_chroma, out, rec, src, hm);
}

// Every macroblock of `nframes` pictures at once, one warp each; with
// `p_mode` only those of P pictures marked KIND_PENDING (decided intra).
extern "C" __global__ void __launch_bounds__(32 * INTRA_WARPS)
    lossless_intra(const u8 *__restrict__ src, u8 *__restrict__ rec, MbRecord *__restrict__ recs, int wm, int hm,
                   int nframes, long long frame_bytes, int p_mode) {
    __shared__ Scratch scratch[INTRA_WARPS];
    __shared__ IntraTables tables;
    int warp = threadIdx.y;
    int thread = warp * 32 + threadIdx.x;
    load_len_tables(tables.len, thread, 32 * INTRA_WARPS);
    __syncthreads();
    int per_frame = wm * hm;
    long long i = (long long)blockIdx.x * INTRA_WARPS + warp;
    if (i >= (long long)per_frame * nframes) return;
    int f = (int)(i / per_frame), addr = (int)(i % per_frame);
    MbRecord *out = recs + i;
    if (p_mode && out->kind != KIND_PENDING) return;
    MbCtx m = intra_ctx(addr % wm, addr / wm, wm, 0, &tables);
    code_intra_mb_lossless(scratch[warp], m, src + (size_t)f * frame_bytes, rec + (size_t)f * frame_bytes, hm, out);
}
