// NAL unit assembly (7.3.1, 7.4.1): the header byte, then the RBSP with
// emulation_prevention_three_byte inserted, mirroring avc::nal::escape_rbsp_into.
//
// The escaping walk keeps one state, the count of zero bytes just written
// (0, 1 or 2). Each thread takes a run of RBSP bytes and records, for each
// of the three states it could start in, the state it ends in and how many
// bytes it inserts; a scan of those maps gives every run its start state
// and output offset, and a second walk writes the bytes.

#define NAL_THREADS 1024

struct EscMap {
    u8 next[3];
    u32 count[3];
};

__device__ __forceinline__ u8 rbsp_byte(const u32 *words, u32 k) { return (u8)(words[k >> 2] >> (24 - 8 * (k & 3))); }

// One step of escape_rbsp_into: returns the new zero count, sets *insert.
__device__ __forceinline__ int esc_step(int zeros, u8 b, bool *insert) {
    *insert = zeros >= 2 && b <= 3;
    if (*insert) zeros = 0;
    return b == 0 ? zeros + 1 : 0;
}

__device__ __forceinline__ EscMap esc_compose(const EscMap &f, const EscMap &g) {
    EscMap r;
    for (int s = 0; s < 3; s++) {
        r.next[s] = g.next[f.next[s]];
        r.count[s] = f.count[s] + g.count[f.next[s]];
    }
    return r;
}

// One block per picture: `out` gets nal_unit(3, IdrSlice, rbsp) at
// `out_capacity` bytes per picture, its length in `out_len`.
extern "C" __global__ void __launch_bounds__(NAL_THREADS)
    nal_escape(const u32 *__restrict__ rbsp, long long rbsp_words, const u32 *__restrict__ rbsp_len,
               u8 *__restrict__ out, long long out_capacity, u32 *__restrict__ out_len, int nal_header) {
    __shared__ EscMap maps[NAL_THREADS];
    int f = blockIdx.x, t = threadIdx.x;
    const u32 *words = rbsp + (size_t)f * rbsp_words;
    u8 *dst = out + (size_t)f * out_capacity;
    u32 n = rbsp_len[f];
    u32 chunk = (n + NAL_THREADS - 1) / NAL_THREADS;
    u32 lo = min(t * chunk, n), hi = min(lo + chunk, n);
    EscMap m;
    for (int s = 0; s < 3; s++) {
        int z = s;
        u32 count = 0;
        for (u32 k = lo; k < hi; k++) {
            bool ins;
            z = esc_step(z, rbsp_byte(words, k), &ins);
            count += ins;
        }
        m.next[s] = (u8)z;
        m.count[s] = count;
    }
    maps[t] = m;
    __syncthreads();
    for (int d = 1; d < NAL_THREADS; d <<= 1) {
        EscMap prev;
        if (t >= d) prev = maps[t - d];
        __syncthreads();
        if (t >= d) maps[t] = esc_compose(prev, maps[t]);
        __syncthreads();
    }
    int zeros = t > 0 ? maps[t - 1].next[0] : 0;
    u32 o = 1 + lo + (t > 0 ? maps[t - 1].count[0] : 0);
    for (u32 k = lo; k < hi; k++) {
        u8 b = rbsp_byte(words, k);
        bool ins;
        zeros = esc_step(zeros, b, &ins);
        if (ins) dst[o++] = 3;
        dst[o++] = b;
    }
    if (t == NAL_THREADS - 1) {
        // A trailing zero gets a 0x03 too (unreachable after rbsp_stop_one_bit).
        if (zeros > 0) dst[o++] = 3;
        out_len[f] = o;
    }
    if (t == 0) dst[0] = (u8)nal_header;
}

