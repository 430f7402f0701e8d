// Shared types and warp helpers of the framepress CUDA backend.
//
// The kernels are concatenated in a fixed order (common, transform, cavlc,
// intra, colour, pack, nal) and compiled by NVRTC as one program; every
// integer operation mirrors the CPU reference in crates/avc.

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef short i16;
typedef long long i64;

#define FULL_MASK 0xffffffffu

// Largest macroblock_layer() in bits (A.3.1 (n), A.3.2 (j)).
#define MB_MAX_BITS 3200
// 32-bit words of one macroblock's bit buffer: its macroblock_layer(), the
// mb_skip_run before it in P slices (at most 2 * 31 + 1 bits), and the few
// bits by which an intra mb_type grows in a P slice (ue(v + 5)).
#define MB_WORDS 104

// How the luma of a macroblock is predicted (avc::macroblock::LumaPred).
#define KIND_I4 0
#define KIND_I16 1
#define KIND_PCM 2
// An inter macroblock of a P picture (avc::macroblock::LumaPred::Inter).
#define KIND_INTER 3
// P pictures: decided intra, waiting for the intra wavefront.
#define KIND_PENDING 4

// Partitions of an inter macroblock (avc::syntax::Partition; mb_type in P slices).
#define PART_16X16 0
#define PART_16X8 1
#define PART_8X16 2
#define PART_8X8 3

// Everything the syntax pass needs of one macroblock
// (avc::macroblock::MbCoding), plus the per-block TotalCoeff that
// neighbours read for nC (9.2.1).
struct MbRecord {
    u8 kind;
    u8 i16_mode;
    u8 chroma_mode;
    u8 cbp_luma;
    u8 cbp_chroma;
    u8 part;               // KIND_INTER: PART_*
    u8 pad[2];
    u8 modes[16];          // Intra4x4 modes by luma4x4BlkIdx
    u8 luma_counts[16];    // TotalCoeff per luma block as 9.2.1 defines it
    u8 chroma_counts[8];   // TotalCoeff per chroma AC block [Cb 0..3, Cr 0..3]
    i16 luma[16][16];      // levels in scan order per luma4x4BlkIdx
    i16 luma_dc[16];       // Intra16x16 DC levels in scan order
    i16 chroma_dc[2][4];   // chroma DC levels, 2x2 raster order
    i16 chroma_ac[2][4][16];
    i16 mv[4][2];          // KIND_INTER: vector of each partition (quarter samples); else 0
};
// The host sizes its buffers with this (MB_RECORD_BYTES in src/stages.rs).
static_assert(sizeof(MbRecord) == 880, "MbRecord layout changed: update MB_RECORD_BYTES");

__device__ __forceinline__ int clamp_int(int v, int lo, int hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

__device__ __forceinline__ int clip_pixel(int v) { return clamp_int(v, 0, 255); }

// Sum over the lanes of each aligned group of `width` lanes (a power of two).
__device__ __forceinline__ int group_sum(int v, int width) {
    for (int k = width >> 1; k > 0; k >>= 1) v += __shfl_xor_sync(FULL_MASK, v, k);
    return v;
}

__device__ __forceinline__ u32 warp_min_u32(u32 v) {
#if __CUDA_ARCH__ >= 800
    return __reduce_min_sync(FULL_MASK, v);
#else
    for (int k = 16; k > 0; k >>= 1) {
        u32 o = __shfl_xor_sync(FULL_MASK, v, k);
        v = o < v ? o : v;
    }
    return v;
#endif
}

__device__ __forceinline__ int warp_sum(int v) { return group_sum(v, 32); }

// Top-left sample of 4x4 luma block `blk` inside its macroblock (6.4.3).
__device__ __forceinline__ int luma_block_x(int blk) { return (blk / 4 % 2) * 8 + (blk % 4 % 2) * 4; }
__device__ __forceinline__ int luma_block_y(int blk) { return (blk / 4 / 2) * 8 + (blk % 4 / 2) * 4; }

// luma4x4BlkIdx of the block whose top-left sample is (x, y) (6.4.3 inverted).
__device__ __forceinline__ int luma_block_at(int x, int y) {
    return (y / 8) * 8 + (x / 8) * 4 + (y % 8 / 4) * 2 + (x % 8 / 4);
}

// Index of the partition of `part` that holds luma sample (x, y) of the macroblock.
__device__ __forceinline__ int partition_of(int part, int x, int y) {
    return part == PART_16X16 ? 0 : (part == PART_16X8 ? y / 8 : (part == PART_8X16 ? x / 8 : (y / 8) * 2 + x / 8));
}

// Raster position -> zig-zag scan index of a 4x4 block (the inverse of
// Table 8-13's scan for frame macroblocks), as nibbles of one constant so
// that lanes with different positions need no table lookup:
// {0, 1, 5, 6, 2, 4, 7, 12, 3, 8, 11, 13, 9, 10, 14, 15}.
__device__ __forceinline__ int unzigzag(int pos) { return (int)((0xfea9db83c7426510ull >> (4 * pos)) & 15); }

// ---- persistent wavefront kernels ------------------------------------------------------
//
// A picture's intra macroblocks and its deblocking follow a wavefront: a
// macroblock after its left, top-left, top and top-right neighbours. Besides
// one launch per wavefront step, one launch can do them all: warps take
// tickets in wavefront order (step by step, then picture, then row) from a
// counter, wait until the neighbours' flags say they are done, work, and
// raise their own flag. A warp only waits on smaller tickets, held by warps
// already running, so the wait always ends. Samples that other warps wrote
// during the launch are read past the L1 cache.

// The macroblock of ticket `t` of a wavefront over `nframes` pictures of
// wm x hm macroblocks; step_off[s] counts the macroblocks of one picture in
// steps before s (step_off[steps] = wm * hm). False when t is past the end.
__device__ bool wavefront_ticket(u32 t, const u32 *step_off, int steps, int wm, int nframes, int *f, int *mb_x,
                                 int *mb_y) {
    if (t >= step_off[steps] * (u32)nframes) return false;
    int lo = 0, hi = steps - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (step_off[mid] * (u32)nframes <= t) lo = mid;
        else hi = mid - 1;
    }
    int count = (int)(step_off[lo + 1] - step_off[lo]);
    int i = (int)(t - step_off[lo] * (u32)nframes);
    int y_min = lo - (wm - 1) > 0 ? (lo - (wm - 1) + 1) / 2 : 0;
    *f = i / count;
    *mb_y = y_min + i % count;
    *mb_x = lo - 2 * *mb_y;
    return true;
}

// The next ticket of the warp (every lane gets it).
__device__ __forceinline__ u32 take_ticket(u32 *counter) {
    u32 t = 0;
    if ((threadIdx.x & 31) == 0) t = atomicAdd(counter, 1u);
    return __shfl_sync(FULL_MASK, t, 0);
}

// Waits until the flags of the left, top-left, top and top-right
// neighbours of (mb_x, mb_y) reach `level`. The wait is bounded (about a
// second per neighbour), so a broken invariant shows as wrong output rather
// than a hung device.
__device__ void wait_neighbours(const u32 *flags, int wm, int mb_x, int mb_y, u32 level) {
    if ((threadIdx.x & 31) == 0) {
        int addr = mb_y * wm + mb_x;
        int nb[4] = {mb_x > 0 ? addr - 1 : -1, (mb_x > 0 && mb_y > 0) ? addr - wm - 1 : -1, mb_y > 0 ? addr - wm : -1,
                     (mb_y > 0 && mb_x + 1 < wm) ? addr - wm + 1 : -1};
        for (int k = 0; k < 4; k++) {
            if (nb[k] < 0) continue;
            const volatile u32 *flag = flags + nb[k];
            for (int spin = 0; *flag < level && spin < (1 << 24); spin++) __nanosleep(64);
        }
        __threadfence();
    }
    __syncwarp();
}

// Raises the macroblock's flag once the whole warp's writes are visible.
__device__ __forceinline__ void post_flag(u32 *flag, u32 level) {
    __syncwarp();
    if ((threadIdx.x & 31) == 0) {
        __threadfence();
        atomicExch(flag, level);
    }
}
