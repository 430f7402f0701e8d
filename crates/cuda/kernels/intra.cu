// Intra prediction (8.3), mode decision and reconstruction of macroblocks
// in wavefront order, mirroring crates/avc/src/intra.rs, analyse.rs and
// macroblock.rs (code_intra_mb): one warp codes one macroblock; one launch
// codes every macroblock (x, y) with x + 2y == step of every picture of a
// batch, so each reads only left, top-left, top and top-right neighbours
// finished by earlier launches.

__constant__ u16 I4_TAPS[9][16] = {
    {0x5555, 0x6666, 0x7777, 0x8888, 0x5555, 0x6666, 0x7777, 0x8888, 0x5555, 0x6666, 0x7777, 0x8888, 0x5555, 0x6666, 0x7777, 0x8888},
    {0x3333, 0x3333, 0x3333, 0x3333, 0x2222, 0x2222, 0x2222, 0x2222, 0x1111, 0x1111, 0x1111, 0x1111, 0x0000, 0x0000, 0x0000, 0x0000},
    {0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000},
    {0x7665, 0x8776, 0x9887, 0xa998, 0x8776, 0x9887, 0xa998, 0xbaa9, 0x9887, 0xa998, 0xbaa9, 0xcbba, 0xa998, 0xbaa9, 0xcbba, 0xcccb},
    {0x3445, 0x6554, 0x7665, 0x8776, 0x2334, 0x3445, 0x6554, 0x7665, 0x1223, 0x2334, 0x3445, 0x6554, 0x0112, 0x1223, 0x2334, 0x3445},
    {0x5544, 0x6655, 0x7766, 0x8877, 0x5443, 0x6554, 0x7665, 0x8776, 0x4332, 0x5544, 0x6655, 0x7766, 0x3221, 0x5443, 0x6554, 0x7665},
    {0x3344, 0x5443, 0x4556, 0x5667, 0x2233, 0x2334, 0x3344, 0x5443, 0x1122, 0x1223, 0x2233, 0x2334, 0x0011, 0x0112, 0x1122, 0x1223},
    {0x6655, 0x7766, 0x8877, 0x9988, 0x7665, 0x8776, 0x9887, 0xa998, 0x7766, 0x8877, 0x9988, 0xaa99, 0x8776, 0x9887, 0xa998, 0xbaa9},
    {0x2233, 0x1223, 0x1122, 0x0112, 0x1122, 0x0112, 0x0011, 0x0001, 0x0011, 0x0001, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000},
};

// λ for SATD costs (avc::analyse::LAMBDA).
__constant__ u32 LAMBDA[52] = {1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  2,  2,
                               2,  2,  3,  3,  3,  4,  4,  4,  5,  6,  6,  7,  8,  9,  10, 11, 13, 14,
                               16, 18, 20, 23, 25, 29, 32, 36, 40, 45, 51, 57, 64, 72, 81, 91};

#define I4_MODE_BITS 3
#define I4_MB_BITS 4
#define I16_MB_BITS 5

struct Avail {
    bool left, top, top_left, top_right;
};

// ---- Intra4x4 (8.3.1.2) -----------------------------------------------------------

__device__ __forceinline__ bool i4_mode_allowed(int mode, Avail a) {
    switch (mode) {
    case 0: case 3: case 7: return a.top;
    case 1: case 8: return a.left;
    case 2: return true;
    case 4: case 5: case 6: return a.top && a.left && a.top_left;
    default: return false;
    }
}

// 8.3.1.2.3 over the edge array (e[3 - y] = left y, e[5 + x] = top x).
__device__ __forceinline__ int dc4x4(const int *e, Avail a) {
    int top = e[5] + e[6] + e[7] + e[8];
    int left = e[0] + e[1] + e[2] + e[3];
    if (a.top && a.left) return (top + left + 4) >> 3;
    if (a.left) return (left + 2) >> 2;
    if (a.top) return (top + 2) >> 2;
    return 128;
}

__device__ __forceinline__ int i4_tap_predict(u32 taps, const int *e) {
    return (e[taps & 15] + e[(taps >> 4) & 15] + e[(taps >> 8) & 15] + e[(taps >> 12) & 15] + 2) >> 2;
}

// Intra4x4 prediction of one sample (scalar form, for the checks).
__device__ int predict4x4_sample(int mode, const int *e, Avail a, int pos) {
    return mode == 2 ? dc4x4(e, a) : i4_tap_predict(I4_TAPS[mode][pos], e);
}

// Whether the top-right 4x4 neighbour of luma block `blk` is decoded (6.4.11.4).
__device__ bool block_top_right_available(int blk, int mb_x, int mb_y, int wm) {
    int x = luma_block_x(blk), y = luma_block_y(blk);
    if (y == 0) return x < 12 ? mb_y > 0 : (mb_y > 0 && mb_x + 1 < wm);
    if (x == 12) return false;
    return luma_block_at(x + 4, y - 4) < blk;
}

// ---- Intra16x16 (8.3.3) and chroma (8.3.4) ------------------------------------------

// Neighbours of an NxN block: top[x], left[y], the corner, as gathered by
// avc::intra::EdgeN (128 where not available).
struct EdgeN {
    int corner;
    Avail a;
};

__device__ __forceinline__ bool i16_mode_allowed(int mode, Avail a) {
    switch (mode) {
    case 0: return a.top;
    case 1: return a.left;
    case 2: return true;
    case 3: return a.top && a.left && a.top_left;
    default: return false;
    }
}

__device__ __forceinline__ bool chroma_mode_allowed(int mode, Avail a) {
    switch (mode) {
    case 0: return true;
    case 1: return a.left;
    case 2: return a.top;
    case 3: return a.top && a.left && a.top_left;
    default: return false;
    }
}

// Plane parameters (8.3.3.4 for n = 16, 8.3.4.4 for n = 8): a, b, c.
__device__ void plane_params(const int *top, const int *left, int corner, int n, int *pa, int *pb, int *pc) {
    int half = n / 2, h = 0, v = 0;
    for (int k = 0; k < half; k++) {
        int t1 = top[half + k], l1 = left[half + k];
        int t0 = half - 2 - k < 0 ? corner : top[half - 2 - k];
        int l0 = half - 2 - k < 0 ? corner : left[half - 2 - k];
        h += (k + 1) * (t1 - t0);
        v += (k + 1) * (l1 - l0);
    }
    int mul = n == 16 ? 5 : 34;
    *pa = 16 * (left[n - 1] + top[n - 1]);
    *pb = (mul * h + 32) >> 6;
    *pc = (mul * v + 32) >> 6;
}

__device__ __forceinline__ int dc16x16(const int *top, const int *left, Avail a) {
    int t = 0, l = 0;
    for (int i = 0; i < 16; i++) t += top[i], l += left[i];
    if (a.top && a.left) return (t + l + 16) >> 5;
    if (a.left) return (l + 8) >> 4;
    if (a.top) return (t + 8) >> 4;
    return 128;
}

// Intra16x16 prediction of sample (x, y); `dc` and plane a, b, c precomputed.
__device__ __forceinline__ int predict16x16_sample(int mode, const int *top, const int *left, int dc, int pa, int pb,
                                                   int pc, int x, int y) {
    // Every candidate is computed and one selected, so that lanes evaluating
    // different modes do not diverge.
    int t = top[x], l = left[y];
    int plane = clip_pixel((pa + pb * (x - 7) + pc * (y - 7) + 16) >> 5);
    return mode == 0 ? t : (mode == 1 ? l : (mode == 2 ? dc : plane));
}

// DC of chroma 4x4 block (bx, by) of an 8x8 block (8.3.4.1-3).
__device__ int chroma_dc_value(const int *top, const int *left, Avail a, int bx, int by) {
    int t = top[bx * 4] + top[bx * 4 + 1] + top[bx * 4 + 2] + top[bx * 4 + 3];
    int l = left[by * 4] + left[by * 4 + 1] + left[by * 4 + 2] + left[by * 4 + 3];
    if ((bx == 0) == (by == 0)) {
        if (a.top && a.left) return (t + l + 4) >> 3;
        if (a.left) return (l + 2) >> 2;
        if (a.top) return (t + 2) >> 2;
        return 128;
    }
    if (by == 0) {
        if (a.top) return (t + 2) >> 2;
        if (a.left) return (l + 2) >> 2;
        return 128;
    }
    if (a.left) return (l + 2) >> 2;
    if (a.top) return (t + 2) >> 2;
    return 128;
}

__device__ __forceinline__ int predict_chroma_sample(int mode, const int *top, const int *left, Avail a, int pa,
                                                     int pb, int pc, int x, int y) {
    int dc = chroma_dc_value(top, left, a, x / 4, y / 4);
    int t = top[x], l = left[y];
    int plane = clip_pixel((pa + pb * (x - 3) + pc * (y - 3) + 16) >> 5);
    return mode == 0 ? dc : (mode == 1 ? l : (mode == 2 ? t : plane));
}

// ---- per-warp scratch ---------------------------------------------------------------

struct Scratch {
    u8 src_y[256];
    u8 src_c[2][64];
    // Luma reconstruction with its borders: ry[1 + y][1 + x] for x = -1..19, y = -1..15.
    u8 ry[17][24];
    u8 i16_recon[256];
    u8 c_recon[2][64];
    int top16[16], left16[16];
    int top8[2][8], left8[2][8];
    int corner8[2];
    int e4[2][16];
    int i16_dc_y[16];
    int c_dc_c[2][4];
    bool dc_ok;
    int i16_dc_spatial[16];
    int c_dc[2][4];
    i16 i4_levels[16][16];
    i16 i16_ac[16][16];
    i16 i16_dc[16];
    i16 c_ac[2][4][16];
    i16 c_dcl[2][4];
    u8 modes[16];
};

// Tables that lanes read at different indices, copied once per block into
// shared memory (divergent __constant__ reads are serialised).
struct IntraTables {
    u16 taps[9][18]; // rows padded to 9 words: lanes of different modes hit different banks
    LenTables len;
};

// Position of the macroblock being coded and what is around it.
struct MbCtx {
    int mb_x, mb_y, wm, qp, qp_c, lane;
    Avail a;     // macroblock-level availability (8.3.3, 8.3.4)
    LaneQuant lq; // this lane's luma quantisation constants
    LaneQuant cq; // and chroma's
    const IntraTables *t;
};

// Availability of the neighbours of 4x4 luma block `blk`
// (avc::macroblock::block_availability, 6.4.11.4).
__device__ __forceinline__ Avail i4_block_avail(const MbCtx &m, int blk) {
    int bx = luma_block_x(blk), by = luma_block_y(blk);
    Avail a;
    a.left = bx > 0 || m.mb_x > 0;
    a.top = by > 0 || m.mb_y > 0;
    a.top_left = a.left && a.top;
    a.top_right = block_top_right_available(blk, m.mb_x, m.mb_y, m.wm);
    return a;
}

// Edge sample `pos` (0..12) of the 4x4 block at (bx, by) from s.ry, as
// avc::intra::Edge4::gather: e[3 - y] = p[-1, y], e[4] = p[-1, -1],
// e[5 + x] = p[x, -1]; 128 where unavailable, p[3, -1] for a missing top-right.
__device__ __forceinline__ int i4_edge_sample(const Scratch &s, int bx, int by, Avail a, int pos) {
    if (pos < 4) return a.left ? s.ry[1 + by + 3 - pos][bx] : 128;
    if (pos == 4) return a.top_left ? s.ry[by][bx] : 128;
    if (!a.top) return 128;
    int x = pos - 5;
    return (x < 4 || a.top_right) ? s.ry[by][1 + bx + x] : s.ry[by][1 + bx + 3];
}

// Loads the source macroblock and the reconstructed neighbours into scratch:
// every global load is issued before the first store, to wait for memory once.
// The neighbours are read from L2 (__ldcg): in the persistent kernel other
// warps wrote them during the launch.
__device__ void load_mb(Scratch &s, const MbCtx &m, const u8 *src, const u8 *rec, int hm) {
    int lane = m.lane;
    int pitch = m.wm * 16, cpitch = m.wm * 8;
    size_t luma_size = (size_t)pitch * hm * 16, chroma_size = (size_t)cpitch * hm * 8;
    int x0 = m.mb_x * 16, y0 = m.mb_y * 16, cx0 = m.mb_x * 8, cy0 = m.mb_y * 8;
    // Source: 16 luma rows as 4-byte words (2 per lane), 8 rows of each chroma
    // plane as 4-byte words (1 per lane).
    u32 luma[2];
#pragma unroll
    for (int k = 0; k < 2; k++) {
        int w = lane + 32 * k;
        luma[k] = *(const u32 *)(src + (size_t)(y0 + w / 4) * pitch + x0 + (w % 4) * 4);
    }
    int cplane = lane / 16, cw = lane % 16;
    u32 chroma =
        *(const u32 *)(src + luma_size + cplane * chroma_size + (size_t)(cy0 + cw / 2) * cpitch + cx0 + (cw % 2) * 4);
    // Border row y = -1 for x = -1..19 and column x = -1 (128 where unavailable).
    int bx = lane - 1;
    bool top_ok = lane < 21 && m.a.top && (bx >= 0 || m.a.left) && (bx < 16 || m.a.top_right);
    u8 border = top_ok ? __ldcg(rec + (size_t)(y0 - 1) * pitch + x0 + bx) : 128;
    u8 left = (lane < 16 && m.a.left) ? __ldcg(rec + (size_t)(y0 + lane) * pitch + x0 - 1) : 128;
    // Chroma edges (EdgeN<8>): lanes 0..15 read plane lane / 8.
    int c = (lane / 8) & 1, k = lane % 8;
    const u8 *crec = rec + luma_size + c * chroma_size;
    u8 ctop = (lane < 16 && m.a.top) ? __ldcg(crec + (size_t)(cy0 - 1) * cpitch + cx0 + k) : 128;
    u8 cleft = (lane < 16 && m.a.left) ? __ldcg(crec + (size_t)(cy0 + k) * cpitch + cx0 - 1) : 128;
    u8 ccorner =
        (lane < 2 && m.a.top_left) ? __ldcg(rec + luma_size + lane * chroma_size + (size_t)(cy0 - 1) * cpitch + cx0 - 1)
                                    : 128;
#pragma unroll
    for (int k2 = 0; k2 < 2; k2++) ((u32 *)s.src_y)[lane + 32 * k2] = luma[k2];
    ((u32 *)&s.src_c[0][0])[lane] = chroma;
    if (lane < 21) s.ry[0][lane] = border;
    // I16 edges (avc::intra::EdgeN<16>::gather): p[x, -1] is border lane x + 1.
    u8 above = __shfl_down_sync(FULL_MASK, border, 1);
    if (lane < 16) {
        s.ry[1 + lane][0] = left;
        s.top8[c][k] = ctop;
        s.left8[c][k] = cleft;
        s.left16[lane] = left;
        s.top16[lane] = m.a.top ? above : 128;
    }
    if (lane < 2) s.corner8[lane] = ccorner;
    __syncwarp();
}

// ---- Intra16x16 decision (avc::analyse::best_i16_mode) -------------------------------

// Returns (cost << 4) | mode of the best Intra16x16 mode.
__device__ u32 best_i16(Scratch &s, const MbCtx &m, int corner, int lambda) {
    int dc = dc16x16(s.top16, s.left16, m.a);
    int pa, pb, pc;
    plane_params(s.top16, s.left16, corner, 16, &pa, &pb, &pc);
    u32 best = 0xffffffffu;
    int blk = m.lane & 15, bx = (blk % 4) * 4, by = (blk / 4) * 4;
    for (int it = 0; it < 2; it++) {
        int mode = 2 * it + (m.lane >> 4);
        int diff[16];
#pragma unroll
        for (int i = 0; i < 16; i++) {
            int x = bx + i % 4, y = by + i / 4;
            diff[i] = s.src_y[y * 16 + x] - predict16x16_sample(mode, s.top16, s.left16, dc, pa, pb, pc, x, y);
        }
        int satd = (int)satd4x4(diff);
        int total = group_sum(satd, 16);
        u32 key = ((u32)(total + lambda * I16_MB_BITS) << 4) | (u32)mode;
        if (i16_mode_allowed(mode, m.a) && key < best) best = key;
    }
    return warp_min_u32(best);
}

// Phase timing for FRAMEPRESS_CUDA_PROFILE: cycles per phase summed into `prof`.
#define PHASES 12
struct PhaseClock {
    u64 *prof;
    long long t;
    __device__ void lap(int phase) {
        if (!prof) return;
        __syncwarp();
        long long now = clock64();
        if ((threadIdx.x & 31) == 0) atomicAdd(&prof[phase], (u64)(now - t));
        t = now;
    }
};

// ---- Intra4x4 coding (avc::macroblock::code_i4) ---------------------------------------

// The 4x4 blocks are coded in wavefront steps t = bx4 + 2 * by4 (in 4x4 units):
// a block needs only its left, top, top-left and top-right neighbours, all of
// earlier steps, so the two blocks of a step are coded at once, one per half
// warp (10 steps instead of 16). Returns the block of step `t` for half `h`, or -1.
__device__ __forceinline__ int i4_step_block(int t, int h) {
    int by_min = t > 3 ? (t - 2) / 2 : 0;
    int by_max = t / 2 < 3 ? t / 2 : 3;
    int by4 = by_min + h;
    if (by4 > by_max) return -1;
    return luma_block_at((t - 2 * by4) * 4, by4 * 4);
}

// The residual src - pred of Intra4x4 `mode` over the edge values `e` held
// in registers (e[3 - y] = p[-1, y], e[4] = p[-1, -1], e[5 + x] = p[x, -1]),
// written out per mode from I4_TAPS so that every index is known at compile
// time; lanes costing different modes diverge here, but only over ALU code.
__device__ __forceinline__ void i4_residual(int mode, const int *e, int dc, const int *src, int *d) {
    switch (mode) {
    case 0: // vertical (8.3.1.2.1)
        d[0] = src[0] - e[5];
        d[1] = src[1] - e[6];
        d[2] = src[2] - e[7];
        d[3] = src[3] - e[8];
        d[4] = src[4] - e[5];
        d[5] = src[5] - e[6];
        d[6] = src[6] - e[7];
        d[7] = src[7] - e[8];
        d[8] = src[8] - e[5];
        d[9] = src[9] - e[6];
        d[10] = src[10] - e[7];
        d[11] = src[11] - e[8];
        d[12] = src[12] - e[5];
        d[13] = src[13] - e[6];
        d[14] = src[14] - e[7];
        d[15] = src[15] - e[8];
        break;
    case 1: // horizontal (8.3.1.2.2)
        d[0] = src[0] - e[3];
        d[1] = src[1] - e[3];
        d[2] = src[2] - e[3];
        d[3] = src[3] - e[3];
        d[4] = src[4] - e[2];
        d[5] = src[5] - e[2];
        d[6] = src[6] - e[2];
        d[7] = src[7] - e[2];
        d[8] = src[8] - e[1];
        d[9] = src[9] - e[1];
        d[10] = src[10] - e[1];
        d[11] = src[11] - e[1];
        d[12] = src[12] - e[0];
        d[13] = src[13] - e[0];
        d[14] = src[14] - e[0];
        d[15] = src[15] - e[0];
        break;
    case 2: // DC (8.3.1.2.3)
#pragma unroll
        for (int p = 0; p < 16; p++) d[p] = src[p] - dc;
        break;
    case 3: // diagonal down left (8.3.1.2.4)
        d[0] = src[0] - ((e[5] + 2 * e[6] + e[7] + 2) >> 2);
        d[1] = src[1] - ((e[6] + 2 * e[7] + e[8] + 2) >> 2);
        d[2] = src[2] - ((e[7] + 2 * e[8] + e[9] + 2) >> 2);
        d[3] = src[3] - ((e[8] + 2 * e[9] + e[10] + 2) >> 2);
        d[4] = src[4] - ((e[6] + 2 * e[7] + e[8] + 2) >> 2);
        d[5] = src[5] - ((e[7] + 2 * e[8] + e[9] + 2) >> 2);
        d[6] = src[6] - ((e[8] + 2 * e[9] + e[10] + 2) >> 2);
        d[7] = src[7] - ((e[9] + 2 * e[10] + e[11] + 2) >> 2);
        d[8] = src[8] - ((e[7] + 2 * e[8] + e[9] + 2) >> 2);
        d[9] = src[9] - ((e[8] + 2 * e[9] + e[10] + 2) >> 2);
        d[10] = src[10] - ((e[9] + 2 * e[10] + e[11] + 2) >> 2);
        d[11] = src[11] - ((e[10] + 2 * e[11] + e[12] + 2) >> 2);
        d[12] = src[12] - ((e[8] + 2 * e[9] + e[10] + 2) >> 2);
        d[13] = src[13] - ((e[9] + 2 * e[10] + e[11] + 2) >> 2);
        d[14] = src[14] - ((e[10] + 2 * e[11] + e[12] + 2) >> 2);
        d[15] = src[15] - ((e[11] + 3 * e[12] + 2) >> 2);
        break;
    case 4: // diagonal down right (8.3.1.2.5)
        d[0] = src[0] - ((e[5] + 2 * e[4] + e[3] + 2) >> 2);
        d[1] = src[1] - ((e[4] + 2 * e[5] + e[6] + 2) >> 2);
        d[2] = src[2] - ((e[5] + 2 * e[6] + e[7] + 2) >> 2);
        d[3] = src[3] - ((e[6] + 2 * e[7] + e[8] + 2) >> 2);
        d[4] = src[4] - ((e[4] + 2 * e[3] + e[2] + 2) >> 2);
        d[5] = src[5] - ((e[5] + 2 * e[4] + e[3] + 2) >> 2);
        d[6] = src[6] - ((e[4] + 2 * e[5] + e[6] + 2) >> 2);
        d[7] = src[7] - ((e[5] + 2 * e[6] + e[7] + 2) >> 2);
        d[8] = src[8] - ((e[3] + 2 * e[2] + e[1] + 2) >> 2);
        d[9] = src[9] - ((e[4] + 2 * e[3] + e[2] + 2) >> 2);
        d[10] = src[10] - ((e[5] + 2 * e[4] + e[3] + 2) >> 2);
        d[11] = src[11] - ((e[4] + 2 * e[5] + e[6] + 2) >> 2);
        d[12] = src[12] - ((e[2] + 2 * e[1] + e[0] + 2) >> 2);
        d[13] = src[13] - ((e[3] + 2 * e[2] + e[1] + 2) >> 2);
        d[14] = src[14] - ((e[4] + 2 * e[3] + e[2] + 2) >> 2);
        d[15] = src[15] - ((e[5] + 2 * e[4] + e[3] + 2) >> 2);
        break;
    case 5: // vertical right (8.3.1.2.6)
        d[0] = src[0] - ((e[4] + e[5] + 1) >> 1);
        d[1] = src[1] - ((e[5] + e[6] + 1) >> 1);
        d[2] = src[2] - ((e[6] + e[7] + 1) >> 1);
        d[3] = src[3] - ((e[7] + e[8] + 1) >> 1);
        d[4] = src[4] - ((e[3] + 2 * e[4] + e[5] + 2) >> 2);
        d[5] = src[5] - ((e[4] + 2 * e[5] + e[6] + 2) >> 2);
        d[6] = src[6] - ((e[5] + 2 * e[6] + e[7] + 2) >> 2);
        d[7] = src[7] - ((e[6] + 2 * e[7] + e[8] + 2) >> 2);
        d[8] = src[8] - ((e[2] + 2 * e[3] + e[4] + 2) >> 2);
        d[9] = src[9] - ((e[4] + e[5] + 1) >> 1);
        d[10] = src[10] - ((e[5] + e[6] + 1) >> 1);
        d[11] = src[11] - ((e[6] + e[7] + 1) >> 1);
        d[12] = src[12] - ((e[1] + 2 * e[2] + e[3] + 2) >> 2);
        d[13] = src[13] - ((e[3] + 2 * e[4] + e[5] + 2) >> 2);
        d[14] = src[14] - ((e[4] + 2 * e[5] + e[6] + 2) >> 2);
        d[15] = src[15] - ((e[5] + 2 * e[6] + e[7] + 2) >> 2);
        break;
    case 6: // horizontal down (8.3.1.2.7)
        d[0] = src[0] - ((e[4] + e[3] + 1) >> 1);
        d[1] = src[1] - ((e[3] + 2 * e[4] + e[5] + 2) >> 2);
        d[2] = src[2] - ((e[6] + 2 * e[5] + e[4] + 2) >> 2);
        d[3] = src[3] - ((e[7] + 2 * e[6] + e[5] + 2) >> 2);
        d[4] = src[4] - ((e[3] + e[2] + 1) >> 1);
        d[5] = src[5] - ((e[4] + 2 * e[3] + e[2] + 2) >> 2);
        d[6] = src[6] - ((e[4] + e[3] + 1) >> 1);
        d[7] = src[7] - ((e[3] + 2 * e[4] + e[5] + 2) >> 2);
        d[8] = src[8] - ((e[2] + e[1] + 1) >> 1);
        d[9] = src[9] - ((e[3] + 2 * e[2] + e[1] + 2) >> 2);
        d[10] = src[10] - ((e[3] + e[2] + 1) >> 1);
        d[11] = src[11] - ((e[4] + 2 * e[3] + e[2] + 2) >> 2);
        d[12] = src[12] - ((e[1] + e[0] + 1) >> 1);
        d[13] = src[13] - ((e[2] + 2 * e[1] + e[0] + 2) >> 2);
        d[14] = src[14] - ((e[2] + e[1] + 1) >> 1);
        d[15] = src[15] - ((e[3] + 2 * e[2] + e[1] + 2) >> 2);
        break;
    case 7: // vertical left (8.3.1.2.8)
        d[0] = src[0] - ((e[5] + e[6] + 1) >> 1);
        d[1] = src[1] - ((e[6] + e[7] + 1) >> 1);
        d[2] = src[2] - ((e[7] + e[8] + 1) >> 1);
        d[3] = src[3] - ((e[8] + e[9] + 1) >> 1);
        d[4] = src[4] - ((e[5] + 2 * e[6] + e[7] + 2) >> 2);
        d[5] = src[5] - ((e[6] + 2 * e[7] + e[8] + 2) >> 2);
        d[6] = src[6] - ((e[7] + 2 * e[8] + e[9] + 2) >> 2);
        d[7] = src[7] - ((e[8] + 2 * e[9] + e[10] + 2) >> 2);
        d[8] = src[8] - ((e[6] + e[7] + 1) >> 1);
        d[9] = src[9] - ((e[7] + e[8] + 1) >> 1);
        d[10] = src[10] - ((e[8] + e[9] + 1) >> 1);
        d[11] = src[11] - ((e[9] + e[10] + 1) >> 1);
        d[12] = src[12] - ((e[6] + 2 * e[7] + e[8] + 2) >> 2);
        d[13] = src[13] - ((e[7] + 2 * e[8] + e[9] + 2) >> 2);
        d[14] = src[14] - ((e[8] + 2 * e[9] + e[10] + 2) >> 2);
        d[15] = src[15] - ((e[9] + 2 * e[10] + e[11] + 2) >> 2);
        break;
    default: // horizontal up (8.3.1.2.9)
        d[0] = src[0] - ((e[3] + e[2] + 1) >> 1);
        d[1] = src[1] - ((e[3] + 2 * e[2] + e[1] + 2) >> 2);
        d[2] = src[2] - ((e[2] + e[1] + 1) >> 1);
        d[3] = src[3] - ((e[2] + 2 * e[1] + e[0] + 2) >> 2);
        d[4] = src[4] - ((e[2] + e[1] + 1) >> 1);
        d[5] = src[5] - ((e[2] + 2 * e[1] + e[0] + 2) >> 2);
        d[6] = src[6] - ((e[1] + e[0] + 1) >> 1);
        d[7] = src[7] - ((e[1] + 3 * e[0] + 2) >> 2);
        d[8] = src[8] - ((e[1] + e[0] + 1) >> 1);
        d[9] = src[9] - ((e[1] + 3 * e[0] + 2) >> 2);
        d[10] = src[10] - e[0];
        d[11] = src[11] - e[0];
        d[12] = src[12] - e[0];
        d[13] = src[13] - e[0];
        d[14] = src[14] - e[0];
        d[15] = src[15] - e[0];
        break;
    }
}

// SATD cost of Intra4x4 `mode` for the block at (bx, by), in this lane's registers.
__device__ __forceinline__ u32 i4_mode_cost(const Scratch &s, int mode, const int *edge, int dc, int bx, int by,
                                            int lambda) {
    int e[13], src[16], d[16];
#pragma unroll
    for (int k = 0; k < 13; k++) e[k] = edge[k];
#pragma unroll
    for (int p = 0; p < 16; p++) src[p] = s.src_y[(by + p / 4) * 16 + bx + p % 4];
    i4_residual(mode, e, dc, src, d);
    return satd4x4(d) + lambda * I4_MODE_BITS;
}

// Codes the luma as Intra4x4 into s.ry; returns the total cost and sets
// *valid (false when a block broke the transform range rule).
__device__ u32 code_i4(Scratch &s, const MbCtx &m, int lambda, bool *valid, u64 *prof) {
    PhaseClock clk = {prof, prof ? clock64() : 0};
    int lane = m.lane, pos = lane & 15, px = pos & 3, py = pos >> 2, half = lane >> 4;
    u32 cost = 0; // of this half's blocks
    bool ok_all = true;
    for (int t = 0; t < 10; t++) {
        int mine = i4_step_block(t, half);
        bool active = mine >= 0;
        int blk = active ? mine : i4_step_block(t, 0); // an idle half shadows half 0
        int bx = luma_block_x(blk), by = luma_block_y(blk);
        Avail a = i4_block_avail(m, blk);
        int *e = s.e4[half];
        if (pos < 13) e[pos] = i4_edge_sample(s, bx, by, a, pos);
        __syncwarp();
        clk.lap(7);
        int dc = dc4x4(e, a);
        // Mode decision (avc::analyse::best_i4_mode): lane `pos` < 9 of each
        // half costs mode `pos`; the lowest (cost, mode) wins.
        u32 key = 0xffffffffu;
        if (pos < 9 && i4_mode_allowed(pos, a)) key = (i4_mode_cost(s, pos, e, dc, bx, by, lambda) << 4) | (u32)pos;
        clk.lap(8);
        u32 best0 = warp_min_u32(half == 0 ? key : 0xffffffffu);
        u32 best1 = warp_min_u32(half == 1 ? key : 0xffffffffu);
        u32 best = half ? best1 : best0;
        int mode = best & 15;
        clk.lap(9);
        int pred = mode == 2 ? dc : i4_tap_predict(m.t->taps[mode][pos], e);
        int src = s.src_y[(by + py) * 16 + bx + px];
        int level = quant_lane_q(forward4x4_lane(src - pred), m.lq);
        int r;
        bool ok = inverse4x4_lane(dequant_lane_q(level, m.lq), &r);
        clk.lap(10);
        if (active) {
            ok_all = ok_all && ok;
            cost += best >> 4;
            s.ry[1 + by + py][1 + bx + px] = (u8)(ok ? clip_pixel(pred + r) : clip_pixel(pred));
            s.i4_levels[blk][unzigzag(pos)] = (i16)level;
            if (pos == 0) s.modes[blk] = (u8)mode;
        }
        __syncwarp();
        clk.lap(11);
    }
    *valid = __all_sync(FULL_MASK, ok_all);
    return lambda * I4_MB_BITS + cost + __shfl_xor_sync(FULL_MASK, cost, 16);
}

// ---- Intra16x16 coding (avc::macroblock::code_i16) -------------------------------------

// Codes the luma as Intra16x16 with `mode` into s.i16_ac / s.i16_dc / s.i16_recon,
// one lane per 4x4 block; returns whether the reconstruction stayed within range.
__device__ bool code_i16(Scratch &s, const MbCtx &m, int mode, int corner) {
    int lane = m.lane;
    int dc = dc16x16(s.top16, s.left16, m.a);
    int pa, pb, pc;
    plane_params(s.top16, s.left16, corner, 16, &pa, &pb, &pc);
    int blk = lane & 15, bx = luma_block_x(blk), by = luma_block_y(blk);
    int b[16];
#pragma unroll
    for (int p = 0; p < 16; p++) {
        int x = bx + p % 4, y = by + p / 4;
        b[p] = s.src_y[y * 16 + x] - predict16x16_sample(mode, s.top16, s.left16, dc, pa, pb, pc, x, y);
    }
    forward4x4(b);
    if (lane < 16) s.i16_dc_spatial[(by / 4) * 4 + bx / 4] = b[0];
    quant4x4(b, m.qp, true);
    b[0] = 0;
    if (lane < 16) {
#pragma unroll
        for (int p = 0; p < 16; p++) s.i16_ac[blk][unzigzag(p)] = (i16)b[p];
    }
    __syncwarp();
    if (lane == 0) {
        int dc_levels[16], dc_y[16];
        forward_quant_luma_dc(s.i16_dc_spatial, m.qp, dc_levels);
        bool ok = inverse_luma_dc(dc_levels, m.qp, dc_y);
        for (int i = 0; i < 16; i++) {
            s.i16_dc[unzigzag(i)] = (i16)dc_levels[i];
            s.i16_dc_y[i] = ok ? dc_y[i] : 0;
        }
        s.dc_ok = ok;
    }
    __syncwarp();
    int d[16], r[16];
    dequant4x4(b, m.qp, true, d);
    d[0] = s.i16_dc_y[(by / 4) * 4 + bx / 4];
    bool ok = inverse4x4(d, r) && s.dc_ok;
    if (lane < 16) {
#pragma unroll
        for (int p = 0; p < 16; p++) {
            int x = bx + p % 4, y = by + p / 4;
            int pred = predict16x16_sample(mode, s.top16, s.left16, dc, pa, pb, pc, x, y);
            s.i16_recon[y * 16 + x] = (u8)(ok ? clip_pixel(pred + r[p]) : 0);
        }
    }
    __syncwarp();
    return __all_sync(FULL_MASK, ok);
}

// ---- chroma (avc::analyse::best_chroma_mode, avc::macroblock::code_chroma) ----------

__device__ int best_chroma(Scratch &s, const MbCtx &m, const int *corner) {
    int lane = m.lane, mode = lane >> 3, c = (lane >> 2) & 1, blk = lane & 3;
    int bx = (blk % 2) * 4, by = (blk / 2) * 4;
    int pa, pb, pc;
    plane_params(s.top8[c], s.left8[c], corner[c], 8, &pa, &pb, &pc);
    int dc = chroma_dc_value(s.top8[c], s.left8[c], m.a, blk % 2, blk / 2);
    int diff[16];
#pragma unroll
    for (int i = 0; i < 16; i++) {
        int x = bx + i % 4, y = by + i / 4;
        int plane = clip_pixel((pa + pb * (x - 3) + pc * (y - 3) + 16) >> 5);
        int pred = mode == 0 ? dc : (mode == 1 ? s.left8[c][y] : (mode == 2 ? s.top8[c][x] : plane));
        diff[i] = s.src_c[c][y * 8 + x] - pred;
    }
    int total = group_sum((int)satd4x4(diff), 8);
    u32 key = ((u32)total << 4) | (u32)mode;
    if (!chroma_mode_allowed(mode, m.a)) key = 0xffffffffu;
    return (int)(warp_min_u32(key) & 15);
}

// Codes both chroma planes with `mode`, one lane per 4x4 block (lane & 7 =
// plane * 4 + block); returns whether they stayed within range.
__device__ bool code_chroma(Scratch &s, const MbCtx &m, int mode, const int *corner) {
    int lane = m.lane, q = lane & 7, c = q / 4, blk = q % 4;
    int bx = (blk % 2) * 4, by = (blk / 2) * 4;
    int pa, pb, pc;
    plane_params(s.top8[c], s.left8[c], corner[c], 8, &pa, &pb, &pc);
    int dc = chroma_dc_value(s.top8[c], s.left8[c], m.a, blk % 2, blk / 2);
    int preds[16], b[16];
#pragma unroll
    for (int p = 0; p < 16; p++) {
        int x = bx + p % 4, y = by + p / 4;
        int plane = clip_pixel((pa + pb * (x - 3) + pc * (y - 3) + 16) >> 5);
        preds[p] = mode == 0 ? dc : (mode == 1 ? s.left8[c][y] : (mode == 2 ? s.top8[c][x] : plane));
        b[p] = s.src_c[c][y * 8 + x] - preds[p];
    }
    forward4x4(b);
    if (lane < 8) s.c_dc[c][blk] = b[0];
    quant4x4(b, m.qp_c, true);
    b[0] = 0;
    if (lane < 8) {
#pragma unroll
        for (int p = 0; p < 16; p++) s.c_ac[c][blk][unzigzag(p)] = (i16)b[p];
    }
    __syncwarp();
    bool dc_ok = true;
    if (lane < 2) {
        int lv[4], dcc[4];
        forward_quant_chroma_dc(s.c_dc[lane], m.qp_c, lv);
        dc_ok = inverse_chroma_dc(lv, m.qp_c, dcc);
        for (int i = 0; i < 4; i++) {
            s.c_dcl[lane][i] = (i16)lv[i];
            s.c_dc_c[lane][i] = dc_ok ? dcc[i] : 0;
        }
    }
    dc_ok = __all_sync(FULL_MASK, dc_ok);
    __syncwarp();
    int d[16], r[16];
    dequant4x4(b, m.qp_c, true, d);
    d[0] = s.c_dc_c[c][blk];
    bool ok = inverse4x4(d, r);
    if (lane < 8) {
#pragma unroll
        for (int p = 0; p < 16; p++) s.c_recon[c][(by + p / 4) * 8 + bx + p % 4] = (u8)(ok ? clip_pixel(preds[p] + r[p]) : 0);
    }
    __syncwarp();
    return __all_sync(FULL_MASK, ok) && dc_ok;
}

// ---- candidates and the 3200-bit bound (avc::macroblock::intra_mb_bits_bound) --------
// mb_type is counted as in a P slice (intra values 5 higher, Table 7-13), so the
// bound holds in I and P slices alike.
#define P_SLICE_INTRA_OFFSET 5u

// CodedBlockPatternChroma: 2 with AC levels, 1 with DC levels only (7.4.5).
// Each lane looks at 4 AC levels (index 0 of each block is always 0) and one DC.
__device__ int chroma_cbp(const Scratch &s, int lane) {
    const i16 *ac = &s.c_ac[0][0][0] + lane * 4;
    bool a = ac[0] != 0 || ac[1] != 0 || ac[2] != 0 || ac[3] != 0;
    bool d = lane < 8 && (&s.c_dcl[0][0])[lane] != 0;
    if (__any_sync(FULL_MASK, a)) return 2;
    return __any_sync(FULL_MASK, d) ? 1 : 0;
}

// CodedBlockPatternLuma of Intra4x4 levels: bit b8 when an 8x8 quarter has a
// nonzero level. Lane l looks at levels 8l..8l+7 (half of block l / 2).
__device__ int i4_cbp_luma(const Scratch &s, int lane) {
    const i16 *v = &s.i4_levels[0][0] + lane * 8;
    bool nz = false;
#pragma unroll
    for (int i = 0; i < 8; i++) nz = nz || v[i] != 0;
    u32 mask = __ballot_sync(FULL_MASK, nz);
    int cbp = 0;
    for (int g = 0; g < 4; g++) cbp |= ((mask >> (8 * g)) & 0xff) != 0 ? 1 << g : 0;
    return cbp;
}

// Whether any Intra16x16 AC level is nonzero (index 0 of each block is 0).
__device__ bool i16_any_ac(const Scratch &s, int lane) {
    const i16 *v = &s.i16_ac[0][0] + lane * 8;
    bool nz = false;
#pragma unroll
    for (int i = 0; i < 8; i++) nz = nz || v[i] != 0;
    return __any_sync(FULL_MASK, nz);
}

// Worst-case bits of the candidate (neighbour independent), or -1 when a
// level cannot be coded; every lane gets the result.
__device__ int candidate_bits(const Scratch &s, const MbCtx &m, bool i4, int i16_mode, int chroma_mode, int cbp_luma,
                              int cbp_chroma) {
    int lane = m.lane, bits = 0;
    if (lane < 16) {
        if (i4) {
            if (cbp_luma & (1 << (lane / 4))) bits = residual_block_bits_bound(s.i4_levels[lane], 16, false, m.t->len);
        } else if (cbp_luma != 0) {
            bits = residual_block_bits_bound(s.i16_ac[lane] + 1, 15, false, m.t->len);
        }
    } else if (lane == 16) {
        if (!i4) bits = residual_block_bits_bound(s.i16_dc, 16, false, m.t->len);
    } else if (lane < 19) {
        if (cbp_chroma > 0) bits = residual_block_bits_bound(s.c_dcl[lane - 17], 4, true, m.t->len);
    } else if (lane < 27) {
        int q = lane - 19;
        if (cbp_chroma == 2) bits = residual_block_bits_bound(s.c_ac[q / 4][q % 4] + 1, 15, false, m.t->len);
    }
    if (__any_sync(FULL_MASK, bits < 0)) return -1;
    int total = warp_sum(bits) + (int)ue_len(chroma_mode) + 1;
    if (i4)
        total += (int)ue_len(0 + P_SLICE_INTRA_OFFSET) + 16 * 4 + (int)ue_len(INTRA_CBP_TO_CODE[cbp_luma | (cbp_chroma << 4)]);
    else
        total += (int)ue_len(i16_mb_type(i16_mode, cbp_luma, cbp_chroma) + P_SLICE_INTRA_OFFSET);
    return total;
}

// Writes the chosen macroblock's record and reconstruction.
__device__ void store_mb(const Scratch &s, const MbCtx &m, int kind, int i16_mode, int chroma_mode, int cbp_luma,
                         int cbp_chroma, MbRecord *rec, u8 *recon, const u8 *src_unused, int hm) {
    int lane = m.lane;
    int pitch = m.wm * 16, cpitch = m.wm * 8;
    size_t luma_size = (size_t)pitch * hm * 16, chroma_size = (size_t)cpitch * hm * 8;
    int x0 = m.mb_x * 16, y0 = m.mb_y * 16;
    bool pcm = kind == KIND_PCM;
    for (int i = lane; i < 256; i += 32) {
        u8 v = pcm ? s.src_y[i] : (kind == KIND_I4 ? s.ry[1 + i / 16][1 + i % 16] : s.i16_recon[i]);
        recon[(size_t)(y0 + i / 16) * pitch + x0 + i % 16] = v;
    }
    for (int i = lane; i < 128; i += 32) {
        int c = i / 64, k = i % 64;
        u8 v = pcm ? s.src_c[c][k] : s.c_recon[c][k];
        recon[luma_size + c * chroma_size + (size_t)(m.mb_y * 8 + k / 8) * cpitch + m.mb_x * 8 + k % 8] = v;
    }
    if (lane < 8) (&rec->mv[0][0])[lane] = 0;
    if (lane == 0) {
        rec->part = 0;
        rec->kind = (u8)kind;
        rec->i16_mode = (u8)(kind == KIND_I16 ? i16_mode : 0);
        rec->chroma_mode = (u8)(pcm ? 0 : chroma_mode);
        rec->cbp_luma = (u8)(pcm ? 0 : cbp_luma);
        rec->cbp_chroma = (u8)(pcm ? 0 : cbp_chroma);
    }
    if (lane < 16) {
        rec->modes[lane] = kind == KIND_I4 ? s.modes[lane] : 0;
        int count = 16;
        if (!pcm) {
            const i16 *lv = kind == KIND_I4 ? s.i4_levels[lane] : s.i16_ac[lane];
            count = (cbp_luma & (1 << (lane / 4))) ? total_coeff(lv, 16) : 0;
        }
        rec->luma_counts[lane] = (u8)count;
        rec->luma_dc[lane] = kind == KIND_I16 ? s.i16_dc[lane] : 0;
    } else if (lane < 24) {
        int q = lane - 16;
        int count = pcm ? 16 : ((cbp_chroma & 2) ? total_coeff(s.c_ac[q / 4][q % 4] + 1, 15) : 0);
        rec->chroma_counts[q] = (u8)count;
        rec->chroma_dc[q / 4][q % 4] = pcm ? 0 : s.c_dcl[q / 4][q % 4];
    }
    for (int i = lane; i < 256; i += 32) {
        i16 v = 0;
        if (kind == KIND_I4) v = s.i4_levels[i / 16][i % 16];
        if (kind == KIND_I16) v = s.i16_ac[i / 16][i % 16];
        rec->luma[i / 16][i % 16] = v;
    }
    for (int i = lane; i < 128; i += 32) rec->chroma_ac[i / 64][(i / 16) % 4][i % 16] = pcm ? 0 : s.c_ac[i / 64][(i / 16) % 4][i % 16];
}

// Codes one macroblock (avc::macroblock::code_intra_mb) with the warp.
__device__ void code_intra_mb(Scratch &s, const MbCtx &m, const u8 *src, u8 *rec, int hm, MbRecord *out, bool use_i4,
                              u64 *prof) {
    PhaseClock clk = {prof, prof ? clock64() : 0};
    load_mb(s, m, src, rec, hm);
    clk.lap(0);
    int lambda = (int)LAMBDA[clamp_int(m.qp, 0, 51)];
    int corner16 = m.a.top_left ? s.ry[0][0] : 128;
    u32 i16_best = best_i16(s, m, corner16, lambda);
    int i16_mode = i16_best & 15;
    u32 i16_cost = i16_best >> 4;
    clk.lap(1);
    // Without Intra4x4 (avc::macroblock::code_intra_mb_with, i4 = false) its
    // candidate costs u32::MAX and is never valid: Intra16x16, else I_PCM.
    bool i4_valid = false;
    u32 i4_cost = 0xffffffffu;
    if (use_i4) i4_cost = code_i4(s, m, lambda, &i4_valid, prof);
    clk.lap(2);
    int corner8[2] = {s.corner8[0], s.corner8[1]};
    int chroma_mode = best_chroma(s, m, corner8);
    bool ch_valid = code_chroma(s, m, chroma_mode, corner8);
    int cbp_chroma = chroma_cbp(s, m.lane);
    clk.lap(3);

    bool i4_first = i4_cost <= i16_cost;
    for (int t = 0; t < 2; t++) {
        bool try_i4 = (t == 0) == i4_first;
        int cbp_luma = 0;
        bool valid;
        if (try_i4) {
            cbp_luma = i4_cbp_luma(s, m.lane);
            valid = i4_valid && ch_valid;
        } else {
            valid = code_i16(s, m, i16_mode, corner16) && ch_valid;
            cbp_luma = i16_any_ac(s, m.lane) ? 15 : 0;
        }
        clk.lap(4);
        if (!valid) continue;
        int bits = candidate_bits(s, m, try_i4, i16_mode, chroma_mode, cbp_luma, cbp_chroma);
        clk.lap(5);
        if (bits >= 0 && bits <= MB_MAX_BITS) {
            store_mb(s, m, try_i4 ? KIND_I4 : KIND_I16, i16_mode, chroma_mode, cbp_luma, cbp_chroma, out, rec, src, hm);
            clk.lap(6);
            return;
        }
    }
    store_mb(s, m, KIND_PCM, 0, 0, 0, 0, out, rec, src, hm);
    clk.lap(6);
}

#define INTRA_WARPS 4
// Blocks per SM the register budget must allow (4 x 4 warps); the host may
// set another value (FRAMEPRESS_INTRA_MIN_BLOCKS, for tuning).
#ifndef INTRA_MIN_BLOCKS
#define INTRA_MIN_BLOCKS 4
#endif

// One launch per wavefront step: every macroblock (x, y) with x + 2y == step
// of each of `nframes` pictures; `src` and `rec` hold padded 4:2:0 frames
// `frame_bytes` apart, `recs` wm*hm records per frame. `use_i4` considers
// Intra4x4; with `p_mode` only the macroblocks of a P picture marked
// KIND_PENDING are coded (the others are inter, coded already).
extern "C" __global__ void __launch_bounds__(32 * INTRA_WARPS, INTRA_MIN_BLOCKS)
    intra_wavefront(const u8 *__restrict__ src, u8 *__restrict__ rec, MbRecord *__restrict__ recs, int wm, int hm,
                    int nframes, long long frame_bytes, int qp, int step, int use_i4, int p_mode, u64 *prof) {
    __shared__ Scratch scratch[INTRA_WARPS];
    __shared__ IntraTables tables;
    int warp = threadIdx.y;
    int thread = warp * 32 + threadIdx.x;
    for (int i = thread; i < 9 * 16; i += 32 * INTRA_WARPS) tables.taps[i / 16][i % 16] = I4_TAPS[i / 16][i % 16];
    for (int i = thread; i < 9 * 2; i += 32 * INTRA_WARPS) tables.taps[i / 2][16 + i % 2] = 0;
    load_len_tables(tables.len, thread, 32 * INTRA_WARPS);
    __syncthreads();
    int y_min = step - (wm - 1) > 0 ? (step - (wm - 1) + 1) / 2 : 0;
    int y_max = step / 2 < hm - 1 ? step / 2 : hm - 1;
    int count = y_max - y_min + 1;
    if (count <= 0) return;
    int i = blockIdx.x * INTRA_WARPS + warp;
    if (i >= count * nframes) return;
    if (prof && threadIdx.x == 0) atomicAdd(&prof[PHASES], 1ull);
    int f = i / count, mb_y = y_min + i % count, mb_x = step - 2 * mb_y;
    MbRecord *out = recs + (size_t)f * wm * hm + mb_y * wm + mb_x;
    if (p_mode && out->kind != KIND_PENDING) return;
    MbCtx m;
    m.mb_x = mb_x;
    m.mb_y = mb_y;
    m.wm = wm;
    m.qp = qp;
    m.qp_c = chroma_qp(qp);
    m.lane = threadIdx.x;
    m.t = &tables;
    m.lq = lane_quant(qp);
    m.cq = lane_quant(m.qp_c);
    m.a.left = mb_x > 0;
    m.a.top = mb_y > 0;
    m.a.top_left = m.a.left && m.a.top;
    m.a.top_right = m.a.top && mb_x + 1 < wm;
    code_intra_mb(scratch[warp], m, src + (size_t)f * frame_bytes, rec + (size_t)f * frame_bytes, hm, out,
                  use_i4 != 0, prof);
}

// The context of macroblock (mb_x, mb_y).
__device__ MbCtx intra_ctx(int mb_x, int mb_y, int wm, int qp, const IntraTables *t) {
    MbCtx m;
    m.mb_x = mb_x;
    m.mb_y = mb_y;
    m.wm = wm;
    m.qp = qp;
    m.qp_c = chroma_qp(qp);
    m.lane = threadIdx.x;
    m.t = t;
    m.lq = lane_quant(qp);
    m.cq = lane_quant(m.qp_c);
    m.a.left = mb_x > 0;
    m.a.top = mb_y > 0;
    m.a.top_left = m.a.left && m.a.top;
    m.a.top_right = m.a.top && mb_x + 1 < wm;
    return m;
}

// intra_wavefront in one launch (see "persistent wavefront kernels" in
// common.cu): `flags` (one per macroblock, 0 before the launch; 1 already
// for the inter macroblocks of a P picture) rise to 1 as macroblocks are
// coded; `ticket` is a counter at 0.
extern "C" __global__ void __launch_bounds__(32 * INTRA_WARPS, INTRA_MIN_BLOCKS)
    intra_persistent(const u8 *__restrict__ src, u8 *rec, MbRecord *recs, int wm, int hm, int nframes,
                     long long frame_bytes, int qp, int use_i4, int p_mode, u32 *flags, u32 *ticket,
                     const u32 *__restrict__ step_off, int steps) {
    __shared__ Scratch scratch[INTRA_WARPS];
    __shared__ IntraTables tables;
    int warp = threadIdx.y;
    int thread = warp * 32 + threadIdx.x;
    for (int i = thread; i < 9 * 16; i += 32 * INTRA_WARPS) tables.taps[i / 16][i % 16] = I4_TAPS[i / 16][i % 16];
    for (int i = thread; i < 9 * 2; i += 32 * INTRA_WARPS) tables.taps[i / 2][16 + i % 2] = 0;
    load_len_tables(tables.len, thread, 32 * INTRA_WARPS);
    __syncthreads();
    for (;;) {
        int f, mb_x, mb_y;
        if (!wavefront_ticket(take_ticket(ticket), step_off, steps, wm, nframes, &f, &mb_x, &mb_y)) return;
        int addr = mb_y * wm + mb_x;
        MbRecord *out = recs + (size_t)f * wm * hm + addr;
        if (p_mode && out->kind != KIND_PENDING) continue;
        u32 *fl = flags + (size_t)f * wm * hm;
        wait_neighbours(fl, wm, mb_x, mb_y, 1);
        MbCtx m = intra_ctx(mb_x, mb_y, wm, qp, &tables);
        code_intra_mb(scratch[warp], m, src + (size_t)f * frame_bytes, rec + (size_t)f * frame_bytes, hm, out,
                      use_i4 != 0, 0);
        post_flag(fl + addr, 1);
    }
}
