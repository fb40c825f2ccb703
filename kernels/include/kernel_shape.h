/* kernels/include/kernel_shape.h — the shape of the mapper's hot kernels, shared by the host
 * (scalar and Highway code in host/backend) and device kernels (kernels/opencl, kernels/hls).
 *
 * Plain C macros so that OpenCL C and HLS C++ can include it; C++ code uses the constexpr
 * names below. Changing any seed constant changes the index format: bump CJ_INDEX_FORMAT_VERSION.
 */
#ifndef CRAMJET_KERNEL_SHAPE_H_
#define CRAMJET_KERNEL_SHAPE_H_

/* Seeds: (w,k)-minimizers of canonical k-mers (the smaller of a k-mer and its reverse complement),
 * hashed with an invertible 32-bit mix. */
#define CJ_SEED_K 15                 /* k-mer length (2k = 30 bits fit one 32-bit lane) */
#define CJ_SEED_W 10                 /* consecutive k-mers per minimizer window */
#define CJ_SEED_INVALID 0xFFFFFFFFu  /* k-mer value/hash of a k-mer that holds a non-ACGT base */
#define CJ_INDEX_FORMAT_VERSION 3u
/* The k-mer hash (an invertible 32-bit mix, "lowbias32"): x ^= x >> 16; x *= MUL1; x ^= x >> 15;
 * x *= MUL2; x ^= x >> 16; a result equal to CJ_SEED_INVALID becomes CJ_SEED_INVALID - 1. Every
 * backend (scalar, Highway, device kernels) uses these constants from here. */
#define CJ_SEED_HASH_MUL1 0x7feb352dU
#define CJ_SEED_HASH_MUL2 0x846ca68bU

/* Base codes. Reads: 0..3 = A,C,G,T, 4 = anything else. Reference windows: 0..3, 4 = non-ACGT
 * reference base, 5 = outside the contig (an alignment may never cross it). */
#define CJ_BASE_N 4
#define CJ_REF_OUTSIDE 5
#define CJ_BASES_PER_WORD 32         /* 2-bit packing: base i of a word at bits 2*(i%32) */
/* One bit per 2-bit base: (x | x >> 1) & CJ_BASE_LOW_BITS has a bit set at every base of x that
 * is not 0, i.e. at every mismatch of an XOR of two packed words. */
#ifdef __OPENCL_VERSION__
#define CJ_BASE_LOW_BITS 0x5555555555555555UL
#else
#define CJ_BASE_LOW_BITS 0x5555555555555555ULL
#endif
/* Bases [first, first + 32) of 2-bit packed `words` as one word (base i at bits 2i), `first` any
 * base position: the one definition for host (PackedBasesAt), OpenCL and HLS. Reads the word
 * after first's when first is not word-aligned. `words` and `first` are evaluated more than once. */
#define CJ_PACKED_BASES_AT(words, first)                                                          \
  (((first) % CJ_BASES_PER_WORD) == 0                                                             \
       ? (words)[(first) / CJ_BASES_PER_WORD]                                                     \
       : ((words)[(first) / CJ_BASES_PER_WORD] >> (2 * ((first) % CJ_BASES_PER_WORD))) |          \
             ((words)[(first) / CJ_BASES_PER_WORD + 1] << (64 - 2 * ((first) % CJ_BASES_PER_WORD))))
#define CJ_PACKED_PAD_WORDS 16       /* readable words after packed sequences and the packed
                                        reference: the SIMD kernels load a whole vector (up to 8
                                        words, and the next one) from a window's last word */

/* Alignment scoring (local, with a bonus for reaching either end of the read so that
 * a single mismatch near an end is kept as a mismatch rather than soft-clipped). */
#define CJ_SCORE_MATCH 1
#define CJ_SCORE_MISMATCH (-4)
#define CJ_SCORE_GAP_OPEN 6          /* a gap of n bases costs OPEN + n * EXTEND */
#define CJ_SCORE_GAP_EXTEND 1
#define CJ_SCORE_END_BONUS 5
#define CJ_SCORE_BARRIER (-1000)     /* aligning against CJ_REF_OUTSIDE */
#define CJ_SCORE_NEG_INF (-10000)

/* Banded alignment: diagonals [-R, +R] around the candidate; 16-bit scores. */
#define CJ_BAND_RADIUS 8
#define CJ_BAND_WIDTH (2 * CJ_BAND_RADIUS + 1)
#define CJ_MAX_ALIGN_LENGTH 16384    /* longer reads are placed by the Hamming check only */

/* Traceback byte of one band cell. */
#define CJ_TB_H_DIAG 0               /* H continues along the diagonal */
#define CJ_TB_H_START 1              /* H starts a local alignment here */
#define CJ_TB_H_INS 2                /* H comes from I (read base not in reference) */
#define CJ_TB_H_DEL 3                /* H comes from D (reference base not in read) */
#define CJ_TB_H_MASK 3
#define CJ_TB_INS_EXTEND 4           /* I here extends an I of the row above */
#define CJ_TB_DEL_EXTEND 8           /* D here extends the D to its left */

/* ---- Device batch layouts (kernels/opencl, kernels/hls; packed by host/backend/device_batch.cc) --
 * Every kernel takes whole batches as flat arrays; the argument order of each top is the order
 * below, the same in OpenCL C and HLS C++, and the one the host's packing code sets.
 *
 * cramjet_seeds(codes, offsets, slot_offsets, seeds, seed_counts, count): sequence s is
 *   codes[offsets[s] .. offsets[s+1]); its minimizers go to seeds[2*slot_offsets[s] ..] as
 *   (hash, position) pairs, at most slot_offsets[s+1] - slot_offsets[s] of them (its k-mer count),
 *   and their number to seed_counts[s].
 * cramjet_hamming(reference, reads, n_masks, word_offsets, lengths, job_sequence,
 *   job_max_mismatches, job_ref_start, mismatches, job_count): see host VerifyHamming.
 * cramjet_align(reads, read_offsets, windows, traces, results, count): job j's read codes are
 *   reads[read_offsets[j] .. read_offsets[j+1]) (n bases), its window windows[read_offsets[j] +
 *   2*R*j ..] (n + 2R codes), its trace bytes traces[read_offsets[j] * CJ_BAND_WIDTH ..] (n rows of
 *   CJ_BAND_WIDTH cells), and results[3*j ..] = best score, its row, its diagonal (row -1: none).
 * cramjet_qc(codes, quals, offsets, slots, summaries, cycle_quality, cycle_codes, count,
 *   slot_count): read r is codes/quals[offsets[r] .. offsets[r+1]), accumulated into slot
 *   slots[r] < slot_count: summaries[8*r ..] = q20, q30, quality sum, then the A C G T N counts
 *   (codes above N count as N); for bases i < CJ_QC_MAX_CYCLES, cycle_quality[slot *
 *   CJ_QC_MAX_CYCLES + i] += quality and cycle_codes[(slot * CJ_QC_NUM_CODES + code) *
 *   CJ_QC_MAX_CYCLES + i] += 1. The host zeroes the cycle arrays. */
#define CJ_SEED_WORDS 2              /* uint32 words per seed: hash, position */
#define CJ_ALIGN_RESULT_WORDS 3      /* int32 words per alignment: score, row, diagonal */
#define CJ_QC_NUM_CODES 5            /* A C G T N */
#define CJ_QC_SUMMARY_WORDS 8        /* q20, q30, quality sum, A, C, G, T, N */
#define CJ_QC_MAX_CYCLES 2000        /* per-cycle columns (QC stops per-cycle metrics here) */

#ifdef __cplusplus
namespace cramjet::kernel_shape {
inline constexpr int kSeedK = CJ_SEED_K;
inline constexpr int kSeedW = CJ_SEED_W;
inline constexpr unsigned kSeedInvalid = CJ_SEED_INVALID;
inline constexpr int kBaseN = CJ_BASE_N;
inline constexpr int kRefOutside = CJ_REF_OUTSIDE;
inline constexpr int kBasesPerWord = CJ_BASES_PER_WORD;
inline constexpr int kBandRadius = CJ_BAND_RADIUS;
inline constexpr int kBandWidth = CJ_BAND_WIDTH;
inline constexpr int kMaxAlignLength = CJ_MAX_ALIGN_LENGTH;
}  // namespace cramjet::kernel_shape
#endif

#endif /* CRAMJET_KERNEL_SHAPE_H_ */
