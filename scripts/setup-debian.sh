#!/usr/bin/env bash
# Installs everything cramjet needs to build, test and benchmark, from Debian 12 packages only.
# Idempotent; run as root. Each package's purpose is listed in docs/dependencies.md.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

build_deps=(
  build-essential cmake pkg-config ninja-build
  libhts-dev            # htslib: SAM/BAM/CRAM/FASTQ/BGZF I/O (pulls libcurl4-gnutls-dev)
  libdeflate-dev        # CRC32 of the read checksums and of rewritten CRAM container headers
  libisal-dev           # ISA-L igzip: streaming inflation of plain gzip FASTQ (read stage)
  libhwy-dev            # Highway: portable SIMD with runtime dispatch
  libzstd-dev           # zstd: compressed sort spill files
  zlib1g-dev            # gzip output for decompress
  opencl-headers opencl-clhpp-headers ocl-icd-opencl-dev pocl-opencl-icd   # OpenCL backend
  libxrt-dev uuid-dev   # Xilinx XRT native API (FPGA backend; no card here); XRT needs libuuid
  libgtest-dev libbenchmark-dev
  clang                 # libFuzzer targets of tests/fuzz (tests/fuzz/run.sh), not the product build
  libsqlite3-dev        # daemon job journal
  nlohmann-json3-dev    # JSON outputs and the status API
  libcli11-dev          # command-line parsing
  libtomlplusplus-dev   # daemon configuration
  libexpat1-dev         # expat: RunInfo.xml of Illumina run folders (daemon intake)
  libsystemd-dev        # sd_notify for the systemd unit
  libcurl4-gnutls-dev   # WebDAV and S3 shipping (GnuTLS flavour; the OpenSSL one conflicts with htslib)
  libminimap2-dev       # minimap2 2.24 as a library: the long-read placement path of the map stage
  libsodium-dev         # X25519, crypto_kx, ChaCha20-Poly1305-IETF, scrypt: Crypt4GH deliveries (ship, accept)
)
peer_tools=(
  samtools tabix minimap2 bwa fastp multiqc art-nextgen-simulation-tools
  pbsim                 # long-read (PacBio CLR/ONT-like) simulator with truth (MAF)
  seqan-apps            # mason_simulator: short reads with truth (Debian's "mason" is a firewall tool)
  nginx libnginx-mod-http-dav-ext
  nodejs                # runs s3rver, the S3 server of the ship tests (installed below with npm)
  chromium              # headless browser: the QC HTML report test (draws every plot, no console errors)
  strace                # kills an index build at an exact system call (interrupted-build test)
  systemd               # systemd-analyze: the installed unit is checked (verify, security score)
  python3 time
  python3-cryptography   # the second Crypt4GH implementation of tests/ship (crypt4gh_reference.py)
  snakemake             # the backlog-recompression workflow (workflow/Snakefile) and its test
  slurm-wlm munge       # a one-node Slurm the workflow test starts (tests/workflow/slurm_cluster.sh)
)

missing=()
for p in "${build_deps[@]}" "${peer_tools[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# S3-compatible server for the ship tests (npm s3rver, pinned by the committed package-lock.json),
# installed into the project folder only. Debian's nodejs may come without npm: add Debian's npm then.
if ! command -v npm >/dev/null; then
  apt-get install -y -qq --no-install-recommends npm
fi
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ ! -d "$repo_root/tests/ship/s3rver/node_modules/s3rver" ]]; then
  npm ci --prefix "$repo_root/tests/ship/s3rver" --no-audit --no-fund --loglevel=error
fi
