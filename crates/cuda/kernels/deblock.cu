// In-loop deblocking filter (8.7) for I and P pictures, mirroring
// crates/avc/src/deblock.rs (its clause-by-clause reference): macroblocks in
// wavefront order (x + 2y meets the constraints of raster order: a
// macroblock after its left, top and top-right neighbours), one warp each.
// Lanes 0..15 filter the luma lines, 16..23 Cb and 24..31 Cr; within a
// macroblock vertical edges go left to right, then horizontal edges top to
// bottom. bS (8.7.2.1) is 4 on macroblock edges with an intra side and 3
// inside intra macroblocks; between inter blocks it comes from their
// coefficients and vectors; I_PCM has QPY 0.

// Table 8-16: alpha' and beta' by indexA / indexB (bit depth 8).
__constant__ u8 DB_ALPHA[52] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    4, 4, 5, 6, 7, 8, 9, 10, 12, 13, 15, 17, 20, 22, 25, 28,
    32, 36, 40, 45, 50, 56, 63, 71, 80, 90, 101, 113, 127, 144, 162, 182,
    203, 226, 255, 255};
__constant__ u8 DB_BETA[52] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 6, 6, 7, 7, 8, 8,
    9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15, 16, 16,
    17, 17, 18, 18};
// Table 8-17: t'C0 by indexA for bS = 1, 2, 3.
__constant__ u8 DB_TC0[52][3] = {
    {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0},
    {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0},
    {0, 0, 0}, {0, 0, 1}, {0, 0, 1}, {0, 0, 1}, {0, 0, 1}, {0, 1, 1}, {0, 1, 1}, {1, 1, 1},
    {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 2}, {1, 1, 2}, {1, 1, 2}, {1, 1, 2}, {1, 2, 3},
    {1, 2, 3}, {2, 2, 3}, {2, 2, 4}, {2, 3, 4}, {2, 3, 4}, {3, 3, 5}, {3, 4, 6}, {3, 4, 6},
    {4, 5, 7}, {4, 5, 8}, {4, 6, 9}, {5, 7, 10}, {6, 8, 11}, {6, 8, 13}, {7, 10, 14}, {8, 11, 16},
    {9, 12, 18}, {10, 13, 20}, {11, 15, 23}, {13, 17, 25}};

struct DbThresholds {
    int alpha, beta, tc0; // tc0 for the edge's bS (unused for bS 4)
};

// indexA / indexB from qPav with zero filter offsets (8.7.2.2).
__device__ __forceinline__ DbThresholds db_thresholds(int qp_p, int qp_q, int bs) {
    int index = clamp_int((qp_p + qp_q + 1) >> 1, 0, 51);
    DbThresholds t;
    t.alpha = DB_ALPHA[index];
    t.beta = DB_BETA[index];
    t.tc0 = bs < 4 ? DB_TC0[index][bs - 1] : 0;
    return t;
}

// One luma line across an edge (8.7.2.3, 8.7.2.4): q0 at p[0], p0 at p[-step].
template <class P> __device__ void db_luma_line(P p, long long step, int bs, DbThresholds t) {
    int p0 = p[-step], q0 = p[0], p1 = p[-2 * step], q1 = p[step];
    if (abs(p0 - q0) >= t.alpha || abs(p1 - p0) >= t.beta || abs(q1 - q0) >= t.beta) return;
    int p2 = p[-3 * step], q2 = p[2 * step];
    bool ap = abs(p2 - p0) < t.beta, aq = abs(q2 - q0) < t.beta;
    if (bs < 4) {
        int tc = t.tc0 + ap + aq;
        int delta = clamp_int((((q0 - p0) << 2) + (p1 - q1) + 4) >> 3, -tc, tc);
        p[-step] = (u8)clip_pixel(p0 + delta);
        p[0] = (u8)clip_pixel(q0 - delta);
        if (ap) p[-2 * step] = (u8)(p1 + clamp_int((p2 + ((p0 + q0 + 1) >> 1) - (p1 << 1)) >> 1, -t.tc0, t.tc0));
        if (aq) p[step] = (u8)(q1 + clamp_int((q2 + ((p0 + q0 + 1) >> 1) - (q1 << 1)) >> 1, -t.tc0, t.tc0));
        return;
    }
    bool strong = abs(p0 - q0) < (t.alpha >> 2) + 2;
    int p3 = p[-4 * step], q3 = p[3 * step];
    if (ap && strong) {
        p[-step] = (u8)((p2 + 2 * p1 + 2 * p0 + 2 * q0 + q1 + 4) >> 3);
        p[-2 * step] = (u8)((p2 + p1 + p0 + q0 + 2) >> 2);
        p[-3 * step] = (u8)((2 * p3 + 3 * p2 + p1 + p0 + q0 + 4) >> 3);
    } else {
        p[-step] = (u8)((2 * p1 + p0 + q1 + 2) >> 2);
    }
    if (aq && strong) {
        p[0] = (u8)((p1 + 2 * p0 + 2 * q0 + 2 * q1 + q2 + 4) >> 3);
        p[step] = (u8)((p0 + q0 + q1 + q2 + 2) >> 2);
        p[2 * step] = (u8)((2 * q3 + 3 * q2 + q1 + q0 + p0 + 4) >> 3);
    } else {
        p[0] = (u8)((2 * q1 + q0 + p1 + 2) >> 2);
    }
}

// One chroma line across an edge: chromaStyleFilteringFlag = 1, only p0 and q0 change.
template <class P> __device__ void db_chroma_line(P p, long long step, int bs, DbThresholds t) {
    int p0 = p[-step], q0 = p[0], p1 = p[-2 * step], q1 = p[step];
    if (abs(p0 - q0) >= t.alpha || abs(p1 - p0) >= t.beta || abs(q1 - q0) >= t.beta) return;
    if (bs < 4) {
        int tc = t.tc0 + 1;
        int delta = clamp_int((((q0 - p0) << 2) + (p1 - q1) + 4) >> 3, -tc, tc);
        p[-step] = (u8)clip_pixel(p0 + delta);
        p[0] = (u8)clip_pixel(q0 - delta);
    } else {
        p[-step] = (u8)((2 * p1 + p0 + q1 + 2) >> 2);
        p[0] = (u8)((2 * q1 + q0 + p1 + 2) >> 2);
    }
}

// QPY for the filter: 0 for I_PCM (7.4.5).
__device__ __forceinline__ int db_qp(const MbRecord &r, int qp) { return r.kind == KIND_PCM ? 0 : qp; }

// The vector of 4x4 block (bx, by) (in 4-sample units) of an inter macroblock.
__device__ __forceinline__ void db_block_mv(const MbRecord &r, int bx, int by, int *mv) {
    int k = partition_of(r.part, bx * 4, by * 4);
    mv[0] = r.mv[k][0];
    mv[1] = r.mv[k][1];
}

// bS between 4x4 block (pbx, pby) of p and (qbx, qby) of q (8.7.2.1, frame
// macroblocks, one reference picture; avc::deblock::boundary_strength):
// 4 / 3 with an intra side, 2 with coefficients on a side, 1 when the vectors
// differ by 4 or more quarter samples, else 0.
__device__ int db_strength(const MbRecord &p, int pbx, int pby, const MbRecord &q, int qbx, int qby, bool mb_edge) {
    if (p.kind != KIND_INTER || q.kind != KIND_INTER) return mb_edge ? 4 : 3;
    if (p.luma_counts[luma_block_at(pbx * 4, pby * 4)] != 0 || q.luma_counts[luma_block_at(qbx * 4, qby * 4)] != 0)
        return 2;
    int mp[2], mq[2];
    db_block_mv(p, pbx, pby, mp);
    db_block_mv(q, qbx, qby, mq);
    return (abs(mp[0] - mq[0]) >= 4 || abs(mp[1] - mq[1]) >= 4) ? 1 : 0;
}

// Filters the edges of one direction of the macroblock on this lane's line:
// vertical edges (x = 0, 4, 8, 12; chroma 0, 4) along a row, or horizontal
// edges along a column. Each lane owns its line, so the edges follow one
// another without synchronisation. The line's bS comes from the luma 4x4
// blocks on either side of it (chroma edge k and line l: luma edge 2k,
// segment l / 2).
template <class P>
__device__ void db_mb_direction(P frame, const MbRecord *recs, int wm, int hm, int mb_x, int mb_y, int qp,
                                bool vertical) {
    int lane = threadIdx.x;
    bool luma = lane < 16;
    int c = luma ? 0 : (lane - 16) / 8, line = luma ? lane : (lane - 16) % 8;
    int n = luma ? 16 : 8, pitch = wm * n;
    size_t luma_size = (size_t)wm * 16 * hm * 16, chroma_size = (size_t)wm * 8 * hm * 8;
    P plane = luma ? frame : frame + luma_size + c * chroma_size;
    int x0 = mb_x * n, y0 = mb_y * n;
    int addr = mb_y * wm + mb_x;
    bool has_nb = vertical ? mb_x > 0 : mb_y > 0;
    const MbRecord &cur = recs[addr];
    const MbRecord &nb = recs[has_nb ? (vertical ? addr - 1 : addr - wm) : addr];
    int qp_cur = db_qp(cur, qp);
    int qp_nb = has_nb ? db_qp(nb, qp) : 0;
    if (!luma) qp_cur = chroma_qp(qp_cur), qp_nb = chroma_qp(qp_nb);
    long long step = vertical ? 1 : pitch;
    int edges = luma ? 4 : 2;
    int seg = luma ? line / 4 : line / 2;
    for (int e = has_nb ? 0 : 1; e < edges; e++) {
        int le = luma ? e : 2 * e; // the luma edge
        int bs;
        if (vertical)
            bs = le == 0 ? db_strength(nb, 3, seg, cur, 0, seg, true) : db_strength(cur, le - 1, seg, cur, le, seg, false);
        else
            bs = le == 0 ? db_strength(nb, seg, 3, cur, seg, 0, true) : db_strength(cur, seg, le - 1, cur, seg, le, false);
        if (bs == 0) continue;
        DbThresholds t = db_thresholds(e == 0 ? qp_nb : qp_cur, qp_cur, bs);
        if (t.alpha == 0 || t.beta == 0) continue;
        int at = e * 4;
        P q0 = vertical ? plane + (size_t)(y0 + line) * pitch + x0 + at : plane + (size_t)(y0 + at) * pitch + x0 + line;
        if (luma)
            db_luma_line(q0, step, bs, t);
        else
            db_chroma_line(q0, step, bs, t);
    }
}

// One launch per wavefront step, like intra_wavefront: deblocks in place
// every macroblock (x, y) with x + 2y == step of each picture.
extern "C" __global__ void __launch_bounds__(32 * INTRA_WARPS)
    deblock_wavefront(u8 *__restrict__ rec, const MbRecord *__restrict__ recs, int wm, int hm, int nframes,
                      long long frame_bytes, int qp, int step) {
    int y_min = step - (wm - 1) > 0 ? (step - (wm - 1) + 1) / 2 : 0;
    int y_max = step / 2 < hm - 1 ? step / 2 : hm - 1;
    int count = y_max - y_min + 1;
    if (count <= 0) return;
    int i = blockIdx.x * INTRA_WARPS + threadIdx.y;
    if (i >= count * nframes) return;
    int f = i / count, mb_y = y_min + i % count, mb_x = step - 2 * mb_y;
    u8 *frame = rec + (size_t)f * frame_bytes;
    const MbRecord *frecs = recs + (size_t)f * wm * hm;
    db_mb_direction(frame, frecs, wm, hm, mb_x, mb_y, qp, true);
    __syncwarp();
    db_mb_direction(frame, frecs, wm, hm, mb_x, mb_y, qp, false);
}

// deblock_wavefront in one launch (see "persistent wavefront kernels" in
// common.cu): a macroblock's `flags` entry rises from 1 to 2 once it is
// filtered; samples go through volatile accesses, as other warps filter
// the neighbours during the launch.
extern "C" __global__ void __launch_bounds__(32 * INTRA_WARPS)
    deblock_persistent(u8 *rec, const MbRecord *__restrict__ recs, int wm, int hm, int nframes,
                       long long frame_bytes, int qp, u32 *flags, u32 *ticket, const u32 *__restrict__ step_off,
                       int steps) {
    for (;;) {
        int f, mb_x, mb_y;
        if (!wavefront_ticket(take_ticket(ticket), step_off, steps, wm, nframes, &f, &mb_x, &mb_y)) return;
        u32 *fl = flags + (size_t)f * wm * hm;
        wait_neighbours(fl, wm, mb_x, mb_y, 2);
        volatile u8 *frame = rec + (size_t)f * frame_bytes;
        const MbRecord *frecs = recs + (size_t)f * wm * hm;
        db_mb_direction(frame, frecs, wm, hm, mb_x, mb_y, qp, true);
        __syncwarp();
        db_mb_direction(frame, frecs, wm, hm, mb_x, mb_y, qp, false);
        post_flag(fl + mb_y * wm + mb_x, 2);
    }
}
