// Colour conversion into padded YUV 4:2:0, mirroring
// crates/framepress/src/colour.rs and the padding of avc::encoder::pad_frame:
// RGB with fixed-point coefficients scaled by 2^16 (luma per pixel, chroma
// from the RGB sums of each 2x2 block, a lone edge sample counted twice),
// yuv420p and nv12 copied; the picture is then extended to whole macroblocks
// by repeating its last column and row.

#define FORMAT_RGB24 0
#define FORMAT_RGB24_PLANAR 1
#define FORMAT_YUV420P 2
#define FORMAT_NV12 3

#define COLOUR_SHIFT 16

// Fixed-point coefficients (framepress::colour::Coefficients).
struct Coefficients {
    int y[3];
    int y_offset;
    int cb[3];
    int cr[3];
};
static_assert(sizeof(Coefficients) == 40, "layout shared with src/colour.rs");

// An input picture: up to three planes, each with its row pitch in bytes.
struct SourcePlanes {
    const u8 *p[3];
    long long pitch[3];
};
static_assert(sizeof(SourcePlanes) == 48, "layout shared with src/colour.rs");

__device__ __forceinline__ void rgb_at(const SourcePlanes &s, int format, int x, int y, int *rgb) {
    if (format == FORMAT_RGB24) {
        const u8 *px = s.p[0] + (size_t)y * s.pitch[0] + 3 * (size_t)x;
        rgb[0] = px[0], rgb[1] = px[1], rgb[2] = px[2];
    } else {
        for (int c = 0; c < 3; c++) rgb[c] = s.p[c][(size_t)y * s.pitch[c] + x];
    }
}

__device__ __forceinline__ u8 rgb_luma(const Coefficients &k, const int *rgb) {
    int v = k.y[0] * rgb[0] + k.y[1] * rgb[1] + k.y[2] * rgb[2];
    return (u8)clamp_int((v + k.y_offset) >> COLOUR_SHIFT, 0, 255);
}

// Cb and Cr of the mean of a 2x2 block given its summed R, G, B.
__device__ __forceinline__ void rgb_chroma(const Coefficients &k, const int *sum, u8 *cb, u8 *cr) {
    const int shift4 = COLOUR_SHIFT + 2;
    const int offset = (128 << shift4) + (1 << (shift4 - 1));
    int b = k.cb[0] * sum[0] + k.cb[1] * sum[1] + k.cb[2] * sum[2];
    int r = k.cr[0] * sum[0] + k.cr[1] * sum[1] + k.cr[2] * sum[2];
    *cb = (u8)clamp_int((b + offset) >> shift4, 0, 255);
    *cr = (u8)clamp_int((r + offset) >> shift4, 0, 255);
}

// One thread per padded luma sample and per padded chroma sample position.
// `dst` is one padded frame: Y (pw x ph), then U and V (pw/2 x ph/2).
extern "C" __global__ void colour_to_yuv420(SourcePlanes s, int format, int width, int height, Coefficients k,
                                            u8 *__restrict__ dst, int pw, int ph) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    int cpw = pw / 2, cph = ph / 2;
    if (i < (long long)pw * ph) {
        int x = (int)(i % pw), y = (int)(i / pw);
        int sx = x < width ? x : width - 1, sy = y < height ? y : height - 1;
        u8 v;
        if (format == FORMAT_YUV420P || format == FORMAT_NV12) {
            v = s.p[0][(size_t)sy * s.pitch[0] + sx];
        } else {
            int rgb[3];
            rgb_at(s, format, sx, sy, rgb);
            v = rgb_luma(k, rgb);
        }
        dst[i] = v;
    }
    if (i < (long long)cpw * cph) {
        int cw = (width + 1) / 2, ch = (height + 1) / 2;
        int cx = (int)(i % cpw), cy = (int)(i / cpw);
        int sx = cx < cw ? cx : cw - 1, sy = cy < ch ? cy : ch - 1;
        u8 u, v;
        if (format == FORMAT_YUV420P) {
            u = s.p[1][(size_t)sy * s.pitch[1] + sx];
            v = s.p[2][(size_t)sy * s.pitch[2] + sx];
        } else if (format == FORMAT_NV12) {
            u = s.p[1][(size_t)sy * s.pitch[1] + 2 * sx];
            v = s.p[1][(size_t)sy * s.pitch[1] + 2 * sx + 1];
        } else {
            int top = 2 * sy, bottom = 2 * sy + 1 < height ? 2 * sy + 1 : height - 1;
            int x0 = 2 * sx, x1 = 2 * sx + 1 < width ? 2 * sx + 1 : 2 * sx;
            int sum[3] = {0, 0, 0}, rgb[3];
            int xs[2] = {x0, x1}, ys[2] = {top, bottom};
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++) {
                    rgb_at(s, format, xs[b], ys[a], rgb);
                    sum[0] += rgb[0], sum[1] += rgb[1], sum[2] += rgb[2];
                }
            rgb_chroma(k, sum, &u, &v);
        }
        size_t luma = (size_t)pw * ph;
        dst[luma + i] = u;
        dst[luma + (size_t)cpw * cph + i] = v;
    }
}
