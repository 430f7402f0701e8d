// Integer transforms, quantisation and their inverses (8.5), mirroring
// crates/avc/src/transform.rs operation for operation.
//
// Two forms: scalar functions over a whole 4x4 block held by one thread, and
// `_lane` functions where the 16 lanes of a half warp hold one coefficient
// each (lane & 15 = raster position y*4 + x); the upper half warp works on
// its own block with the same code.

// Quantisation multipliers MF for qp % 6: (even, even), (odd, odd), others.
__constant__ int QUANT_MF[6][3] = {
    {13107, 5243, 8066}, {11916, 4660, 7490}, {10082, 4194, 6554},
    {9362, 3647, 5825},  {8192, 3355, 5243},  {7282, 2893, 4559},
};

// normAdjust4x4 values v for qp % 6 (8.5.9, Equation 8-315).
__constant__ int DEQUANT_V[6][3] = {
    {10, 16, 13}, {11, 18, 14}, {13, 20, 16}, {14, 23, 18}, {16, 25, 20}, {18, 29, 23},
};

// QPc for qPI (Table 8-15).
__constant__ int CHROMA_QP_TABLE[22] = {29, 30, 31, 32, 32, 33, 34, 34, 35, 35, 36,
                                        36, 37, 37, 37, 38, 38, 38, 39, 39, 39, 39};

#define RANGE_MIN (-(1 << 15))
#define RANGE_MAX ((1 << 15) - 1)

__device__ __forceinline__ bool in_range(int v) { return v >= RANGE_MIN && v <= RANGE_MAX; }

// Scale class of a raster position (8.5.9): 0 (even, even), 1 (odd, odd), 2 others.
__device__ __forceinline__ int scale_class(int pos) {
    int x = pos & 3, y = pos >> 2;
    int xo = x & 1, yo = y & 1;
    return (xo == 0 && yo == 0) ? 0 : ((xo == 1 && yo == 1) ? 1 : 2);
}

__device__ __forceinline__ int chroma_qp(int qp_i) {
    int q = clamp_int(qp_i, 0, 51);
    return q < 30 ? q : CHROMA_QP_TABLE[q - 30];
}

// Deadzone rounding offset for intra blocks: one third of the step.
__device__ __forceinline__ int intra_offset(u32 qbits) { return (1 << qbits) / 3; }

// (|coef| * mf + offset) >> qbits with the sign of coef. The CPU computes in
// 64 bits; here 32 bits are exact because every input the encoder quantises
// is bounded: |coef| <= 9180 for 4x4 blocks (8-bit residuals), <= 32640 for
// the halved luma DC Hadamard, so |coef| * mf + offset < 2^32.
__device__ __forceinline__ int quant_one(int coef, int mf, int offset, u32 qbits) {
    u32 mag = (u32)abs(coef);
    int level = (int)((mag * (u32)mf + (u32)offset) >> qbits);
    return coef < 0 ? -level : level;
}

// ---- scalar forms ------------------------------------------------------------------

// Forward 4x4 core transform, raster order in and out.
__device__ void forward4x4(int *b) {
    for (int r = 0; r < 4; r++) {
        int *row = b + r * 4;
        int s0 = row[0] + row[3], s1 = row[1] + row[2];
        int d0 = row[0] - row[3], d1 = row[1] - row[2];
        row[0] = s0 + s1;
        row[2] = s0 - s1;
        row[1] = 2 * d0 + d1;
        row[3] = d0 - 2 * d1;
    }
    for (int c = 0; c < 4; c++) {
        int a = b[c], bb = b[4 + c], cc = b[8 + c], d = b[12 + c];
        int s0 = a + d, s1 = bb + cc;
        int d0 = a - d, d1 = bb - cc;
        b[c] = s0 + s1;
        b[8 + c] = s0 - s1;
        b[4 + c] = 2 * d0 + d1;
        b[12 + c] = d0 - 2 * d1;
    }
}

// Equations 8-338..8-345 on one row or column.
__device__ __forceinline__ void inverse_1d(int d0, int d1, int d2, int d3, int *out) {
    int e0 = d0 + d2;
    int e1 = d0 - d2;
    int e2 = (d1 >> 1) - d3;
    int e3 = d1 + (d3 >> 1);
    out[0] = e0 + e3;
    out[1] = e1 + e2;
    out[2] = e1 - e2;
    out[3] = e0 - e3;
}

// Inverse 4x4 transform and rounding (8.5.12.2); false when an intermediate
// value leaves the range of 8.5.12 (d, f, the column pass's e and g, r * 64).
__device__ bool inverse4x4(const int *d, int *res) {
    int f[16];
    bool ok = true;
    for (int r = 0; r < 4; r++) inverse_1d(d[r * 4], d[r * 4 + 1], d[r * 4 + 2], d[r * 4 + 3], f + r * 4);
    for (int c = 0; c < 4; c++) {
        int d0 = f[c], d1 = f[4 + c], d2 = f[8 + c], d3 = f[12 + c];
        int e0 = d0 + d2, e1 = d0 - d2, e2 = (d1 >> 1) - d3, e3 = d1 + (d3 >> 1);
        int g[4] = {e0 + e3, e1 + e2, e1 - e2, e0 - e3};
        ok = ok && in_range(e0) && in_range(e1) && in_range(e2) && in_range(e3);
        for (int r = 0; r < 4; r++) {
            ok = ok && in_range(g[r]);
            res[r * 4 + c] = (g[r] + 32) >> 6;
        }
    }
    for (int i = 0; i < 16; i++) ok = ok && in_range(d[i]) && in_range(f[i]) && in_range(res[i] * 64);
    return ok;
}

// Quantises a transformed block in place; the DC is kept when `skip_dc`.
__device__ void quant4x4(int *b, int qp, bool skip_dc) {
    u32 qbits = 15 + (u32)(qp / 6);
    int offset = intra_offset(qbits);
    for (int pos = 0; pos < 16; pos++) {
        if (skip_dc && pos == 0) continue;
        b[pos] = quant_one(b[pos], QUANT_MF[qp % 6][scale_class(pos)], offset, qbits);
    }
}

// The rounding offset of a dead zone (avc::transform::Deadzone): one third
// of the step for intra blocks, one sixth for inter blocks.
__device__ __forceinline__ int dz_offset(u32 qbits, bool inter) { return inter ? (1 << qbits) / 6 : (1 << qbits) / 3; }

// quant4x4 with a chosen dead zone (avc::transform::quant4x4_with).
__device__ void quant4x4_dz(int *b, int qp, bool skip_dc, bool inter) {
    u32 qbits = 15 + (u32)(qp / 6);
    int offset = dz_offset(qbits, inter);
    for (int pos = 0; pos < 16; pos++) {
        if (skip_dc && pos == 0) continue;
        b[pos] = quant_one(b[pos], QUANT_MF[qp % 6][scale_class(pos)], offset, qbits);
    }
}

// Flat-matrix scaling (8.5.12.1): c * v << (qp / 6); the DC is copied when `dc_done`.
__device__ void dequant4x4(const int *levels, int qp, bool dc_done, int *d) {
    int shift = qp / 6;
    for (int pos = 0; pos < 16; pos++) {
        d[pos] = (dc_done && pos == 0) ? levels[0] : ((levels[pos] * DEQUANT_V[qp % 6][scale_class(pos)]) << shift);
    }
}

// 4x4 Hadamard of the Intra16x16 luma DC (8.5.10), raster order.
__device__ void hadamard4x4(const int *m, int *out) {
    int t[16];
    for (int r = 0; r < 4; r++) {
        int a = m[r * 4], b = m[r * 4 + 1], c = m[r * 4 + 2], d = m[r * 4 + 3];
        t[r * 4] = a + b + c + d;
        t[r * 4 + 1] = a + b - c - d;
        t[r * 4 + 2] = a - b - c + d;
        t[r * 4 + 3] = a - b + c - d;
    }
    for (int c = 0; c < 4; c++) {
        int a = t[c], b = t[4 + c], cc = t[8 + c], d = t[12 + c];
        out[c] = a + b + cc + d;
        out[4 + c] = a + b - cc - d;
        out[8 + c] = a - b - cc + d;
        out[12 + c] = a - b + cc - d;
    }
}

__device__ __forceinline__ int signum(int v) { return (v > 0) - (v < 0); }

// Forward Intra16x16 luma DC transform and quantisation; spatial raster order.
__device__ void forward_quant_luma_dc(const int *dc, int qp, int *out) {
    int h[16];
    hadamard4x4(dc, h);
    u32 qbits = 16 + (u32)(qp / 6);
    int mf = QUANT_MF[qp % 6][0];
    int offset = 2 * intra_offset(qbits - 1);
    for (int i = 0; i < 16; i++) {
        int half = (h[i] + signum(h[i])) / 2;
        out[i] = quant_one(half, mf, offset, qbits);
    }
}

// Inverse luma DC transform and scaling (8.5.10); false on a range violation.
__device__ bool inverse_luma_dc(const int *levels, int qp, int *dc) {
    int f[16];
    hadamard4x4(levels, f);
    int scale = 16 * DEQUANT_V[qp % 6][0];
    for (int i = 0; i < 16; i++) {
        if (!in_range(f[i])) return false;
        int v = qp >= 36 ? ((f[i] * scale) << (qp / 6 - 6)) : ((f[i] * scale + (1 << (5 - qp / 6))) >> (6 - qp / 6));
        if (!in_range(v)) return false;
        dc[i] = v;
    }
    return true;
}

__device__ __forceinline__ void hadamard2x2(const int *c, int *out) {
    out[0] = c[0] + c[1] + c[2] + c[3];
    out[1] = c[0] - c[1] + c[2] - c[3];
    out[2] = c[0] + c[1] - c[2] - c[3];
    out[3] = c[0] - c[1] - c[2] + c[3];
}

// Forward 2x2 chroma DC transform and quantisation (4:2:0), raster order.
__device__ void forward_quant_chroma_dc(const int *dc, int qp_c, int *out) {
    int f[4];
    hadamard2x2(dc, f);
    u32 qbits = 16 + (u32)(qp_c / 6);
    int mf = QUANT_MF[qp_c % 6][0];
    int offset = 2 * intra_offset(qbits - 1);
    for (int i = 0; i < 4; i++) out[i] = quant_one(f[i], mf, offset, qbits);
}

// forward_quant_chroma_dc with a chosen dead zone (forward_quant_chroma_dc_with).
__device__ void forward_quant_chroma_dc_dz(const int *dc, int qp_c, bool inter, int *out) {
    int f[4];
    hadamard2x2(dc, f);
    u32 qbits = 16 + (u32)(qp_c / 6);
    int mf = QUANT_MF[qp_c % 6][0];
    int offset = 2 * dz_offset(qbits - 1, inter);
    for (int i = 0; i < 4; i++) out[i] = quant_one(f[i], mf, offset, qbits);
}

// Inverse chroma DC transform and scaling (8.5.11.1, 8.5.11.2); false on a range violation.
__device__ bool inverse_chroma_dc(const int *levels, int qp_c, int *out) {
    int f[4];
    hadamard2x2(levels, f);
    int scale = 16 * DEQUANT_V[qp_c % 6][0];
    for (int i = 0; i < 4; i++) {
        if (!in_range(f[i])) return false;
        int v = ((f[i] * scale) << (qp_c / 6)) >> 5;
        if (!in_range(v)) return false;
        out[i] = v;
    }
    return true;
}

// SATD of a 4x4 difference block: sum of |Hadamard| halved with rounding.
__device__ u32 satd4x4(const int *diff) {
    int h[16];
    hadamard4x4(diff, h);
    u32 sum = 0;
    for (int i = 0; i < 16; i++) sum += (u32)abs(h[i]);
    return (sum + 1) >> 1;
}

// ---- half-warp forms (lane & 15 = raster position) --------------------------------

__device__ __forceinline__ int lane_at(int v, int pos) { return __shfl_sync(FULL_MASK, v, pos, 16); }

// Forward core transform of the half warp's block; returns this lane's coefficient.
__device__ int forward4x4_lane(int v) {
    int pos = threadIdx.x & 15, x = pos & 3, y = pos >> 2;
    int a = lane_at(v, y * 4), b = lane_at(v, y * 4 + 1), c = lane_at(v, y * 4 + 2), d = lane_at(v, y * 4 + 3);
    int s0 = a + d, s1 = b + c, d0 = a - d, d1 = b - c;
    int r = x == 0 ? s0 + s1 : (x == 1 ? 2 * d0 + d1 : (x == 2 ? s0 - s1 : d0 - 2 * d1));
    a = lane_at(r, x), b = lane_at(r, 4 + x), c = lane_at(r, 8 + x), d = lane_at(r, 12 + x);
    s0 = a + d, s1 = b + c, d0 = a - d, d1 = b - c;
    return y == 0 ? s0 + s1 : (y == 1 ? 2 * d0 + d1 : (y == 2 ? s0 - s1 : d0 - 2 * d1));
}

// Element k of inverse_1d(d0..d3).
__device__ __forceinline__ int inverse_1d_at(int d0, int d1, int d2, int d3, int k, bool *ok, bool check) {
    int e0 = d0 + d2, e1 = d0 - d2, e2 = (d1 >> 1) - d3, e3 = d1 + (d3 >> 1);
    if (check) *ok = *ok && in_range(e0) && in_range(e1) && in_range(e2) && in_range(e3);
    return k == 0 ? e0 + e3 : (k == 1 ? e1 + e2 : (k == 2 ? e1 - e2 : e0 - e3));
}

// Inverse transform of the half warp's block: this lane's residual in *res;
// returns whether every lane of the half warp stayed within range (8.5.12).
__device__ bool inverse4x4_lane(int d, int *res) {
    int pos = threadIdx.x & 15, x = pos & 3, y = pos >> 2;
    bool ok = in_range(d);
    int f = inverse_1d_at(lane_at(d, y * 4), lane_at(d, y * 4 + 1), lane_at(d, y * 4 + 2), lane_at(d, y * 4 + 3), x,
                          &ok, false);
    ok = ok && in_range(f);
    int g = inverse_1d_at(lane_at(f, x), lane_at(f, 4 + x), lane_at(f, 8 + x), lane_at(f, 12 + x), y, &ok, true);
    ok = ok && in_range(g);
    int r = (g + 32) >> 6;
    ok = ok && in_range(r * 64);
    *res = r;
    u32 bad = __ballot_sync(FULL_MASK, !ok);
    u32 half = (threadIdx.x & 16) ? 0xffff0000u : 0x0000ffffu;
    return (bad & half) == 0;
}

// The quantisation constants of this lane's position at one qp.
struct LaneQuant {
    int mf;     // QUANT_MF of the position's scale class
    int offset; // intra deadzone offset
    u32 qbits;
    int v;      // DEQUANT_V of the position's scale class
    int shift;  // qp / 6
};

__device__ __forceinline__ LaneQuant lane_quant(int qp) {
    int pos = threadIdx.x & 15, cls = scale_class(pos);
    LaneQuant q;
    q.qbits = 15 + (u32)(qp / 6);
    q.mf = QUANT_MF[qp % 6][cls];
    q.offset = intra_offset(q.qbits);
    q.v = DEQUANT_V[qp % 6][cls];
    q.shift = qp / 6;
    return q;
}

__device__ __forceinline__ int quant_lane_q(int coef, const LaneQuant &q) { return quant_one(coef, q.mf, q.offset, q.qbits); }

__device__ __forceinline__ int dequant_lane_q(int level, const LaneQuant &q) { return (level * q.v) << q.shift; }

// This lane's quantised level (8.5 forward, intra deadzone).
__device__ __forceinline__ int quant_lane(int coef, int qp, bool skip_dc) {
    int pos = threadIdx.x & 15;
    if (skip_dc && pos == 0) return coef;
    u32 qbits = 15 + (u32)(qp / 6);
    return quant_one(coef, QUANT_MF[qp % 6][scale_class(pos)], intra_offset(qbits), qbits);
}

// This lane's scaled coefficient; the DC is passed through when `dc_done`.
__device__ __forceinline__ int dequant_lane(int level, int qp, bool dc_done) {
    int pos = threadIdx.x & 15;
    if (dc_done && pos == 0) return level;
    return (level * DEQUANT_V[qp % 6][scale_class(pos)]) << (qp / 6);
}

// SATD of the half warp's 4x4 difference block (each lane holds one sample).
// The butterflies order the outputs differently from hadamard4x4, but produce
// the same set of values, so the sum of magnitudes is identical.
__device__ u32 satd4x4_lane(int v) {
    int lane = threadIdx.x;
    for (int k = 1; k <= 8; k <<= 1) {
        int p = __shfl_xor_sync(FULL_MASK, v, k);
        v = (lane & k) ? p - v : v + p;
    }
    int s = group_sum(abs(v), 16);
    return ((u32)s + 1) >> 1;
}
