// Bit packing of a slice: the slice header, every macroblock's bits at its
// offset, and rbsp_slice_trailing_bits (7.3.2.8, 7.3.2.11).
//
// Offsets come from a prefix scan. An I_PCM macroblock byte-aligns its
// samples (pcm_alignment_zero_bit, 7.3.5), so each macroblock acts on the
// bit position p as either p -> p + a, or p -> align8(p + a) + b; such maps
// compose into maps of the same form, and the scan composes them.

#define SCAN_THREADS 1024

struct PosMap {
    u32 aligned; // 0: p + a; 1: align8(p + a) + b
    u32 a;
    u32 b;
};

__device__ __forceinline__ u32 align8(u32 v) { return (v + 7) & ~7u; }

__device__ __forceinline__ u32 apply_map(PosMap f, u32 p) { return f.aligned ? align8(p + f.a) + f.b : p + f.a; }

// g after f.
__device__ __forceinline__ PosMap compose(PosMap f, PosMap g) {
    PosMap r;
    if (!g.aligned) {
        r = f;
        if (f.aligned)
            r.b = f.b + g.a;
        else
            r.a = f.a + g.a;
    } else if (!f.aligned) {
        r.aligned = 1, r.a = f.a + g.a, r.b = g.b;
    } else {
        r.aligned = 1, r.a = f.a, r.b = align8(f.b + g.a) + g.b;
    }
    return r;
}

__device__ __forceinline__ PosMap mb_map(u32 len) {
    PosMap m;
    if (len & MB_BITS_PCM_FLAG) {
        m.aligned = 1, m.a = mb_pcm_header(len), m.b = mb_bit_count(len) - mb_pcm_header(len);
    } else {
        m.aligned = 0, m.a = len, m.b = 0;
    }
    return m;
}

// One block per picture: the start bit of every macroblock (`starts`), the
// header copied and the trailing bits set in `rbsp` (zeroed beforehand,
// `rbsp_words` words per picture), the RBSP length in bytes in `rbsp_len`.
extern "C" __global__ void __launch_bounds__(SCAN_THREADS)
    pack_scan(const u32 *__restrict__ lens, u32 *__restrict__ starts, const u32 *__restrict__ header,
              const u32 *__restrict__ header_bits, u32 *__restrict__ rbsp, long long rbsp_words,
              u32 *__restrict__ rbsp_len, int mbs) {
    __shared__ PosMap maps[SCAN_THREADS];
    int f = blockIdx.x, t = threadIdx.x;
    const u32 *flens = lens + (size_t)f * mbs;
    u32 *fstarts = starts + (size_t)f * mbs;
    u32 *words = rbsp + (size_t)f * rbsp_words;
    int chunk = (mbs + SCAN_THREADS - 1) / SCAN_THREADS;
    int lo = t * chunk, hi = min(lo + chunk, mbs);
    PosMap acc = {0, 0, 0};
    for (int i = lo; i < hi; i++) acc = compose(acc, mb_map(flens[i]));
    maps[t] = acc;
    __syncthreads();
    // Inclusive Hillis-Steele scan of the maps.
    for (int d = 1; d < SCAN_THREADS; d <<= 1) {
        PosMap prev = t >= d ? maps[t - d] : PosMap{0, 0, 0};
        __syncthreads();
        if (t >= d) maps[t] = compose(prev, maps[t]);
        __syncthreads();
    }
    u32 hbits = header_bits[f];
    u32 p = t > 0 ? apply_map(maps[t - 1], hbits) : hbits;
    for (int i = lo; i < hi; i++) {
        fstarts[i] = p;
        p = apply_map(mb_map(flens[i]), p);
    }
    if (t == SCAN_THREADS - 1) {
        // rbsp_stop_one_bit, then zeros to the byte boundary.
        atomicOr(&words[p / 32], 0x80000000u >> (p % 32));
        rbsp_len[f] = p / 8 + 1;
    }
    if (t < 4) atomicOr(&words[t], header[f * 4 + t]);
}

// The 32 bits of `src` starting at bit `s` (may be negative), with bits outside
// [0, n) cleared.
__device__ __forceinline__ u32 window32(const u32 *src, long long s, u32 n) {
    u32 out = 0;
    // Word-aligned pieces: bits [s, s + 32) intersect at most two source words.
    long long w0 = s >= 0 ? s / 32 : -((31 - s) / 32);
    for (int k = 0; k < 2; k++) {
        long long w = w0 + k;
        long long bit0 = w * 32; // first bit of word w
        if (w < 0 || bit0 >= (long long)n) continue;
        u32 word = src[w];
        long long last = bit0 + 32;
        if (last > (long long)n) word &= ~0u << (last - n);
        long long shift = bit0 - s; // where word w's first bit lands in the window
        if (shift >= 0)
            out |= shift < 32 ? word >> shift : 0;
        else
            out |= -shift < 32 ? word << -shift : 0;
    }
    return out;
}

// ORs `n` bits of `src` (starting at bit 0) into `dst` at bit `pos`.
__device__ void copy_bits(u32 *dst, u32 pos, const u32 *src, u32 src_bit, u32 n, int lane) {
    if (n == 0) return;
    u32 first = pos / 32, last = (pos + n - 1) / 32;
    for (u32 w = first + lane; w <= last; w += 32) {
        long long s = (long long)w * 32 - pos + src_bit;
        // Bits of the window before src_bit belong to another segment.
        u32 v = window32(src, s, src_bit + n);
        if (s < (long long)src_bit) {
            long long skip = (long long)src_bit - s;
            v &= skip >= 32 ? 0 : (0xffffffffu >> skip);
        }
        if (v) atomicOr(&dst[w], v);
    }
}

// One warp per macroblock: copies its bits to its start (an I_PCM macroblock's
// samples to the next byte boundary after its mb_skip_run and mb_type).
extern "C" __global__ void pack_bits(const u32 *__restrict__ bits, const u32 *__restrict__ lens,
                                     const u32 *__restrict__ starts, u32 *__restrict__ rbsp, long long rbsp_words,
                                     int mbs, int nframes) {
    long long i = (long long)blockIdx.x * blockDim.y + threadIdx.y;
    if (i >= (long long)mbs * nframes) return;
    int f = (int)(i / mbs), lane = threadIdx.x;
    u32 len = lens[i], p = starts[i];
    const u32 *src = bits + (size_t)i * MB_WORDS;
    u32 *dst = rbsp + (size_t)f * rbsp_words;
    if (len & MB_BITS_PCM_FLAG) {
        u32 n = mb_bit_count(len), head = mb_pcm_header(len);
        copy_bits(dst, p, src, 0, head, lane);
        copy_bits(dst, align8(p + head), src, head, n - head, lane);
    } else {
        copy_bits(dst, p, src, 0, len, lane);
    }
}
