# Sourced by the workflow tests: the three real samples they run and the checks of what the
# workflow delivered. Needs $shared, $cramjet, $w (the test folder, the working directory) and a
# fail function.
#   workflow_make_samples        -> mg.fa, chrM.fa (indexed copies), ub.bam, samples.tsv, archive/, config.yaml
#   workflow_expect_delivered    -> each sample in the archive once, in the summary, accepted by cramjet accept
workflow_make_samples() {
  local e=$shared/ecoli-10k-paired m=$shared/human-chrM-paired-binned
  # References copied: the mapper index is built beside them, never in the shared data.
  cp "$e/reference_MG1655_first10k.fasta" mg.fa && cp "$m/chrM_NC_012920.1.fa" chrM.fa
  "$cramjet" index mg.fa 2>/dev/null && "$cramjet" index chrM.fa 2>/dev/null || fail "cramjet index"
  samtools import -1 "$e/reads1.fastq.gz" -2 "$e/reads2.fastq.gz" -O bam -o ub.bam 2>/dev/null || fail "samtools import"
  printf 'sample\treference\tinputs\n# one line per sample\nEc1\tmg.fa\t%s,%s\nEc2\tmg.fa\tub.bam\nChrM\tchrM.fa\t%s,%s\n' \
    "$e/reads1.fastq.gz" "$e/reads2.fastq.gz" "$m/fastq/micro_R1.fq.gz" "$m/fastq/micro_R2.fq.gz" >samples.tsv
  mkdir archive
  printf 'samples: samples.tsv\noutput: results\narchive: file://%s/archive\nthreads: 1\nmem_mb: 1024\ncramjet: %s\n' \
    "$w" "$cramjet" >config.yaml
}
workflow_expect_delivered() {
  [ "$(tail -n +2 results/summary.tsv | wc -l)" -eq 3 ] || fail "summary rows: $(cat results/summary.tsv)"
  local s dir
  for s in Ec1 Ec2 ChrM; do
    [ "$(find archive -path "*/$s/manifest.json" | wc -l)" -eq 1 ] || fail "$s: not exactly one manifest in the archive"
    dir=$(dirname "$(find archive -path "*/$s/manifest.json")")
    awk -F'\t' -v s="$s" '$1 == s && $7 != "" && $10 != "" {ok=1} END {exit !ok}' results/summary.tsv || fail "$s: summary row"
    samtools view -H "results/$s/$s.cram" | grep -o 'M5:[0-9a-f]*' | cut -c4- >"known-$s.txt"
    "$cramjet" accept "$dir" --known-references "known-$s.txt" --receipt "receipt-$s.json" 2>>accept.log ||
      fail "$s: the archive does not accept it: $(cat accept.log)"
  done
}
