// Residual and macroblock syntax with CAVLC (7.3.5, 9.2), mirroring
// crates/avc/src/cavlc.rs and slice.rs: one thread writes one macroblock's
// bits into its own buffer of MB_WORDS words; nC (9.2.1) and the predicted
// Intra4x4 modes (8.3.1.1) are derived here, after every decision is made.

// ---- code tables (clause 9.2); each entry is (length << 16) | code -----------------

// Table 9-5, 0 <= nC < 2, [TotalCoeff][TrailingOnes]
__constant__ u32 CT_NC_0_TO_2[17][4] = {
    {0x10001, 0x00000, 0x00000, 0x00000},
    {0x60005, 0x20001, 0x00000, 0x00000},
    {0x80007, 0x60004, 0x30001, 0x00000},
    {0x90007, 0x80006, 0x70005, 0x50003},
    {0xa0007, 0x90006, 0x80005, 0x60003},
    {0xb0007, 0xa0006, 0x90005, 0x70004},
    {0xd000f, 0xb0006, 0xa0005, 0x80004},
    {0xd000b, 0xd000e, 0xb0005, 0x90004},
    {0xd0008, 0xd000a, 0xd000d, 0xa0004},
    {0xe000f, 0xe000e, 0xd0009, 0xb0004},
    {0xe000b, 0xe000a, 0xe000d, 0xd000c},
    {0xf000f, 0xf000e, 0xe0009, 0xe000c},
    {0xf000b, 0xf000a, 0xf000d, 0xe0008},
    {0x10000f, 0xf0001, 0xf0009, 0xf000c},
    {0x10000b, 0x10000e, 0x10000d, 0xf0008},
    {0x100007, 0x10000a, 0x100009, 0x10000c},
    {0x100004, 0x100006, 0x100005, 0x100008},
};
// Table 9-5, 2 <= nC < 4
__constant__ u32 CT_NC_2_TO_4[17][4] = {
    {0x20003, 0x00000, 0x00000, 0x00000},
    {0x6000b, 0x20002, 0x00000, 0x00000},
    {0x60007, 0x50007, 0x30003, 0x00000},
    {0x70007, 0x6000a, 0x60009, 0x40005},
    {0x80007, 0x60006, 0x60005, 0x40004},
    {0x80004, 0x70006, 0x70005, 0x50006},
    {0x90007, 0x80006, 0x80005, 0x60008},
    {0xb000f, 0x90006, 0x90005, 0x60004},
    {0xb000b, 0xb000e, 0xb000d, 0x70004},
    {0xc000f, 0xb000a, 0xb0009, 0x90004},
    {0xc000b, 0xc000e, 0xc000d, 0xb000c},
    {0xc0008, 0xc000a, 0xc0009, 0xb0008},
    {0xd000f, 0xd000e, 0xd000d, 0xc000c},
    {0xd000b, 0xd000a, 0xd0009, 0xd000c},
    {0xd0007, 0xe000b, 0xd0006, 0xd0008},
    {0xe0009, 0xe0008, 0xe000a, 0xd0001},
    {0xe0007, 0xe0006, 0xe0005, 0xe0004},
};
// Table 9-5, 4 <= nC < 8
__constant__ u32 CT_NC_4_TO_8[17][4] = {
    {0x4000f, 0x00000, 0x00000, 0x00000},
    {0x6000f, 0x4000e, 0x00000, 0x00000},
    {0x6000b, 0x5000f, 0x4000d, 0x00000},
    {0x60008, 0x5000c, 0x5000e, 0x4000c},
    {0x7000f, 0x5000a, 0x5000b, 0x4000b},
    {0x7000b, 0x50008, 0x50009, 0x4000a},
    {0x70009, 0x6000e, 0x6000d, 0x40009},
    {0x70008, 0x6000a, 0x60009, 0x40008},
    {0x8000f, 0x7000e, 0x7000d, 0x5000d},
    {0x8000b, 0x8000e, 0x7000a, 0x6000c},
    {0x9000f, 0x8000a, 0x8000d, 0x7000c},
    {0x9000b, 0x9000e, 0x80009, 0x8000c},
    {0x90008, 0x9000a, 0x9000d, 0x80008},
    {0xa000d, 0x90007, 0x90009, 0x9000c},
    {0xa0009, 0xa000c, 0xa000b, 0xa000a},
    {0xa0005, 0xa0008, 0xa0007, 0xa0006},
    {0xa0001, 0xa0004, 0xa0003, 0xa0002},
};
// Table 9-5, 8 <= nC
__constant__ u32 CT_NC_8_UP[17][4] = {
    {0x60003, 0x00000, 0x00000, 0x00000},
    {0x60000, 0x60001, 0x00000, 0x00000},
    {0x60004, 0x60005, 0x60006, 0x00000},
    {0x60008, 0x60009, 0x6000a, 0x6000b},
    {0x6000c, 0x6000d, 0x6000e, 0x6000f},
    {0x60010, 0x60011, 0x60012, 0x60013},
    {0x60014, 0x60015, 0x60016, 0x60017},
    {0x60018, 0x60019, 0x6001a, 0x6001b},
    {0x6001c, 0x6001d, 0x6001e, 0x6001f},
    {0x60020, 0x60021, 0x60022, 0x60023},
    {0x60024, 0x60025, 0x60026, 0x60027},
    {0x60028, 0x60029, 0x6002a, 0x6002b},
    {0x6002c, 0x6002d, 0x6002e, 0x6002f},
    {0x60030, 0x60031, 0x60032, 0x60033},
    {0x60034, 0x60035, 0x60036, 0x60037},
    {0x60038, 0x60039, 0x6003a, 0x6003b},
    {0x6003c, 0x6003d, 0x6003e, 0x6003f},
};
// Table 9-5, nC == -1 (chroma DC, 4:2:0)
__constant__ u32 CT_CHROMA_DC[5][4] = {
    {0x20001, 0x00000, 0x00000, 0x00000},
    {0x60007, 0x10001, 0x00000, 0x00000},
    {0x60004, 0x60006, 0x30001, 0x00000},
    {0x60003, 0x70003, 0x70002, 0x60005},
    {0x60002, 0x80003, 0x80002, 0x70000},
};
// Tables 9-7, 9-8: total_zeros, [tzVlcIndex - 1][total_zeros]
__constant__ u32 TZ_4X4[15][16] = {
    {0x10001, 0x30003, 0x30002, 0x40003, 0x40002, 0x50003, 0x50002, 0x60003, 0x60002, 0x70003, 0x70002, 0x80003, 0x80002, 0x90003, 0x90002, 0x90001},
    {0x30007, 0x30006, 0x30005, 0x30004, 0x30003, 0x40005, 0x40004, 0x40003, 0x40002, 0x50003, 0x50002, 0x60003, 0x60002, 0x60001, 0x60000, 0x00000},
    {0x40005, 0x30007, 0x30006, 0x30005, 0x40004, 0x40003, 0x30004, 0x30003, 0x40002, 0x50003, 0x50002, 0x60001, 0x50001, 0x60000, 0x00000, 0x00000},
    {0x50003, 0x30007, 0x40005, 0x40004, 0x30006, 0x30005, 0x30004, 0x40003, 0x30003, 0x40002, 0x50002, 0x50001, 0x50000, 0x00000, 0x00000, 0x00000},
    {0x40005, 0x40004, 0x40003, 0x30007, 0x30006, 0x30005, 0x30004, 0x30003, 0x40002, 0x50001, 0x40001, 0x50000, 0x00000, 0x00000, 0x00000, 0x00000},
    {0x60001, 0x50001, 0x30007, 0x30006, 0x30005, 0x30004, 0x30003, 0x30002, 0x40001, 0x30001, 0x60000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000},
    {0x60001, 0x50001, 0x30005, 0x30004, 0x30003, 0x20003, 0x30002, 0x40001, 0x30001, 0x60000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000},
    {0x60001, 0x40001, 0x50001, 0x30003, 0x20003, 0x20002, 0x30002, 0x30001, 0x60000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000},
    {0x60001, 0x60000, 0x40001, 0x20003, 0x20002, 0x30001, 0x20001, 0x50001, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000},
    {0x50001, 0x50000, 0x30001, 0x20003, 0x20002, 0x20001, 0x40001, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000},
    {0x40000, 0x40001, 0x30001, 0x30002, 0x10001, 0x30003, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000},
    {0x40000, 0x40001, 0x20001, 0x10001, 0x30001, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000},
    {0x30000, 0x30001, 0x10001, 0x20001, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000},
    {0x20000, 0x20001, 0x10001, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000},
    {0x10000, 0x10001, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000},
};
// Table 9-9(a): chroma DC total_zeros
__constant__ u32 TZ_CHROMA_DC[3][4] = {
    {0x10001, 0x20001, 0x30001, 0x30000},
    {0x10001, 0x20001, 0x20000, 0x00000},
    {0x10001, 0x10000, 0x00000, 0x00000},
};
// Table 9-10: run_before, [min(zerosLeft, 7) - 1][run_before]
__constant__ u32 RUN_BEFORE[7][15] = {
    {0x10001, 0x10000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000},
    {0x10001, 0x20001, 0x20000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000},
    {0x20003, 0x20002, 0x20001, 0x20000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000},
    {0x20003, 0x20002, 0x20001, 0x30001, 0x30000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000},
    {0x20003, 0x20002, 0x30003, 0x30002, 0x30001, 0x30000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000},
    {0x20003, 0x30000, 0x30001, 0x30003, 0x30002, 0x30005, 0x30004, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000},
    {0x30007, 0x30006, 0x30005, 0x30004, 0x30003, 0x30002, 0x30001, 0x40001, 0x50001, 0x60001, 0x70001, 0x80001, 0x90001, 0xa0001, 0xb0001},
};
// The longest coeff_token over the four nC >= 0 columns, [TotalCoeff][TrailingOnes].
__constant__ u8 CT_NC_MAX_LEN[17][4] = {
    {6, 0, 0, 0},
    {6, 6, 0, 0},
    {8, 6, 6, 0},
    {9, 8, 7, 6},
    {10, 9, 8, 6},
    {11, 10, 9, 7},
    {13, 11, 10, 8},
    {13, 13, 11, 9},
    {13, 13, 13, 10},
    {14, 14, 13, 11},
    {14, 14, 14, 13},
    {15, 15, 14, 14},
    {15, 15, 15, 14},
    {16, 15, 15, 15},
    {16, 16, 16, 15},
    {16, 16, 16, 16},
    {16, 16, 16, 16},
};

// coded_block_pattern -> codeNum for intra macroblocks (Table 9-4, inverted).
__constant__ u8 INTRA_CBP_TO_CODE[48] = {
    3,  29, 30, 17, 31, 18, 37, 8,  32, 38, 19, 9,  20, 10, 11, 2,  16, 33, 34, 21, 35, 22, 39, 4,
    36, 40, 23, 5,  24, 6,  7,  1,  41, 42, 43, 25, 44, 26, 46, 12, 45, 47, 27, 13, 28, 14, 15, 0,
};

// Which coeff_token table codes a block (avc::cavlc::CoeffTokenTable): the
// Table 9-5 column of nC >= 0, or CT_CHROMA_DC for 4:2:0 chroma DC.
#define TABLE_CHROMA_DC (-1)

__device__ __forceinline__ u32 coeff_token(int nc, int total, int ones) {
    if (nc == TABLE_CHROMA_DC) return CT_CHROMA_DC[total][ones];
    if (nc < 2) return CT_NC_0_TO_2[total][ones];
    if (nc < 4) return CT_NC_2_TO_4[total][ones];
    if (nc < 8) return CT_NC_4_TO_8[total][ones];
    return CT_NC_8_UP[total][ones];
}

// ---- bit sinks (avc::bits::BitSink) -----------------------------------------------

// Counts bits without storing them.
struct BitCounter {
    u32 bits;
    __device__ void put_bits(u32 n, u32 v) { bits += n; }
};

// Writes bits most significant first into 32-bit words (bit 0 of the stream
// is the top bit of word 0).
struct BitWriter {
    u32 *words;
    u64 acc;
    u32 nacc;
    u32 bits;
    __device__ void put_bits(u32 n, u32 v) {
        if (n == 0) return;
        u64 masked = (u64)v & ((1ull << n) - 1);
        acc = (acc << n) | masked;
        nacc += n;
        bits += n;
        if (nacc >= 32) {
            nacc -= 32;
            *words++ = (u32)(acc >> nacc);
            acc &= (1ull << nacc) - 1;
        }
    }
    // Writes the last partial word, zero padded.
    __device__ void flush() {
        if (nacc > 0) *words = (u32)(acc << (32 - nacc));
    }
};

template <class S> __device__ __forceinline__ void put_vlc(S &s, u32 vlc) { s.put_bits(vlc >> 16, vlc & 0xffff); }

// Length in bits of ue(v) (9.1).
__device__ __forceinline__ u32 ue_len(u32 v) {
    u64 code = (u64)v + 1;
    return 2 * (63 - __clzll(code)) + 1;
}

// ue(v), 9.1.
template <class S> __device__ void put_ue(S &s, u32 v) {
    u64 code = (u64)v + 1;
    u32 len = 64 - __clzll(code);
    if (len > 1) s.put_bits(len - 1, 0);
    if (len > 32) {
        s.put_bits(1, (u32)(code >> 32));
        s.put_bits(32, (u32)code);
    } else {
        s.put_bits(len, (u32)code);
    }
}

// se(v), 9.1.1.
template <class S> __device__ void put_se(S &s, int v) {
    i64 mapped = v > 0 ? 2 * (i64)v - 1 : -2 * (i64)v;
    put_ue(s, (u32)mapped);
}

// ---- residual_block_cavlc (7.3.5.3.2) ---------------------------------------------

// A block analysed for coding: levels in reverse scan order with their runs.
struct CodedBlock {
    int levels[16];
    u8 runs[16];
    int total;
    int ones;
    int total_zeros;
    int max_num_coeff;
};

// levelCode of a nonzero level before the TrailingOnes < 3 adjustment (9.2.2.1).
__device__ __forceinline__ u32 level_code(int level) {
    u32 mag = (u32)abs(level);
    return level > 0 ? 2 * mag - 2 : 2 * mag - 1;
}

// level_prefix / level_suffix for `code` at `sl` with level_prefix <= 15
// (9.2.2.1 inverted). Returns false when levelCode does not fit.
__device__ __forceinline__ bool level_codeword(u32 code, u32 sl, u32 *prefix, u32 *suffix_size, u32 *suffix) {
    u32 escape_start;
    if (sl == 0) {
        if (code < 14) {
            *prefix = code, *suffix_size = 0, *suffix = 0;
            return true;
        }
        if (code < 30) {
            *prefix = 14, *suffix_size = 4, *suffix = code - 14;
            return true;
        }
        escape_start = 30;
    } else {
        u32 start = 15u << sl;
        if (code < start) {
            *prefix = code >> sl, *suffix_size = sl, *suffix = code & ((1u << sl) - 1);
            return true;
        }
        escape_start = start;
    }
    u32 s = code - escape_start;
    *prefix = 15, *suffix_size = 12, *suffix = s;
    return s < 4096;
}

// suffixLength after coding `level` (9.2.2.1).
__device__ __forceinline__ u32 next_suffix_length(u32 sl, int level) {
    u32 s = sl < 1 ? 1 : sl;
    return (s < 6 && (u32)abs(level) > (3u << (s - 1))) ? s + 1 : s;
}

// Collects levels, runs, TotalCoeff, TrailingOnes and total_zeros (7.4.5.3.2).
__device__ void analyse_block(const i16 *coeffs, int len, CodedBlock &b) {
    int n = 0, zeros = 0;
    b.total_zeros = 0;
    b.max_num_coeff = len;
    for (int i = len - 1; i >= 0; i--) {
        int c = coeffs[i];
        if (c != 0) {
            if (n > 0) {
                b.runs[n - 1] = (u8)zeros;
                b.total_zeros += zeros;
            }
            b.levels[n++] = c;
            zeros = 0;
        } else if (n > 0) {
            zeros++;
        }
    }
    if (n > 0) {
        b.runs[n - 1] = (u8)zeros;
        b.total_zeros += zeros;
    }
    b.total = n;
    int ones = 0;
    int lim = n < 3 ? n : 3;
    while (ones < lim && abs(b.levels[ones]) == 1) ones++;
    b.ones = ones;
}

// Writes (or counts) the levels, total_zeros and runs: everything after
// coeff_token. Returns false, having written nothing useful, when a level
// overflows level_prefix 15; `dry` only checks.
template <class S> __device__ bool write_block_body(S &s, const CodedBlock &b, bool chroma_dc) {
    if (b.total == 0) return true;
    for (int k = 0; k < b.ones; k++) s.put_bits(1, b.levels[k] < 0 ? 1 : 0);
    u32 sl = (b.total > 10 && b.ones < 3) ? 1 : 0;
    for (int k = b.ones; k < b.total; k++) {
        int level = b.levels[k];
        u32 code = level_code(level);
        if (k == b.ones && b.ones < 3) code -= 2;
        u32 prefix, size, suffix;
        if (!level_codeword(code, sl, &prefix, &size, &suffix)) return false;
        s.put_bits(prefix + 1, 1);
        s.put_bits(size, suffix);
        sl = next_suffix_length(sl, level);
    }
    if (b.total < b.max_num_coeff) {
        u32 vlc = chroma_dc ? TZ_CHROMA_DC[b.total - 1][b.total_zeros] : TZ_4X4[b.total - 1][b.total_zeros];
        put_vlc(s, vlc);
    }
    int zeros_left = b.total_zeros;
    for (int k = 0; k < b.total - 1 && zeros_left > 0; k++) {
        int zl = zeros_left < 7 ? zeros_left : 7;
        put_vlc(s, RUN_BEFORE[zl - 1][b.runs[k]]);
        zeros_left -= b.runs[k];
    }
    return true;
}

// Whether every level of the block is codable (9.2.2.1, level_prefix <= 15).
__device__ bool block_codable(const CodedBlock &b) {
    BitCounter c = {0};
    return write_block_body(c, b, false);
}

// residual_block_cavlc: writes the block with the table for `nc`
// (TABLE_CHROMA_DC for chroma DC). The caller has checked codability.
__device__ void write_residual_block(BitWriter &w, const i16 *coeffs, int len, int nc) {
    CodedBlock b;
    analyse_block(coeffs, len, b);
    put_vlc(w, coeff_token(nc, b.total, b.ones));
    write_block_body(w, b, nc == TABLE_CHROMA_DC);
}

// Length of run_before for zerosLeft `zl` (Table 9-10).
__device__ __forceinline__ u32 run_before_len(int zl, int run) {
    switch (zl) {
    case 1: return 1;
    case 2: return run == 0 ? 1 : 2;
    case 3: return 2;
    case 4: return run < 3 ? 2 : 3;
    case 5: return run < 2 ? 2 : 3;
    case 6: return run == 0 ? 2 : 3;
    default: return run < 7 ? 3 : (u32)run - 3;
    }
}

// Length of the level_prefix / level_suffix of `code` at `sl` (9.2.2.1), or 0
// when it does not fit level_prefix 15.
__device__ __forceinline__ u32 level_codeword_len(u32 code, u32 sl) {
    u32 escape_start;
    if (sl == 0) {
        if (code < 14) return code + 1;
        if (code < 30) return 15 + 4;
        escape_start = 30;
    } else {
        u32 start = 15u << sl;
        if (code < start) return (code >> sl) + 1 + sl;
        escape_start = start;
    }
    return code - escape_start < 4096 ? 16 + 12 : 0;
}

// Codeword lengths that lanes look up at different indices: kept in shared
// memory, since divergent reads of __constant__ memory are serialised.
struct LenTables {
    u8 ct_max[17][4];    // CT_NC_MAX_LEN
    u8 ct_chroma[5][4];  // lengths of CT_CHROMA_DC
    u8 tz[15][16];       // lengths of TZ_4X4
    u8 tz_chroma[3][4];  // lengths of TZ_CHROMA_DC
};

// Fills `t` with the threads of the block; the caller synchronises.
__device__ void load_len_tables(LenTables &t, int thread, int threads) {
    for (int i = thread; i < 17 * 4; i += threads) t.ct_max[i / 4][i % 4] = CT_NC_MAX_LEN[i / 4][i % 4];
    for (int i = thread; i < 5 * 4; i += threads) t.ct_chroma[i / 4][i % 4] = (u8)(CT_CHROMA_DC[i / 4][i % 4] >> 16);
    for (int i = thread; i < 15 * 16; i += threads) t.tz[i / 16][i % 16] = (u8)(TZ_4X4[i / 16][i % 16] >> 16);
    for (int i = thread; i < 3 * 4; i += threads) t.tz_chroma[i / 4][i % 4] = (u8)(TZ_CHROMA_DC[i / 4][i % 4] >> 16);
}

// Bits of the block in the worst case over the four nC >= 0 tables (exact
// for chroma DC), avc::cavlc::residual_block_bits_bound; -1 if not codable.
// Works from bit masks of the levels, visiting only the nonzero ones.
__device__ int residual_block_bits_bound(const i16 *c, int len, bool chroma_dc, const LenTables &t) {
    u32 nz = 0, unit = 0;
    for (int i = 0; i < len; i++) {
        int v = c[i];
        nz |= (u32)(v != 0) << i;
        unit |= (u32)(v == 1 || v == -1) << i;
    }
    int total = __popc(nz);
    // TrailingOnes: up to three +-1 levels at the high-frequency end (7.4.5.3.2).
    int ones = 0;
    for (u32 m = nz; ones < 3 && m != 0; ones++) {
        int i = 31 - __clz(m);
        if (!((unit >> i) & 1)) break;
        m &= ~(1u << i);
    }
    u32 token = chroma_dc ? t.ct_chroma[total][ones] : t.ct_max[total][ones];
    if (total == 0) return (int)token;
    int last = 31 - __clz(nz);
    int total_zeros = last + 1 - total;
    u32 bits = token + ones;
    u32 sl = (total > 10 && ones < 3) ? 1 : 0;
    int k = 0, zeros_left = total_zeros, prev = -1;
    for (u32 rest = nz; rest != 0; k++) {
        int i = 31 - __clz(rest);
        rest &= ~(1u << i);
        if (prev >= 0 && zeros_left > 0) {
            // run_before of the previous level: the zeros between it and this one.
            int run = prev - i - 1;
            bits += run_before_len(zeros_left < 7 ? zeros_left : 7, run);
            zeros_left -= run;
        }
        if (k >= ones) {
            int v = c[i];
            u32 code = level_code(v);
            if (k == ones && ones < 3) code -= 2;
            u32 n = level_codeword_len(code, sl);
            if (n == 0) return -1;
            bits += n;
            sl = next_suffix_length(sl, v);
        }
        prev = i;
    }
    if (total < len) bits += chroma_dc ? t.tz_chroma[total - 1][total_zeros] : t.tz[total - 1][total_zeros];
    return (int)bits;
}

// TotalCoeff of a block.
__device__ __forceinline__ int total_coeff(const i16 *coeffs, int len) {
    int n = 0;
    for (int i = 0; i < len; i++) n += coeffs[i] != 0;
    return n;
}

// ---- macroblock_layer (7.3.5) -----------------------------------------------------

// nC from the neighbours' TotalCoeff (9.2.1); -1 stands for "not available".
__device__ __forceinline__ int nc_from_neighbours(int left, int top) {
    if (left >= 0 && top >= 0) return (left + top + 1) >> 1;
    if (left >= 0) return left;
    if (top >= 0) return top;
    return 0;
}

struct MbNeighbours {
    const MbRecord *left; // null when not available
    const MbRecord *top;
};

__device__ int luma_nc(const MbRecord &mb, const MbNeighbours &n, int blk) {
    int x = luma_block_x(blk), y = luma_block_y(blk);
    int left = x > 0 ? mb.luma_counts[luma_block_at(x - 4, y)] : (n.left ? n.left->luma_counts[luma_block_at(12, y)] : -1);
    int top = y > 0 ? mb.luma_counts[luma_block_at(x, y - 4)] : (n.top ? n.top->luma_counts[luma_block_at(x, 12)] : -1);
    return nc_from_neighbours(left, top);
}

__device__ int chroma_nc(const MbRecord &mb, const MbNeighbours &n, int c, int blk) {
    int bx = blk % 2, by = blk / 2;
    const u8 *own = mb.chroma_counts + c * 4;
    int left = bx > 0 ? own[blk - 1] : (n.left ? n.left->chroma_counts[c * 4 + blk + 1] : -1);
    int top = by > 0 ? own[blk - 2] : (n.top ? n.top->chroma_counts[c * 4 + blk + 2] : -1);
    return nc_from_neighbours(left, top);
}

__device__ __forceinline__ int i4_mode_of(const MbRecord *mb, int blk) { return mb->kind == KIND_I4 ? mb->modes[blk] : 2; }

// predIntra4x4PredMode (8.3.1.1).
__device__ int predicted_i4_mode(const MbRecord &mb, const MbNeighbours &n, int blk) {
    int x = luma_block_x(blk), y = luma_block_y(blk);
    int left = x > 0 ? mb.modes[luma_block_at(x - 4, y)] : (n.left ? i4_mode_of(n.left, luma_block_at(12, y)) : -1);
    int top = y > 0 ? mb.modes[luma_block_at(x, y - 4)] : (n.top ? i4_mode_of(n.top, luma_block_at(x, 12)) : -1);
    if (left < 0 || top < 0) return 2;
    return left < top ? left : top;
}

// mb_type of Intra_16x16 (Table 7-11).
__device__ __forceinline__ u32 i16_mb_type(int mode, int cbp_luma, int cbp_chroma) {
    return 1 + mode + 4 * cbp_chroma + (cbp_luma != 0 ? 12 : 0);
}

__device__ void write_residual(BitWriter &w, const MbRecord &mb, const MbNeighbours &n) {
    bool i16 = mb.kind == KIND_I16;
    if (i16) write_residual_block(w, mb.luma_dc, 16, luma_nc(mb, n, 0));
    for (int blk = 0; blk < 16; blk++) {
        if (!(mb.cbp_luma & (1 << (blk / 4)))) continue;
        if (i16)
            write_residual_block(w, mb.luma[blk] + 1, 15, luma_nc(mb, n, blk));
        else
            write_residual_block(w, mb.luma[blk], 16, luma_nc(mb, n, blk));
    }
    if (mb.cbp_chroma & 3)
        for (int c = 0; c < 2; c++) write_residual_block(w, mb.chroma_dc[c], 4, TABLE_CHROMA_DC);
    if (mb.cbp_chroma & 2)
        for (int c = 0; c < 2; c++)
            for (int blk = 0; blk < 4; blk++) write_residual_block(w, mb.chroma_ac[c][blk] + 1, 15, chroma_nc(mb, n, c, blk));
}

// The PCM macroblock's samples from the padded source picture (7.3.5): 256
// luma then 64 Cb and 64 Cr, written after mb_type; the pack stage inserts
// pcm_alignment_zero_bits between the two parts.
__device__ void write_pcm_samples(BitWriter &w, const u8 *sy, const u8 *su, const u8 *sv, int pitch, int mb_x, int mb_y) {
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 16; x += 4) {
            const u8 *p = sy + (size_t)(mb_y * 16 + y) * pitch + mb_x * 16 + x;
            w.put_bits(32, ((u32)p[0] << 24) | ((u32)p[1] << 16) | ((u32)p[2] << 8) | p[3]);
        }
    int cpitch = pitch / 2;
    for (int c = 0; c < 2; c++) {
        const u8 *plane = c == 0 ? su : sv;
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x += 4) {
                const u8 *p = plane + (size_t)(mb_y * 8 + y) * cpitch + mb_x * 8 + x;
                w.put_bits(32, ((u32)p[0] << 24) | ((u32)p[1] << 16) | ((u32)p[2] << 8) | p[3]);
            }
    }
}

// A macroblock's entry in `lens`: its bit count in bits 0..15; an I_PCM
// macroblock sets MB_BITS_PCM_FLAG and puts in bits 16..30 the count of the
// bits before its samples (mb_skip_run and mb_type), which the pack stage
// follows with pcm_alignment_zero_bits.
#define MB_BITS_PCM_FLAG 0x80000000u
__device__ __forceinline__ u32 mb_bit_count(u32 len) { return len & 0xffffu; }
__device__ __forceinline__ u32 mb_pcm_header(u32 len) { return (len >> 16) & 0x7fffu; }

// ---- motion vector prediction (8.4.1.1, 8.4.1.3; avc::mvpred) ----------------------

// Motion of a neighbouring partition: not available (outside the picture or
// not yet decoded), or refIdx (0, or -1 for an intra macroblock) and vector.
struct MvNb {
    bool avail;
    int ref;
    int mv[2];
};

// The partition covering luma location (x, y) relative to macroblock `addr`
// as seen while decoding partition `part_idx` of a macroblock partitioned as
// `part` (6.4.11.7, 6.4.12; avc::mvpred::MotionField::neighbour).
__device__ MvNb mv_neighbour(const MbRecord *recs, int wm, int addr, int part, int part_idx, int x, int y) {
    MvNb n = {false, -1, {0, 0}};
    bool inside_x = x >= 0 && x < 16, inside_y = y >= 0 && y < 16;
    if (inside_x && inside_y) {
        int idx = partition_of(part, x, y);
        if (idx >= part_idx) return n; // not yet decoded
        n.avail = true, n.ref = 0;
        n.mv[0] = recs[addr].mv[idx][0], n.mv[1] = recs[addr].mv[idx][1];
        return n;
    }
    int dx, dy;
    if (x < 0 && y < 0)
        dx = -1, dy = -1;
    else if (x < 0 && inside_y)
        dx = -1, dy = 0;
    else if (inside_x && y < 0)
        dx = 0, dy = -1;
    else if (x >= 16 && y < 0)
        dx = 1, dy = -1;
    else
        return n; // right of or below the macroblock: not yet decoded
    int nx = addr % wm + dx, ny = addr / wm + dy;
    if (nx < 0 || ny < 0 || nx >= wm) return n;
    const MbRecord &m = recs[ny * wm + nx];
    n.avail = true;
    if (m.kind != KIND_INTER) return n; // intra: refIdx -1, vector 0
    int k = partition_of(m.part, (x + 16) % 16, (y + 16) % 16);
    n.ref = 0, n.mv[0] = m.mv[k][0], n.mv[1] = m.mv[k][1];
    return n;
}

__device__ __forceinline__ int median3(int p, int q, int r) {
    int hi = p > q ? p : q, lo = p < q ? p : q;
    int m = lo > r ? lo : r;
    return hi < m ? hi : m;
}

// Position and size of partition `idx` (avc::syntax::Partition::rect).
__device__ __forceinline__ void part_rect(int part, int idx, int *x, int *y, int *w, int *h) {
    switch (part) {
    case PART_16X16: *x = 0, *y = 0, *w = 16, *h = 16; break;
    case PART_16X8: *x = 0, *y = idx * 8, *w = 16, *h = 8; break;
    case PART_8X16: *x = idx * 8, *y = 0, *w = 8, *h = 16; break;
    default: *x = (idx % 2) * 8, *y = (idx / 2) * 8, *w = 8, *h = 8; break;
    }
}

__device__ __forceinline__ int part_count(int part) { return part == PART_16X16 ? 1 : (part == PART_8X8 ? 4 : 2); }

// mvpLX of partition `idx` of macroblock `addr` with refIdx 0 (8.4.1.3).
__device__ void predict_mv(const MbRecord *recs, int wm, int addr, int part, int idx, int *mvp) {
    int x, y, w, h;
    part_rect(part, idx, &x, &y, &w, &h);
    MvNb a = mv_neighbour(recs, wm, addr, part, idx, x - 1, y);
    MvNb b = mv_neighbour(recs, wm, addr, part, idx, x, y - 1);
    MvNb c = mv_neighbour(recs, wm, addr, part, idx, x + w, y - 1);
    if (!c.avail) c = mv_neighbour(recs, wm, addr, part, idx, x - 1, y - 1);
    if (!b.avail && !c.avail && a.avail) b = a, c = a;
    // Unavailable neighbours count as refIdx -1 with a zero vector; an
    // unavailable neighbour already holds that.
    const MvNb *pick = 0;
    if (part == PART_16X8 && idx == 0 && b.ref == 0) pick = &b;
    if (part == PART_16X8 && idx == 1 && a.ref == 0) pick = &a;
    if (part == PART_8X16 && idx == 0 && a.ref == 0) pick = &a;
    if (part == PART_8X16 && idx == 1 && c.ref == 0) pick = &c;
    if (!pick) {
        int matches = (a.ref == 0) + (b.ref == 0) + (c.ref == 0);
        if (matches == 1) pick = a.ref == 0 ? &a : (b.ref == 0 ? &b : &c);
    }
    if (pick) {
        mvp[0] = pick->mv[0], mvp[1] = pick->mv[1];
        return;
    }
    mvp[0] = median3(a.mv[0], b.mv[0], c.mv[0]);
    mvp[1] = median3(a.mv[1], b.mv[1], c.mv[1]);
}

// The vector P_Skip infers (8.4.1.1).
__device__ void skip_mv(const MbRecord *recs, int wm, int addr, int *mv) {
    MvNb a = mv_neighbour(recs, wm, addr, PART_16X16, 0, -1, 0);
    MvNb b = mv_neighbour(recs, wm, addr, PART_16X16, 0, 0, -1);
    mv[0] = 0, mv[1] = 0;
    if (!a.avail || !b.avail) return;
    if ((a.ref == 0 && a.mv[0] == 0 && a.mv[1] == 0) || (b.ref == 0 && b.mv[0] == 0 && b.mv[1] == 0)) return;
    predict_mv(recs, wm, addr, PART_16X16, 0, mv);
}

// Whether the macroblock is coded as P_Skip: 16x16 inter, no residual, and
// the vector P_Skip infers (avc::slice::PictureSyntax::is_skip).
__device__ bool is_skip(const MbRecord *recs, int wm, int addr) {
    const MbRecord &mb = recs[addr];
    if (mb.kind != KIND_INTER || mb.part != PART_16X16 || mb.cbp_luma != 0 || mb.cbp_chroma != 0) return false;
    int mv[2];
    skip_mv(recs, wm, addr, mv);
    return mv[0] == mb.mv[0][0] && mv[1] == mb.mv[0][1];
}

// One thread per macroblock of a batch of P pictures: 1 where it is P_Skip.
extern "C" __global__ void p_skip_flags(const MbRecord *__restrict__ recs, u8 *__restrict__ skip, int wm, int hm,
                                        int nframes) {
    int per_frame = wm * hm;
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long)per_frame * nframes) return;
    int f = (int)(i / per_frame), addr = (int)(i % per_frame);
    skip[i] = is_skip(recs + (size_t)f * per_frame, wm, addr) ? 1 : 0;
}

// coded_block_pattern -> codeNum for inter macroblocks (Table 9-4, inverted).
__constant__ u8 INTER_CBP_TO_CODE[48] = {
    0,  2,  3,  7,  4,  8,  17, 13, 5,  18, 9,  14, 10, 15, 16, 11, 1,  32, 33, 36, 34, 37, 44, 40,
    35, 45, 38, 41, 39, 42, 43, 19, 6,  24, 25, 20, 26, 21, 46, 28, 27, 47, 22, 29, 23, 30, 31, 12,
};

// One thread per macroblock: macroblock_layer() of every macroblock of a
// batch of pictures into `bits` (MB_WORDS words each); `lens` gets the bit
// count (see MB_BITS_PCM_FLAG). In P slices (`skip` non-null) a coded
// macroblock is preceded by the mb_skip_run before it, a P_Skip macroblock
// writes nothing, except the last of the picture, which writes the final
// run (7.3.4); intra mb_type values are offset by 5 (Table 7-13).
extern "C" __global__ void cavlc_write_mbs(const MbRecord *__restrict__ recs, u32 *__restrict__ bits,
                                           u32 *__restrict__ lens, const u8 *__restrict__ src, int wm, int hm,
                                           int nframes, long long frame_bytes, const u8 *__restrict__ skip) {
    int per_frame = wm * hm;
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long)per_frame * nframes) return;
    int f = (int)(i / per_frame), addr = (int)(i % per_frame);
    int mb_x = addr % wm, mb_y = addr / wm;
    const MbRecord *frame_recs = recs + (size_t)f * per_frame;
    const MbRecord &mb = frame_recs[addr];
    MbNeighbours n;
    n.left = mb_x > 0 ? &frame_recs[addr - 1] : 0;
    n.top = mb_y > 0 ? &frame_recs[addr - wm] : 0;
    BitWriter w = {bits + (size_t)i * MB_WORDS, 0, 0, 0};
    u32 flag = 0, intra_offset = 0;
    if (skip) {
        const u8 *fskip = skip + (size_t)f * per_frame;
        bool skipped = fskip[addr] != 0;
        bool last = addr == per_frame - 1;
        if (skipped && !last) {
            lens[i] = 0;
            return;
        }
        u32 run = 0;
        for (int k = addr - 1; k >= 0 && fskip[k]; k--) run++;
        if (skipped) {
            put_ue(w, run + 1); // the final mb_skip_run, this macroblock included
            w.flush();
            lens[i] = w.bits;
            return;
        }
        put_ue(w, run); // mb_skip_run
        intra_offset = 5;
    }
    if (mb.kind == KIND_PCM) {
        put_ue(w, 25 + intra_offset); // mb_type I_PCM (Table 7-11)
        int pitch = wm * 16;
        const u8 *sy = src + (size_t)f * frame_bytes;
        const u8 *su = sy + (size_t)pitch * hm * 16;
        const u8 *sv = su + (size_t)(pitch / 2) * hm * 8;
        flag = MB_BITS_PCM_FLAG | (w.bits << 16);
        write_pcm_samples(w, sy, su, sv, pitch, mb_x, mb_y);
    } else {
        int cbp = mb.cbp_luma | (mb.cbp_chroma << 4);
        bool i16 = mb.kind == KIND_I16;
        if (mb.kind == KIND_INTER) {
            put_ue(w, mb.part); // mb_type P_L0_16x16 .. P_8x8 (Table 7-13)
            if (mb.part == PART_8X8)
                for (int k = 0; k < 4; k++) put_ue(w, 0); // sub_mb_type P_L0_8x8
            for (int idx = 0; idx < part_count(mb.part); idx++) {
                int mvp[2];
                predict_mv(frame_recs, wm, addr, mb.part, idx, mvp);
                put_se(w, mb.mv[idx][0] - mvp[0]); // mvd_l0
                put_se(w, mb.mv[idx][1] - mvp[1]);
            }
            put_ue(w, INTER_CBP_TO_CODE[cbp]);
        } else if (i16) {
            put_ue(w, i16_mb_type(mb.i16_mode, mb.cbp_luma, mb.cbp_chroma) + intra_offset);
            put_ue(w, mb.chroma_mode);
        } else {
            put_ue(w, intra_offset); // mb_type I_NxN
            for (int blk = 0; blk < 16; blk++) {
                int pred = predicted_i4_mode(mb, n, blk);
                int mode = mb.modes[blk];
                if (mode == pred) {
                    w.put_bits(1, 1); // prev_intra4x4_pred_mode_flag
                } else {
                    w.put_bits(1, 0);
                    w.put_bits(3, mode < pred ? mode : mode - 1); // rem_intra4x4_pred_mode
                }
            }
            put_ue(w, mb.chroma_mode);
            put_ue(w, INTRA_CBP_TO_CODE[cbp]);
        }
        if (cbp != 0 || i16) {
            put_se(w, 0); // mb_qp_delta
            write_residual(w, mb, n);
        }
    }
    w.flush();
    lens[i] = w.bits | flag;
}
