// P pictures: the reference's half-sample planes, motion compensation,
// motion search, the intra-or-inter choice and the coding of inter
// macroblocks, mirroring crates/avc/src/mc.rs, me.rs, analyse.rs
// (intra_estimate), inter.rs and the first pass of picture.rs
// (code_p_picture). Every macroblock decides on its own, from the source,
// the reference and the previous picture's vectors (DESIGN invariant 8), so
// one warp codes one macroblock and a launch covers a whole picture.

// Samples of margin around the reference planes (avc::mc::MARGIN) and how
// far a predicted block may lie outside the picture (avc::mc::MAX_OUTSIDE).
#define REF_MARGIN 48
#define MAX_OUTSIDE 32
// Warps (macroblocks) per block of the search and inter coding kernels.
#define ME_WARPS 4

__device__ __forceinline__ int tap6(int a, int b, int c, int d, int e, int f) {
    return a - 5 * b + 20 * c + 20 * d - 5 * e + f;
}

// ---- reference planes (avc::mc::RefPicture::new) -------------------------------------

#define RP_BW 32
#define RP_BH 8

// The full-sample luma plane G of each reference picture extended by
// REF_MARGIN samples on every side, and (when `half`) the half-sample planes
// b, h and j of 8.4.2.2.1, all (W + 2 * REF_MARGIN) x (H + 2 * REF_MARGIN):
// sample (x, y) of the picture at ((y + REF_MARGIN) * pitch + x + REF_MARGIN).
// Samples outside the picture are the clamped reads of 8.4.2.2.1. Blocks of
// RP_BW x RP_BH outputs; grid z is the picture of the batch.
extern "C" __global__ void __launch_bounds__(RP_BW *RP_BH)
    ref_planes(const u8 *__restrict__ rec, u8 *__restrict__ planes, int wm, int hm, long long frame_bytes,
               long long plane_bytes, int half) {
    __shared__ int gt[RP_BH + 5][RP_BW + 5];
    __shared__ int b1t[RP_BH + 5][RP_BW];
    int W = wm * 16, H = hm * 16, PW = W + 2 * REF_MARGIN, PH = H + 2 * REF_MARGIN;
    int f = blockIdx.z;
    const u8 *pic = rec + (size_t)f * frame_bytes;
    u8 *G = planes + (size_t)f * 4 * plane_bytes;
    // Picture coordinates of the block's first output.
    int x0 = blockIdx.x * RP_BW - REF_MARGIN, y0 = blockIdx.y * RP_BH - REF_MARGIN;
    int t = threadIdx.y * RP_BW + threadIdx.x;
    for (int i = t; i < (RP_BH + 5) * (RP_BW + 5); i += RP_BW * RP_BH) {
        int ty = i / (RP_BW + 5), tx = i % (RP_BW + 5);
        int xp = clamp_int(x0 - 2 + tx, 0, W - 1), yp = clamp_int(y0 - 2 + ty, 0, H - 1);
        gt[ty][tx] = pic[(size_t)yp * W + xp];
    }
    __syncthreads();
    if (half) {
        for (int i = t; i < (RP_BH + 5) * RP_BW; i += RP_BW * RP_BH) {
            int ty = i / RP_BW, tx = i % RP_BW;
            b1t[ty][tx] = tap6(gt[ty][tx], gt[ty][tx + 1], gt[ty][tx + 2], gt[ty][tx + 3], gt[ty][tx + 4], gt[ty][tx + 5]);
        }
    }
    __syncthreads();
    int tx = threadIdx.x, ty = threadIdx.y;
    int px = blockIdx.x * RP_BW + tx, py = blockIdx.y * RP_BH + ty;
    if (px >= PW || py >= PH) return;
    size_t o = (size_t)py * PW + px;
    G[o] = (u8)gt[ty + 2][tx + 2];
    if (!half) return;
    int b1 = b1t[ty + 2][tx];
    int h1 = tap6(gt[ty][tx + 2], gt[ty + 1][tx + 2], gt[ty + 2][tx + 2], gt[ty + 3][tx + 2], gt[ty + 4][tx + 2],
                  gt[ty + 5][tx + 2]);
    int j1 = tap6(b1t[ty][tx], b1t[ty + 1][tx], b1t[ty + 2][tx], b1t[ty + 3][tx], b1t[ty + 4][tx], b1t[ty + 5][tx]);
    G[plane_bytes + o] = (u8)clip_pixel((b1 + 16) >> 5);
    G[2 * plane_bytes + o] = (u8)clip_pixel((h1 + 16) >> 5);
    G[3 * plane_bytes + o] = (u8)clip_pixel((j1 + 512) >> 10);
}

// ---- motion compensation (avc::mc) ---------------------------------------------------

// One reference picture as the predictions read it.
struct RefView {
    const u8 *g, *b, *h, *j; // sample (0, 0) of the G, b, h and j planes
    int pitch;
    const u8 *cb, *cr; // the reconstructed chroma planes (no margin)
    int cw, ch;
};

__device__ RefView ref_view(const u8 *planes, long long plane_bytes, const u8 *ref_frame, int wm, int hm) {
    RefView r;
    int W = wm * 16, H = hm * 16;
    r.pitch = W + 2 * REF_MARGIN;
    size_t origin = (size_t)REF_MARGIN * r.pitch + REF_MARGIN;
    r.g = planes + origin;
    r.b = planes + plane_bytes + origin;
    r.h = planes + 2 * plane_bytes + origin;
    r.j = planes + 3 * plane_bytes + origin;
    r.cw = W / 2, r.ch = H / 2;
    r.cb = ref_frame + (size_t)W * H;
    r.cr = r.cb + (size_t)r.cw * r.ch;
    return r;
}

// The plane (and the second plane, averaged with it, or null) that give the
// luma samples at fraction (fx, fy) of integer position (x, y) (Table 8-12;
// avc::mc::RefPicture::sources): G, b, h, j and their neighbours G(1, 0),
// G(0, 1), h(1, 0), b(0, 1).
__device__ __forceinline__ void luma_sources(const RefView &r, int x, int y, int fx, int fy, const u8 **p1,
                                             const u8 **p2) {
    long long o = (long long)y * r.pitch + x;
    const u8 *G = r.g + o, *B = r.b + o, *V = r.h + o, *J = r.j + o;
    int P = r.pitch;
    switch (fx + 4 * fy) {
    case 0: *p1 = G, *p2 = 0; break;
    case 1: *p1 = G, *p2 = B; break;
    case 2: *p1 = B, *p2 = 0; break;
    case 3: *p1 = G + 1, *p2 = B; break;
    case 4: *p1 = G, *p2 = V; break;
    case 5: *p1 = B, *p2 = V; break;
    case 6: *p1 = B, *p2 = J; break;
    case 7: *p1 = B, *p2 = V + 1; break;
    case 8: *p1 = V, *p2 = 0; break;
    case 9: *p1 = V, *p2 = J; break;
    case 10: *p1 = J, *p2 = 0; break;
    case 11: *p1 = J, *p2 = V + 1; break;
    case 12: *p1 = G + P, *p2 = V; break;
    case 13: *p1 = V, *p2 = B + P; break;
    case 14: *p1 = J, *p2 = B + P; break;
    default: *p1 = V + 1, *p2 = B + P; break;
    }
}

__device__ __forceinline__ int luma_at(const u8 *p1, const u8 *p2, long long off) {
    int a = p1[off];
    return p2 ? (a + p2[off] + 1) >> 1 : a;
}

// The luma prediction of sample (x, y) of the picture for vector mv (quarter samples).
__device__ __forceinline__ int predict_luma_sample(const RefView &r, int x, int y, int mv0, int mv1) {
    const u8 *p1, *p2;
    luma_sources(r, x + (mv0 >> 2), y + (mv1 >> 2), mv0 & 3, mv1 & 3, &p1, &p2);
    return luma_at(p1, p2, 0);
}

// The chroma prediction of chroma sample (x, y) for the luma vector mv
// (8.4.2.2.2, 4:2:0: eighth samples; avc::mc::RefPicture::predict_chroma).
__device__ __forceinline__ int predict_chroma_sample(const RefView &r, int plane, int x, int y, int mv0, int mv1) {
    const u8 *p = plane == 0 ? r.cb : r.cr;
    int fx = mv0 & 7, fy = mv1 & 7;
    int bx = x + (mv0 >> 3), by = y + (mv1 >> 3);
    int x0 = clamp_int(bx, 0, r.cw - 1), x1 = clamp_int(bx + 1, 0, r.cw - 1);
    int y0 = clamp_int(by, 0, r.ch - 1), y1 = clamp_int(by + 1, 0, r.ch - 1);
    int a = p[(size_t)y0 * r.cw + x0], b = p[(size_t)y0 * r.cw + x1];
    int c = p[(size_t)y1 * r.cw + x0], d = p[(size_t)y1 * r.cw + x1];
    int v = (8 - fx) * (8 - fy) * a + fx * (8 - fy) * b + (8 - fx) * fy * c + fx * fy * d;
    return (v + 32) >> 6;
}

// ---- motion search (avc::me) ---------------------------------------------------------

// One block of a search: its position, size, vector limits (avc::mc::mv_limits),
// the predictor of vector costs and lambda.
struct MeBlock {
    int x, y, w, h; // picture position and size, luma samples
    int ox, oy;     // position inside the macroblock
    int lo0, hi0, lo1, hi1;
    int pred0, pred1;
    u32 lambda;
};

__device__ MeBlock me_block(int mb_x, int mb_y, int part, int idx, int W, int H, int pred0, int pred1, u32 lambda) {
    MeBlock b;
    int rx, ry, rw, rh;
    part_rect(part, idx, &rx, &ry, &rw, &rh);
    b.ox = rx, b.oy = ry, b.w = rw, b.h = rh;
    b.x = mb_x * 16 + rx, b.y = mb_y * 16 + ry;
    b.lo0 = (-b.x - MAX_OUTSIDE) * 4, b.hi0 = (W - b.x - rw + MAX_OUTSIDE) * 4;
    b.lo1 = (-b.y - MAX_OUTSIDE) * 4, b.hi1 = (H - b.y - rh + MAX_OUTSIDE) * 4;
    b.pred0 = pred0, b.pred1 = pred1;
    b.lambda = lambda;
    return b;
}

// Length in bits of se(v) (9.1.1).
__device__ __forceinline__ u32 se_len(int v) {
    u32 mapped = v > 0 ? 2u * (u32)v - 1u : 2u * (u32)(-v);
    return ue_len(mapped);
}

__device__ __forceinline__ u32 mv_bits(const MeBlock &b, int mv0, int mv1) {
    return se_len(mv0 - b.pred0) + se_len(mv1 - b.pred1);
}

// Per-warp scratch of the search.
struct MeScratch {
    u8 src[256];     // the macroblock's source luma
    int cand[9][2];  // candidates of one evaluation
    u32 cost[9];
    int seeds[6][2]; // the macroblock's seeds (avc::picture::seeds)
    int local[2][2]; // seeds of the partition searches
    int top16[16], left16[16];
};

// Costs of candidates s.cand[0..n) into s.cost, UINT_MAX where bit k of
// `valid` is clear: SAD at whole-sample positions when `sad`, else SATD at
// quarter-sample vectors, plus lambda * bits (avc::me Block::sad_cost,
// satd_cost). Jobs of one 4x4 block of one candidate go round the lanes;
// the nb = w * h / 16 blocks of a candidate sit in an aligned group of lanes.
__device__ void me_eval(MeScratch &s, const MeBlock &b, const RefView &r, int n, u32 valid, bool sad) {
    int lane = threadIdx.x & 31;
    int nb = (b.w * b.h) >> 4, bw4 = b.w >> 2;
    int jobs = n * nb;
    for (int base = 0; base < jobs; base += 32) {
        int job = base + lane;
        int k = job / nb, blk = job % nb;
        bool in = job < jobs;
        bool live = in && ((valid >> k) & 1);
        int c0 = in ? s.cand[k][0] : 0, c1 = in ? s.cand[k][1] : 0;
        u32 v = 0;
        if (live) {
            int bx = (blk % bw4) * 4, by = (blk / bw4) * 4;
            const u8 *sp = s.src + (b.oy + by) * 16 + b.ox + bx;
            if (sad) {
                const u8 *g = r.g + (long long)(b.y + by + c1) * r.pitch + b.x + bx + c0;
#pragma unroll
                for (int i = 0; i < 16; i++) v += (u32)abs((int)sp[(i >> 2) * 16 + (i & 3)] - (int)g[(i >> 2) * r.pitch + (i & 3)]);
            } else {
                const u8 *p1, *p2;
                luma_sources(r, b.x + bx + (c0 >> 2), b.y + by + (c1 >> 2), c0 & 3, c1 & 3, &p1, &p2);
                int d[16];
#pragma unroll
                for (int i = 0; i < 16; i++)
                    d[i] = (int)sp[(i >> 2) * 16 + (i & 3)] - luma_at(p1, p2, (long long)(i >> 2) * r.pitch + (i & 3));
                v = satd4x4(d);
            }
        }
        v = (u32)group_sum((int)v, nb);
        if (in && (lane % nb) == 0)
            s.cost[k] = live ? v + b.lambda * (sad ? mv_bits(b, c0 * 4, c1 * 4) : mv_bits(b, c0, c1)) : 0xffffffffu;
    }
    __syncwarp();
}

__device__ __forceinline__ void set_cand(MeScratch &s, int k, int c0, int c1) {
    if ((threadIdx.x & 31) == 0) s.cand[k][0] = c0, s.cand[k][1] = c1;
}

// Integer search from the best of the seeds (avc::me Block::integer_search):
// a hexagon of radius 2 until it stops moving, then a unit diamond, each for
// at most `steps` steps. Returns the vector in quarter samples.
__device__ void me_integer(MeScratch &s, const MeBlock &b, const RefView &r, const int (*seeds)[2], int nseeds,
                           int steps, int *out) {
    __syncwarp();
    for (int k = 0; k < nseeds; k++)
        set_cand(s, k, clamp_int(seeds[k][0], b.lo0, b.hi0) >> 2, clamp_int(seeds[k][1], b.lo1, b.hi1) >> 2);
    __syncwarp();
    me_eval(s, b, r, nseeds, 0xffffffffu, true);
    int best0 = s.cand[0][0], best1 = s.cand[0][1];
    u32 best_cost = s.cost[0];
    for (int k = 1; k < nseeds; k++)
        if (s.cost[k] < best_cost) best0 = s.cand[k][0], best1 = s.cand[k][1], best_cost = s.cost[k];
    const int hex[6][2] = {{-2, 0}, {-1, -2}, {1, -2}, {2, 0}, {1, 2}, {-1, 2}};
    const int dia[4][2] = {{0, -1}, {-1, 0}, {1, 0}, {0, 1}};
    for (int pattern = 0; pattern < 2; pattern++) {
        int n = pattern == 0 ? 6 : 4;
        for (int it = 0; it < steps; it++) {
            int cen0 = best0, cen1 = best1;
            u32 valid = 0;
            __syncwarp();
            for (int k = 0; k < n; k++) {
                int c0 = cen0 + (pattern == 0 ? hex[k][0] : dia[k][0]);
                int c1 = cen1 + (pattern == 0 ? hex[k][1] : dia[k][1]);
                bool inside = c0 * 4 >= b.lo0 && c0 * 4 <= b.hi0 && c1 * 4 >= b.lo1 && c1 * 4 <= b.hi1;
                valid |= (u32)inside << k;
                set_cand(s, k, c0, c1);
            }
            __syncwarp();
            me_eval(s, b, r, n, valid, true);
            for (int k = 0; k < n; k++)
                if (((valid >> k) & 1) && s.cost[k] < best_cost)
                    best0 = s.cand[k][0], best1 = s.cand[k][1], best_cost = s.cost[k];
            if (best0 == cen0 && best1 == cen1) break;
        }
    }
    out[0] = best0 * 4, out[1] = best1 * 4;
}

// Half- then quarter-sample refinement with SATD costs (Block::refine);
// returns the cost, updates mv.
__device__ u32 me_refine(MeScratch &s, const MeBlock &b, const RefView &r, int *mv, int rounds) {
    __syncwarp();
    set_cand(s, 0, mv[0], mv[1]);
    __syncwarp();
    me_eval(s, b, r, 1, 1u, false);
    u32 best_cost = s.cost[0];
    const int dirs[8][2] = {{0, -1}, {-1, 0}, {1, 0}, {0, 1}, {-1, -1}, {1, -1}, {-1, 1}, {1, 1}};
    for (int round = 0; round < rounds; round++) {
        int step = round == 0 ? 2 : 1;
        int cen0 = mv[0], cen1 = mv[1];
        __syncwarp();
        for (int k = 0; k < 8; k++)
            set_cand(s, k, clamp_int(cen0 + dirs[k][0] * step, b.lo0, b.hi0),
                     clamp_int(cen1 + dirs[k][1] * step, b.lo1, b.hi1));
        __syncwarp();
        me_eval(s, b, r, 8, 0xffu, false);
        for (int k = 0; k < 8; k++)
            if (s.cost[k] < best_cost) mv[0] = s.cand[k][0], mv[1] = s.cand[k][1], best_cost = s.cost[k];
    }
    return best_cost;
}

// Block::search: the integer search, then the refinement.
__device__ u32 me_search(MeScratch &s, const MeBlock &b, const RefView &r, const int (*seeds)[2], int nseeds,
                         int steps, int rounds, int *mv) {
    me_integer(s, b, r, seeds, nseeds, steps, mv);
    return me_refine(s, b, r, mv, rounds);
}

// Estimated bits of each partitioning's mb_type (avc::me::partition_bits).
__device__ __forceinline__ u32 partition_bits(int part) { return part == PART_16X16 ? 1 : (part == PART_8X8 ? 9 : 3); }

// The chosen motion of a macroblock (avc::me::MbMotion) and the choice
// between intra and inter (avc::picture::code_p_picture).
struct MotionRecord {
    u8 part;
    u8 intra;
    u8 pad[2];
    i16 mv[4][2];
    u32 cost;       // MbMotion::cost
    u32 intra_cost; // avc::analyse::intra_estimate
};
// The host sizes its buffers with this (MOTION_RECORD_BYTES in src/stages.rs).
static_assert(sizeof(MotionRecord) == 28, "MotionRecord layout changed: update MOTION_RECORD_BYTES");

// avc::analyse::INTRA_IN_P_BITS: the bits charged to intra in a P picture.
#define INTRA_IN_P_BITS 16u
// avc::analyse::BARE_SKIP_INTRA_RATIO, and EARLY_SKIP_INTRA_RATIO with early skip.
#define BARE_SKIP_INTRA_RATIO 6u
#define EARLY_SKIP_INTRA_RATIO 3u

// avc::analyse::intra_estimate: the best Intra16x16 SATD + lambda * bits
// over the source (neighbours' source samples stand in for their
// reconstruction; no top-right), from s.src, s.top16, s.left16.
__device__ u32 intra_estimate(MeScratch &s, Avail a, int corner, u32 lambda) {
    int lane = threadIdx.x & 31;
    int dc = dc16x16(s.top16, s.left16, a);
    int pa, pb, pc;
    plane_params(s.top16, s.left16, corner, 16, &pa, &pb, &pc);
    u32 best = 0xffffffffu;
    int blk = lane & 15, bx = (blk % 4) * 4, by = (blk / 4) * 4;
    for (int it = 0; it < 2; it++) {
        int mode = 2 * it + (lane >> 4);
        int diff[16];
#pragma unroll
        for (int i = 0; i < 16; i++) {
            int x = bx + i % 4, y = by + i / 4;
            diff[i] = s.src[y * 16 + x] - predict16x16_sample(mode, s.top16, s.left16, dc, pa, pb, pc, x, y);
        }
        int total = group_sum((int)satd4x4(diff), 16);
        u32 key = ((u32)total + lambda * I16_MB_BITS) << 4 | (u32)mode;
        if (i16_mode_allowed(mode, a) && key < best) best = key;
    }
    return warp_min_u32(best) >> 4;
}

// The seed vectors of macroblock `addr` from the previous picture's records
// (avc::picture::seeds): its co-located vector, zero, then the co-located
// vectors of its left, top, right and bottom neighbours not already listed.
// A macroblock's vector for the next picture is its first partition's, zero
// when intra (avc::picture::picture_vectors).
__device__ int me_seeds(MeScratch &s, const MbRecord *prev, int addr, int wm, int hm) {
    int x = addr % wm, y = addr / wm;
    int list[6][2], n = 0;
    auto vec = [&](int a, int *v) {
        bool inter = prev[a].kind == KIND_INTER;
        v[0] = inter ? prev[a].mv[0][0] : 0;
        v[1] = inter ? prev[a].mv[0][1] : 0;
    };
    vec(addr, list[0]);
    list[1][0] = 0, list[1][1] = 0;
    n = 2;
    int around[4] = {x > 0 ? addr - 1 : -1, y > 0 ? addr - wm : -1, x + 1 < wm ? addr + 1 : -1,
                     y + 1 < hm ? addr + wm : -1};
    for (int k = 0; k < 4; k++) {
        if (around[k] < 0) continue;
        int v[2];
        vec(around[k], v);
        bool seen = false;
        for (int j = 0; j < n; j++) seen = seen || (list[j][0] == v[0] && list[j][1] == v[1]);
        if (!seen) list[n][0] = v[0], list[n][1] = v[1], n++;
    }
    __syncwarp();
    if ((threadIdx.x & 31) == 0)
        for (int k = 0; k < n; k++) s.seeds[k][0] = list[k][0], s.seeds[k][1] = list[k][1];
    __syncwarp();
    return n;
}

// One warp per macroblock of a batch of P pictures: motion search
// (avc::me::search_mb) with the seeds of the previous picture's records
// `prev`, and the intra-or-inter choice, into `motion`.
extern "C" __global__ void __launch_bounds__(32 * ME_WARPS)
    p_search(const u8 *__restrict__ src, const u8 *__restrict__ planes, const MbRecord *__restrict__ prev,
             MotionRecord *__restrict__ motion, int wm, int hm, int nframes, long long frame_bytes,
             long long plane_bytes, int qp, int max_steps, int subpel_rounds, int partitions) {
    __shared__ MeScratch scratch[ME_WARPS];
    MeScratch &s = scratch[threadIdx.y];
    int per_frame = wm * hm;
    long long i = (long long)blockIdx.x * ME_WARPS + threadIdx.y;
    if (i >= (long long)per_frame * nframes) return;
    int f = (int)(i / per_frame), addr = (int)(i % per_frame);
    int mb_x = addr % wm, mb_y = addr / wm, lane = threadIdx.x;
    int W = wm * 16, H = hm * 16;
    const u8 *pic = src + (size_t)f * frame_bytes;
    RefView r = ref_view(planes + (size_t)f * 4 * plane_bytes, plane_bytes, 0, wm, hm);
    u32 lambda = LAMBDA[clamp_int(qp, 0, 51)];
    // The source macroblock, and its neighbours for intra_estimate.
    int x0 = mb_x * 16, y0 = mb_y * 16;
    for (int k = lane; k < 64; k += 32)
        ((u32 *)s.src)[k] = *(const u32 *)(pic + (size_t)(y0 + k / 4) * W + x0 + (k % 4) * 4);
    Avail a;
    a.left = mb_x > 0, a.top = mb_y > 0, a.top_left = a.left && a.top, a.top_right = false;
    if (lane < 16) {
        s.top16[lane] = a.top ? pic[(size_t)(y0 - 1) * W + x0 + lane] : 128;
        s.left16[lane] = a.left ? pic[(size_t)(y0 + lane) * W + x0 - 1] : 128;
    }
    int corner = a.top_left ? pic[(size_t)(y0 - 1) * W + x0 - 1] : 128;
    int nseeds = me_seeds(s, prev + (size_t)f * per_frame, addr, wm, hm);
    __syncwarp();
    int pred0 = s.seeds[0][0], pred1 = s.seeds[0][1];
    // 16x16 with every seed.
    MeBlock whole = me_block(mb_x, mb_y, PART_16X16, 0, W, H, pred0, pred1, lambda);
    int mv16[2];
    u32 cost16 = me_search(s, whole, r, s.seeds, nseeds, max_steps, subpel_rounds, mv16);
    int best_part = PART_16X16;
    int best_mv[4][2] = {{mv16[0], mv16[1]}, {0, 0}, {0, 0}, {0, 0}};
    u32 best_cost = cost16 + lambda * partition_bits(PART_16X16);
    if (partitions) {
        __syncwarp();
        if (lane == 0) {
            s.local[0][0] = mv16[0], s.local[0][1] = mv16[1];
            s.local[1][0] = pred0, s.local[1][1] = pred1;
        }
        __syncwarp();
        for (int part = PART_16X8; part <= PART_8X8; part++) {
            int mvs[4][2] = {{0, 0}, {0, 0}, {0, 0}, {0, 0}};
            u32 cost = lambda * partition_bits(part);
            for (int idx = 0; idx < part_count(part); idx++) {
                MeBlock b = me_block(mb_x, mb_y, part, idx, W, H, pred0, pred1, lambda);
                int mv[2];
                cost += me_search(s, b, r, s.local, 2, 2, subpel_rounds, mv);
                mvs[idx][0] = mv[0], mvs[idx][1] = mv[1];
            }
            if (cost < best_cost) {
                best_cost = cost, best_part = part;
                for (int k = 0; k < 4; k++) best_mv[k][0] = mvs[k][0], best_mv[k][1] = mvs[k][1];
            }
        }
    }
    u32 est = intra_estimate(s, a, corner, lambda);
    if (lane == 0) {
        MotionRecord &m = motion[i];
        m.part = (u8)best_part;
        m.intra = est + lambda * INTRA_IN_P_BITS < best_cost ? 1 : 0;
        m.pad[0] = m.pad[1] = 0;
        for (int k = 0; k < 4; k++) m.mv[k][0] = (i16)best_mv[k][0], m.mv[k][1] = (i16)best_mv[k][1];
        m.cost = best_cost;
        m.intra_cost = est;
    }
}

// ---- inter macroblock coding (avc::inter::code_inter_mb) -----------------------------


// avc::decimate::block_score: walking from the last level of a block (scan
// order) towards DC, each +-1 level scores by the zeros before it; a larger
// level makes the block 9 (never dropped).
__device__ int decimate_score(const i16 *scan) {
    const int run_score[6] = {3, 2, 2, 1, 1, 1};
    int i = 15;
    while (i >= 0 && scan[i] == 0) i--;
    int score = 0;
    while (i >= 0) {
        if (scan[i] > 1 || scan[i] < -1) return 9;
        i--;
        int run = 0;
        while (i >= 0 && scan[i] == 0) i--, run++;
        score += run < 6 ? run_score[run] : 0;
    }
    return score;
}

struct InterScratch {
    u8 src_y[256];
    u8 src_c[2][64];
    u8 pred_y[256];
    u8 pred_c[2][64];
    u8 rec_y[256];
    u8 rec_c[2][64];
    i16 luma[16][16]; // levels in scan order per luma4x4BlkIdx
    i16 c_ac[2][4][16];
    i16 c_dcl[2][4];
    int c_dc[2][4];
    int c_dc_c[2][4];
};

// Worst-case bits of the inter macroblock_layer (avc::inter::inter_mb_bits_bound)
// with |mvd| components up to mvd_max, or -1 when a level cannot be coded.
__device__ int inter_bits_bound(const InterScratch &s, int part, int cbp_luma, int cbp_chroma, int mvd_max,
                                const LenTables &t) {
    int lane = threadIdx.x & 31, bits = 0;
    if (lane < 16) {
        if (cbp_luma & (1 << (lane / 4))) bits = residual_block_bits_bound(s.luma[lane], 16, false, t);
    } else if (lane < 18) {
        if (cbp_chroma > 0) bits = residual_block_bits_bound(s.c_dcl[lane - 16], 4, true, t);
    } else if (lane < 26) {
        int q = lane - 18;
        if (cbp_chroma == 2) bits = residual_block_bits_bound(s.c_ac[q / 4][q % 4] + 1, 15, false, t);
    }
    bool bad = __any_sync(FULL_MASK, bits < 0);
    int residual = warp_sum(bits);
    if (bad) return -1;
    int cbp = cbp_luma | (cbp_chroma << 4);
    int total = (int)ue_len(part) + (part == PART_8X8 ? 4 : 0) + part_count(part) * 2 * (int)se_len(mvd_max) +
                (int)ue_len(INTER_CBP_TO_CODE[cbp]);
    if (cbp == 0) return total;
    return total + 1 + residual;
}

// Codes the inter macroblock (mb_x, mb_y) of one picture (`pic` the source,
// `dst` the reconstruction) with partition `part` and one vector per
// partition (avc::inter::code_inter_mb): prediction from the reference,
// the residual coded with the inter dead zone and decimated, reconstructed
// into `dst` (I_PCM when a level cannot be coded or the 3200-bit bound
// would break), the record into `out`; returns INTER_WRITTEN. With
// `only_bare` (avc::inter::code_bare_16x16, avc::picture::decide_p_mb), nothing
// is written unless the macroblock has no levels and is not I_PCM
// (INTER_NOT_BARE), nor when the prediction's SATD is above `max_satd`
// (INTER_NOT_BARE) or, while it is at most `bare_ratio` (BARE_SKIP_INTRA_RATIO
// or EARLY_SKIP_INTRA_RATIO) times lambda * (I16_MB_BITS + INTRA_IN_P_BITS), above `intra_cost` + lambda *
// INTRA_IN_P_BITS (INTER_INTRA_WINS). `lossless` (avc::lossless::code_inter_mb_lossless):
// transform bypass, the residual itself as the levels (8.5.12: r = c),
// reconstruction = source.
#define INTER_NOT_BARE 0
#define INTER_WRITTEN 1
#define INTER_INTRA_WINS 2
__device__ int code_inter_warp(InterScratch &s, const LenTables &tables, const u8 *pic, u8 *dst, const RefView &r,
                               int wm, int hm, int mb_x, int mb_y, int part, const int (*mv)[2], int qp, int lossless,
                               MbRecord *out, bool only_bare, u32 intra_cost, u32 max_satd, u32 bare_ratio) {
    int lane = threadIdx.x & 31;
    int W = wm * 16, H = hm * 16, cw = W / 2;
    size_t luma_size = (size_t)W * H, chroma_size = luma_size / 4;
    int x0 = mb_x * 16, y0 = mb_y * 16, cx0 = mb_x * 8, cy0 = mb_y * 8;
    // Source and prediction (avc::inter::predict_mb).
    for (int k = lane; k < 256; k += 32) {
        int x = k % 16, y = k / 16, p = partition_of(part, x, y);
        s.src_y[k] = pic[(size_t)(y0 + y) * W + x0 + x];
        s.pred_y[k] = (u8)predict_luma_sample(r, x0 + x, y0 + y, mv[p][0], mv[p][1]);
    }
    for (int k = lane; k < 128; k += 32) {
        int c = k / 64, q = k % 64, x = q % 8, y = q / 8, p = partition_of(part, 2 * x, 2 * y);
        s.src_c[c][q] = pic[luma_size + c * chroma_size + (size_t)(cy0 + y) * cw + cx0 + x];
        s.pred_c[c][q] = (u8)predict_chroma_sample(r, c, cx0 + x, cy0 + y, mv[p][0], mv[p][1]);
    }
    __syncwarp();
    // Luma: one lane per 4x4 block.
    bool luma_ok = true, chroma_ok = true;
    int b[16], d[16], res[16];
    if (lane < 16) {
        int bx = luma_block_x(lane), by = luma_block_y(lane);
#pragma unroll
        for (int p = 0; p < 16; p++) {
            int at = (by + p / 4) * 16 + bx + p % 4;
            b[p] = s.src_y[at] - s.pred_y[at];
        }
        if (lossless) {
#pragma unroll
            for (int p = 0; p < 16; p++) {
                int at = (by + p / 4) * 16 + bx + p % 4;
                s.luma[lane][unzigzag(p)] = (i16)b[p];
                s.rec_y[at] = s.src_y[at];
            }
        } else {
            forward4x4(b);
            quant4x4_dz(b, qp, false, true);
#pragma unroll
            for (int p = 0; p < 16; p++) s.luma[lane][unzigzag(p)] = (i16)b[p];
        }
    }
    // Decimation (avc::decimate::decimate_inter_luma): lanes 4q..4q+3 hold
    // quarter q; a quarter scoring under 4, or a macroblock under 6, drops
    // its levels before the reconstruction.
    if (!lossless) {
        int score = lane < 16 ? decimate_score(s.luma[lane]) : 0;
        int quarter = group_sum(score, 4);
        int total = warp_sum(score);
        if (lane < 16) {
            if (quarter < 4 || total < 6) {
#pragma unroll
                for (int p = 0; p < 16; p++) b[p] = 0, s.luma[lane][p] = 0;
            }
            int bx = luma_block_x(lane), by = luma_block_y(lane);
            dequant4x4(b, qp, false, d);
            luma_ok = inverse4x4(d, res);
#pragma unroll
            for (int p = 0; p < 16; p++) {
                int at = (by + p / 4) * 16 + bx + p % 4;
                s.rec_y[at] = (u8)clip_pixel(s.pred_y[at] + res[p]);
            }
        }
    }
    // Chroma (avc::macroblock::code_chroma_residual, inter dead zone): lane
    // 8c + blk codes block blk of plane c.
    int qp_c = chroma_qp(qp);
    int cc = (lane / 4) & 1, cb = lane % 4, cbx = (cb % 2) * 4, cby = (cb / 2) * 4;
    if (lane < 8) {
#pragma unroll
        for (int p = 0; p < 16; p++) {
            int at = (cby + p / 4) * 8 + cbx + p % 4;
            b[p] = s.src_c[cc][at] - s.pred_c[cc][at];
        }
        if (lossless) {
            // The block's first sample is its DC level (8.5.11.1 with dcC = c).
            s.c_dcl[cc][cb] = (i16)b[0];
            b[0] = 0;
#pragma unroll
            for (int p = 0; p < 16; p++) {
                int at = (cby + p / 4) * 8 + cbx + p % 4;
                s.c_ac[cc][cb][unzigzag(p)] = (i16)b[p];
                s.rec_c[cc][at] = s.src_c[cc][at];
            }
        } else {
            forward4x4(b);
            s.c_dc[cc][cb] = b[0];
            quant4x4_dz(b, qp_c, true, true);
            b[0] = 0;
#pragma unroll
            for (int p = 0; p < 16; p++) s.c_ac[cc][cb][unzigzag(p)] = (i16)b[p];
        }
    }
    __syncwarp();
    bool dc_ok = true;
    if (lane < 2 && !lossless) {
        int lv[4], dcc[4];
        forward_quant_chroma_dc_dz(s.c_dc[lane], qp_c, true, lv);
        dc_ok = inverse_chroma_dc(lv, qp_c, dcc);
        for (int k = 0; k < 4; k++) {
            s.c_dcl[lane][k] = (i16)lv[k];
            s.c_dc_c[lane][k] = dc_ok ? dcc[k] : 0;
        }
    }
    __syncwarp();
    if (lane < 8 && !lossless) {
        dequant4x4(b, qp_c, true, d);
        d[0] = s.c_dc_c[cc][cb];
        chroma_ok = inverse4x4(d, res);
#pragma unroll
        for (int p = 0; p < 16; p++) {
            int at = (cby + p / 4) * 8 + cbx + p % 4;
            s.rec_c[cc][at] = (u8)clip_pixel(s.pred_c[cc][at] + res[p]);
        }
    }
    bool valid = __all_sync(FULL_MASK, luma_ok && chroma_ok && dc_ok);
    __syncwarp();
    // coded_block_pattern: lane l looks at levels 8l..8l+7 (half of luma block l / 2).
    bool nz = false;
    const i16 *lv = &s.luma[0][0] + lane * 8;
#pragma unroll
    for (int k = 0; k < 8; k++) nz = nz || lv[k] != 0;
    u32 mask = __ballot_sync(FULL_MASK, nz);
    int cbp_luma = 0;
    for (int g = 0; g < 4; g++) cbp_luma |= ((mask >> (8 * g)) & 0xff) != 0 ? 1 << g : 0;
    const i16 *ac = &s.c_ac[0][0][0] + lane * 4;
    bool any_ac = ac[0] != 0 || ac[1] != 0 || ac[2] != 0 || ac[3] != 0;
    bool any_dc = lane < 8 && (&s.c_dcl[0][0])[lane] != 0;
    int cbp_chroma = __any_sync(FULL_MASK, any_ac) ? 2 : (__any_sync(FULL_MASK, any_dc) ? 1 : 0);
    int mvd_max = 2 * 4 * ((W > H ? W : H) + MAX_OUTSIDE);
    int bits = inter_bits_bound(s, part, cbp_luma, cbp_chroma, mvd_max, tables);
    bool pcm = !valid || bits < 0 || bits > MB_MAX_BITS;
    if (only_bare && (pcm || cbp_luma != 0 || cbp_chroma != 0)) return INTER_NOT_BARE;
    if (only_bare) {
        // SATD of the prediction (avc::pixel::satd_u8 over 16x16): lane b < 16
        // takes 4x4 block b.
        int diff[16];
        int bx = (lane & 3) * 4, by = ((lane >> 2) & 3) * 4;
#pragma unroll
        for (int k = 0; k < 16; k++) {
            int at = (by + k / 4) * 16 + bx + k % 4;
            diff[k] = s.src_y[at] - s.pred_y[at];
        }
        u32 satd = (u32)warp_sum(lane < 16 ? (int)satd4x4(diff) : 0);
        if (satd > max_satd) return INTER_NOT_BARE;
        u32 lambda = LAMBDA[clamp_int(qp, 0, 51)];
        // Weighed against intra only up to the ratio (avc::analyse::bare_skip_may_go_intra).
        bool may_go_intra = satd <= bare_ratio * lambda * (I16_MB_BITS + INTRA_IN_P_BITS);
        if (may_go_intra && intra_cost + lambda * INTRA_IN_P_BITS < satd) return INTER_INTRA_WINS;
    }
    // The reconstruction: the coded samples, or the source for I_PCM.
    for (int k = lane; k < 256; k += 32)
        dst[(size_t)(y0 + k / 16) * W + x0 + k % 16] = pcm ? s.src_y[k] : s.rec_y[k];
    for (int k = lane; k < 128; k += 32) {
        int c = k / 64, q = k % 64;
        dst[luma_size + c * chroma_size + (size_t)(cy0 + q / 8) * cw + cx0 + q % 8] = pcm ? s.src_c[c][q] : s.rec_c[c][q];
    }
    // The record (avc::macroblock::MbCoding), I_PCM as avc::macroblock::pcm_coding.
    if (lane == 0) {
        out->kind = (u8)(pcm ? KIND_PCM : KIND_INTER);
        out->i16_mode = 0;
        out->chroma_mode = 0;
        out->cbp_luma = (u8)(pcm ? 0 : cbp_luma);
        out->cbp_chroma = (u8)(pcm ? 0 : cbp_chroma);
        out->part = (u8)(pcm ? 0 : part);
        out->pad[0] = out->pad[1] = 0;
    }
    if (lane < 8) {
        int k = lane / 2, comp = lane % 2;
        out->mv[k][comp] = pcm ? 0 : (i16)mv[k][comp];
    }
    if (lane < 16) {
        out->modes[lane] = 0;
        int count = pcm ? 16 : ((cbp_luma & (1 << (lane / 4))) ? total_coeff(s.luma[lane], 16) : 0);
        out->luma_counts[lane] = (u8)count;
        out->luma_dc[lane] = 0;
    } else if (lane < 24) {
        int q = lane - 16;
        int count = pcm ? 16 : ((cbp_chroma & 2) ? total_coeff(s.c_ac[q / 4][q % 4] + 1, 15) : 0);
        out->chroma_counts[q] = (u8)count;
        out->chroma_dc[q / 4][q % 4] = pcm ? 0 : s.c_dcl[q / 4][q % 4];
    }
    for (int k = lane; k < 256; k += 32) out->luma[k / 16][k % 16] = pcm ? 0 : s.luma[k / 16][k % 16];
    for (int k = lane; k < 128; k += 32)
        out->chroma_ac[k / 64][(k / 16) % 4][k % 16] = pcm ? 0 : s.c_ac[k / 64][(k / 16) % 4][k % 16];
    return INTER_WRITTEN;
}

// One warp per macroblock of a batch of P pictures (avc::picture::decide_p_mb):
// first the vector P_Skip would infer in the previous picture's records
// `prev` (avc::skip::predicted_skip_vector): if it leaves no levels it is
// taken (with `early_skip`, or when its SATD is no more than the search's
// cost), unless intra is cheaper; otherwise the macroblock is coded
// (code_inter_warp) with the vectors of the search, or marked KIND_PENDING
// for the wavefront when the search chose intra. `flags` (or null): 1 for
// the macroblocks coded here, 0 for the others.
extern "C" __global__ void __launch_bounds__(32 * ME_WARPS)
    p_inter(const u8 *__restrict__ src, u8 *__restrict__ rec, const u8 *__restrict__ ref,
            const u8 *__restrict__ planes, const MotionRecord *__restrict__ motion,
            const MbRecord *__restrict__ prev, MbRecord *__restrict__ recs, int wm, int hm, int nframes,
            long long frame_bytes, long long plane_bytes, int qp, u32 *flags, int lossless, int early_skip) {
    __shared__ InterScratch scratch[ME_WARPS];
    __shared__ LenTables tables;
    int thread = threadIdx.y * 32 + threadIdx.x;
    load_len_tables(tables, thread, 32 * ME_WARPS);
    __syncthreads();
    int per_frame = wm * hm;
    long long i = (long long)blockIdx.x * ME_WARPS + threadIdx.y;
    if (i >= (long long)per_frame * nframes) return;
    int f = (int)(i / per_frame), addr = (int)(i % per_frame);
    int mb_x = addr % wm, mb_y = addr / wm;
    MbRecord *out = recs + i;
    const MotionRecord &m = motion[i];
    const u8 *pic = src + (size_t)f * frame_bytes;
    u8 *dst = rec + (size_t)f * frame_bytes;
    RefView r = ref_view(planes + (size_t)f * 4 * plane_bytes, plane_bytes, ref + (size_t)f * frame_bytes, wm, hm);
    if (!lossless) {
        int psv[2];
        skip_mv(prev + (size_t)f * per_frame, wm, addr, psv);
        // The vector must keep the block within reach of the reference (avc::mc::mv_limits).
        int W = wm * 16, H = hm * 16, x0 = mb_x * 16, y0 = mb_y * 16;
        bool inside = psv[0] >= (-x0 - MAX_OUTSIDE) * 4 && psv[0] <= (W - x0 - 16 + MAX_OUTSIDE) * 4 &&
                      psv[1] >= (-y0 - MAX_OUTSIDE) * 4 && psv[1] <= (H - y0 - 16 + MAX_OUTSIDE) * 4;
        if (inside) {
            // One 16x16 partition: its vector first, the rest zero (as the search leaves them).
            int mv[4][2] = {{psv[0], psv[1]}, {0, 0}, {0, 0}, {0, 0}};
            int got = code_inter_warp(scratch[threadIdx.y], tables, pic, dst, r, wm, hm, mb_x, mb_y, PART_16X16, mv,
                                      qp, 0, out, true, m.intra_cost, early_skip ? 0xffffffffu : m.cost,
                                      early_skip ? EARLY_SKIP_INTRA_RATIO : BARE_SKIP_INTRA_RATIO);
            if (got != INTER_NOT_BARE) {
                if (threadIdx.x == 0) {
                    if (got == INTER_INTRA_WINS) out->kind = KIND_PENDING;
                    if (flags) flags[i] = got == INTER_WRITTEN ? 1 : 0;
                }
                return;
            }
        }
    }
    if (threadIdx.x == 0 && flags) flags[i] = m.intra ? 0 : 1;
    if (m.intra) {
        if (threadIdx.x == 0) out->kind = KIND_PENDING;
        return;
    }
    int mv[4][2];
    for (int k = 0; k < 4; k++) mv[k][0] = m.mv[k][0], mv[k][1] = m.mv[k][1];
    code_inter_warp(scratch[threadIdx.y], tables, pic, dst, r, wm, hm, mb_x, mb_y, m.part, mv, qp, lossless, out,
                    false, 0, 0, BARE_SKIP_INTRA_RATIO);
}

