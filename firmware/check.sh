#!/bin/sh
# firmware/check.sh — `make check`: holds the v++ config files to the HLS kernel sources without
# Vitis (POSIX sh, grep, sed, awk). Run from anywhere; paths are relative to firmware/.
#
# Environment (the Makefile passes these):
#   KERNELS    the kernel tops the host opens, e.g. "cramjet_seeds cramjet_hamming ..."
#   HLS_DIR    the HLS sources (default ../kernels/hls); top cramjet_X lives in X_hls.cpp
#   PLATFORMS  the platforms the Makefile knows (each needs a link_<platform>.cfg)
#   STRICT     1: a required kernel whose source file does not exist yet is an error, not a warning
#
# What it checks:
#   sources:      every `extern "C" void cramjet_*` top in HLS_DIR/*.cpp is one of KERNELS, and the
#                 file of each of KERNELS defines that top; every `#pragma HLS INTERFACE m_axi` of a
#                 top names a port, offset = slave and a bundle.
#   common.cfg:   the [hls] clock= lines name every kernel top.
#   link_*.cfg:   an nk= line for every kernel top (no others), CU names consistent with the count;
#                 exactly one sp=<cu>.<port> for every m_axi port of every CU, and none for ports
#                 the source does not have; ports of one bundle on the same bank(s); bank names
#                 valid for the platform; slr= lines (where the file has any) for every CU.
set -u
cd "$(dirname "$0")" || exit 2

KERNELS=${KERNELS:-"cramjet_seeds cramjet_hamming cramjet_align cramjet_qc"}
HLS_DIR=${HLS_DIR:-../kernels/hls}
PLATFORMS=${PLATFORMS:-"u55c u250"}
STRICT=${STRICT:-0}

errors=0
warnings=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cramjet-fw-check.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT HUP INT TERM

err() { echo "  ERROR: $*"; errors=$((errors + 1)); }
warn() { echo "  warning: $*"; warnings=$((warnings + 1)); }
is_required() { case " $KERNELS " in *" $1 "*) return 0 ;; esac; return 1; }

# cfg_values FILE SECTION KEY: the values of KEY= in [SECTION] ("" = before any section), one a
# line, comments and blanks removed.
cfg_values() {
  awk -v sec="$2" -v key="$3" '
    { sub(/#.*/, ""); gsub(/[ \t\r]/, "") }
    $0 == "" { next }
    /^\[.*\]$/ { cur = substr($0, 2, length($0) - 2); next }
    cur == sec && index($0, key "=") == 1 { print substr($0, length(key) + 2) }
  ' "$1"
}

# --- 1. Sources: tops and their m_axi ports ------------------------------------------------------
# $tmp/ports: "top port bundle" for every m_axi pragma; $tmp/tops: "top file".
: > "$tmp/ports"
: > "$tmp/tops"
echo "sources ($HLS_DIR):"
found_any=0
for src in "$HLS_DIR"/*.cpp; do
  [ -f "$src" ] || continue
  found_any=1
  awk -v file="$(basename "$src")" -v ports="$tmp/ports" -v tops="$tmp/tops" '
    /^[ \t]*(\/\/|\*)/ { next }
    match($0, /extern[ \t]+"C"[ \t]+void[ \t]+cramjet_[A-Za-z0-9_]+/) {
      top = substr($0, RSTART, RLENGTH); sub(/.*void[ \t]+/, "", top)
      print top, file >> tops
      next
    }
    /^[ \t]*#[ \t]*pragma[ \t]+HLS[ \t]+INTERFACE[ \t]+m_axi/ {
      line = $0; gsub(/[ \t]*=[ \t]*/, "=", line); n = split(line, f, /[ \t]+/)
      port = ""; bundle = ""; offset = ""
      for (i = 1; i <= n; i++) {
        if (f[i] ~ /^port=/) port = substr(f[i], 6)
        else if (f[i] ~ /^bundle=/) bundle = substr(f[i], 8)
        else if (f[i] ~ /^offset=/) offset = substr(f[i], 8)
      }
      if (top == "") { printf "  ERROR: %s:%d: m_axi pragma before any extern \"C\" cramjet_* top\n", file, NR; bad++; next }
      if (port == "") { printf "  ERROR: %s:%d: m_axi pragma without port = NAME\n", file, NR; bad++; next }
      if (offset != "slave") { printf "  ERROR: %s:%d: m_axi port %s: offset = %s, the host needs offset = slave\n", file, NR, port, (offset == "" ? "(none)" : offset); bad++ }
      if (bundle == "") { printf "  ERROR: %s:%d: m_axi port %s has no bundle = gmemN\n", file, NR, port; bad++; bundle = "(none)" }
      print top, port, bundle >> ports
    }
    END { exit bad > 0 }
  ' "$src" || errors=$((errors + 1))
done
[ "$found_any" = 1 ] || warn "no .cpp files in $HLS_DIR"

# Duplicate tops, tops the build does not know.
for dup in $(awk '{ print $1 }' "$tmp/tops" | sort | uniq -d); do
  err "$dup is defined in more than one file: $(awk -v t="$dup" '$1 == t { printf "%s ", $2 }' "$tmp/tops")"
done
while read -r top file; do
  nports=$(awk -v t="$top" '$1 == t' "$tmp/ports" | wc -l | tr -d ' ')
  if is_required "$top"; then
    echo "  $file: $top ($nports m_axi ports)"
  else
    err "$file: defines $top, which is not a kernel the build links and the host opens ($KERNELS)"
  fi
done < "$tmp/tops"

# Each required top in its file; $tmp/have: the required tops whose source exists.
: > "$tmp/have"
for k in $KERNELS; do
  file="${k#cramjet_}_hls.cpp"
  if [ ! -f "$HLS_DIR/$file" ]; then
    if [ "$STRICT" = 1 ]; then err "$k: $HLS_DIR/$file does not exist"
    else warn "$k: $HLS_DIR/$file does not exist yet; its ports are not checked"; fi
  elif ! awk -v t="$k" -v f="$file" '$1 == t && $2 == f { ok = 1 } END { exit !ok }' "$tmp/tops"; then
    err "$k: $HLS_DIR/$file does not define extern \"C\" void $k(...)"
  else
    echo "$k" >> "$tmp/have"
    if ! awk -v t="$k" '$1 == t { ok = 1 } END { exit !ok }' "$tmp/ports"; then
      warn "$k: no #pragma HLS INTERFACE m_axi port = ... lines in $file"
    fi
  fi
done

# --- 2. common.cfg: [hls] clock ------------------------------------------------------------------
echo "common.cfg:"
before=$errors
if [ ! -f common.cfg ]; then
  err "common.cfg is missing"
else
  cfg_values common.cfg hls clock | sed 's/^[^:]*://' | tr ',' '\n' > "$tmp/clocked"
  for k in $KERNELS; do
    grep -qx "$k" "$tmp/clocked" || err "common.cfg: [hls] clock= does not name $k"
  done
  while read -r k; do
    [ -n "$k" ] && ! is_required "$k" && err "common.cfg: [hls] clock= names $k, which is not a kernel top"
  done < "$tmp/clocked"
  [ "$errors" -eq "$before" ] && echo "  [hls] clock names all $(echo "$KERNELS" | wc -w | tr -d ' ') kernel tops"
fi

# --- 3. link_<platform>.cfg ----------------------------------------------------------------------
for p in $PLATFORMS; do
  [ -f "link_$p.cfg" ] || err "platform $p: link_$p.cfg is missing"
done

for cfg in link_*.cfg; do
  [ -f "$cfg" ] || continue
  p=${cfg#link_}; p=${p%.cfg}
  echo "$cfg:"
  before=$errors
  case " $PLATFORMS " in *" $p "*) ;; *) warn "$cfg: platform $p is not in the Makefile's PLATFORMS ($PLATFORMS)" ;; esac
  case $p in
    u55c) bank_re='^HBM\[[0-9]+(:[0-9]+)?\]$'; bank_max=31; slr_max=2 ;;
    u250) bank_re='^DDR\[[0-3]\]$'; bank_max=3; slr_max=3 ;;
    *) bank_re='^[A-Z]+\[[0-9]+(:[0-9]+)?\]$'; bank_max=999; slr_max=9 ;;
  esac

  # nk/sp/slr outside [connectivity] would be silently taken as another option by v++.
  awk '{ sub(/#.*/, ""); gsub(/[ \t\r]/, "") } /^\[.*\]$/ { cur = $0; next }
       cur != "[connectivity]" && /^(nk|sp|slr|stream_connect)=/ { printf "%d %s %s\n", NR, (cur == "" ? "(top)" : cur), $0 }' "$cfg" > "$tmp/misplaced"
  while read -r line sec what; do err "$cfg:$line: $what is in section $sec, not [connectivity]"; done < "$tmp/misplaced"
  cfg_values "$cfg" connectivity nk > "$tmp/nk"
  cfg_values "$cfg" connectivity sp > "$tmp/sp"
  cfg_values "$cfg" connectivity slr > "$tmp/slr"

  # nk=<kernel>:<count>[:<cu>.<cu>...] -> $tmp/cus: "kernel cu"
  : > "$tmp/cus"
  while IFS=: read -r k count names rest; do
    [ -n "$k" ] || continue
    is_required "$k" || err "$cfg: nk=$k:... names no kernel top the build compiles"
    case $count in ''|*[!0-9]*) err "$cfg: nk=$k: count '$count' is not a number"; continue ;; esac
    [ -z "$rest" ] || err "$cfg: nk=$k: too many fields"
    if [ -z "$names" ]; then
      i=1; while [ "$i" -le "$count" ]; do echo "$k ${k}_$i" >> "$tmp/cus"; i=$((i + 1)); done
    else
      n=$(echo "$names" | tr '.' '\n' | grep -c .)
      [ "$n" -eq "$count" ] || err "$cfg: nk=$k:$count:$names names $n CUs"
      echo "$names" | tr '.' '\n' | grep . | sed "s/^/$k /" >> "$tmp/cus"
    fi
  done < "$tmp/nk"
  for dup in $(awk '{ print $1 }' "$tmp/nk" | sed 's/:.*//' | sort | uniq -d); do err "$cfg: more than one nk= line for $dup"; done
  for dup in $(awk '{ print $2 }' "$tmp/cus" | sort | uniq -d); do err "$cfg: CU name $dup used twice"; done
  for k in $KERNELS; do
    awk -v k="$k" '$1 == k { ok = 1 } END { exit !ok }' "$tmp/cus" || err "$cfg: no nk=$k:... line"
  done

  # sp=<cu>.<port>:<bank> -> $tmp/spt: "cu port bank"
  sed -n 's/^\([^.:]*\)\.\([^:]*\):\(.*\)$/\1 \2 \3/p' "$tmp/sp" > "$tmp/spt"
  [ "$(wc -l < "$tmp/sp")" -eq "$(wc -l < "$tmp/spt")" ] || err "$cfg: sp= lines not of the form <cu>.<port>:<bank>: $(grep -v '^[^.:]*\.[^:]*:.' "$tmp/sp" | tr '\n' ' ')"
  for dup in $(awk '{ print $1 "." $2 }' "$tmp/spt" | sort | uniq -d); do err "$cfg: more than one sp= line for $dup"; done
  while read -r cu port bank; do
    awk -v c="$cu" '$2 == c { ok = 1 } END { exit !ok }' "$tmp/cus" || err "$cfg: sp=$cu.$port: no nk= line declares CU $cu"
    if ! echo "$bank" | grep -Eq "$bank_re"; then
      err "$cfg: sp=$cu.$port:$bank: not a memory bank of $p"
    else
      lo=$(echo "$bank" | sed 's/^[^[]*\[//; s/[^0-9].*//'); hi=$(echo "$bank" | sed 's/\]$//; s/.*[^0-9]//')
      { [ "$lo" -le "$hi" ] && [ "$hi" -le "$bank_max" ]; } || err "$cfg: sp=$cu.$port:$bank: bank out of range for $p (0..$bank_max)"
    fi
  done < "$tmp/spt"

  # slr=<cu>:SLRn
  sed -n 's/^\([^:]*\):\(.*\)$/\1 \2/p' "$tmp/slr" > "$tmp/slrt"
  while read -r cu slr; do
    awk -v c="$cu" '$2 == c { ok = 1 } END { exit !ok }' "$tmp/cus" || err "$cfg: slr=$cu: no nk= line declares CU $cu"
    n=${slr#SLR}
    case $n in ''|*[!0-9]*) err "$cfg: slr=$cu:$slr: not SLR<n>" ;; *) [ "$n" -le "$slr_max" ] || err "$cfg: slr=$cu:$slr: $p has SLR0..SLR$slr_max" ;; esac
  done < "$tmp/slrt"
  if [ -s "$tmp/slrt" ]; then
    while read -r k cu; do
      awk -v c="$cu" '$1 == c { ok = 1 } END { exit !ok }' "$tmp/slrt" || err "$cfg: CU $cu has no slr= line (the file places the others)"
    done < "$tmp/cus"
  fi

  # Ports against the sources, for every CU of every kernel whose source exists.
  checked=0
  while read -r k cu; do
    grep -qx "$k" "$tmp/have" || continue
    awk -v t="$k" '$1 == t { print $2, $3 }' "$tmp/ports" > "$tmp/kports"
    while read -r port bundle; do
      checked=$((checked + 1))
      awk -v c="$cu" -v q="$port" '$1 == c && $2 == q { ok = 1 } END { exit !ok }' "$tmp/spt" || err "$cfg: no sp=$cu.$port:<bank> line ($k port $port, $bundle)"
    done < "$tmp/kports"
    awk -v c="$cu" '$1 == c { print $2 }' "$tmp/spt" | while read -r port; do
      awk -v q="$port" '$1 == q { ok = 1 } END { exit !ok }' "$tmp/kports" || echo "$port"
    done > "$tmp/stale"
    while read -r port; do err "$cfg: sp=$cu.$port: $k has no m_axi port $port"; done < "$tmp/stale"
    # One bundle = one AXI master = one memory target.
    awk -v c="$cu" 'NR == FNR { if ($1 == c) bank[$2] = $3; next }
                    ($1 in bank) { if (($2 in want) && want[$2] != bank[$1]) printf "%s %s %s %s %s\n", $2, port0[$2], want[$2], $1, bank[$1]; else if (!($2 in want)) { want[$2] = bank[$1]; port0[$2] = $1 } }' \
      "$tmp/spt" "$tmp/kports" > "$tmp/mixed"
    while read -r bundle p1 b1 p2 b2; do
      err "$cfg: $cu: ports $p1 ($b1) and $p2 ($b2) share bundle $bundle but map to different memory"
    done < "$tmp/mixed"
  done < "$tmp/cus"

  if [ "$errors" -eq "$before" ]; then
    echo "  $(wc -l < "$tmp/cus" | tr -d ' ') CUs ($(awk '{ printf "%s ", $2 }' "$tmp/cus" | sed 's/ $//')), $(wc -l < "$tmp/spt" | tr -d ' ') sp= lines, $checked source ports matched"
  fi
done

echo
if [ "$errors" -gt 0 ]; then
  echo "check: FAILED ($errors errors, $warnings warnings)"
  exit 1
fi
echo "check: OK ($warnings warnings)"
