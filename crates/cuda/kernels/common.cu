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
// 32-bit words of one macroblock's bit buffer.
#define MB_WORDS (MB_MAX_BITS / 32)

// How the luma of a macroblock is predicted (avc::macroblock::LumaPred).
#define KIND_I4 0
#define KIND_I16 1
#define KIND_PCM 2

// Everything the syntax pass needs of one intra macroblock
// (avc::macroblock::MbCoding), plus the per-block TotalCoeff that
// neighbours read for nC (9.2.1).
struct MbRecord {
    u8 kind;
    u8 i16_mode;
    u8 chroma_mode;
    u8 cbp_luma;
    u8 cbp_chroma;
    u8 pad[3];
    u8 modes[16];          // Intra4x4 modes by luma4x4BlkIdx
    u8 luma_counts[16];    // TotalCoeff per luma block as 9.2.1 defines it
    u8 chroma_counts[8];   // TotalCoeff per chroma AC block [Cb 0..3, Cr 0..3]
    i16 luma[16][16];      // levels in scan order per luma4x4BlkIdx
    i16 luma_dc[16];       // Intra16x16 DC levels in scan order
    i16 chroma_dc[2][4];   // chroma DC levels, 2x2 raster order
    i16 chroma_ac[2][4][16];
};
// The host sizes its buffers with this (MB_RECORD_BYTES in src/stages.rs).
static_assert(sizeof(MbRecord) == 864, "MbRecord layout changed: update MB_RECORD_BYTES");

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

// Raster position -> zig-zag scan index of a 4x4 block (the inverse of
// Table 8-13's scan for frame macroblocks), as nibbles of one constant so
// that lanes with different positions need no table lookup:
// {0, 1, 5, 6, 2, 4, 7, 12, 3, 8, 11, 13, 9, 10, 14, 15}.
__device__ __forceinline__ int unzigzag(int pos) { return (int)((0xfea9db83c7426510ull >> (4 * pos)) & 15); }
