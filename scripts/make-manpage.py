#!/usr/bin/env python3
"""Writes cramjet(1) from the command line's own help (so the page never drifts from it):
`cramjet help` for the command list, `cramjet COMMAND --help` for each command's options.
Usage: make-manpage.py CRAMJET_BINARY VERSION OUT.1   (run by the build; installed to man1)"""
import re
import subprocess
import sys

binary, version, out = sys.argv[1:4]


def run(*args):
    return subprocess.run([binary, *args], check=True, capture_output=True, text=True).stdout


def roff(text):
    """Plain text for roff: backslashes escaped, no line starting with a control character."""
    lines = []
    for line in text.replace("\\", "\\e").splitlines():
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


listing = run("help")
commands = re.findall(r"^  (\S+)\s{2,}(.*)$", listing, re.M)
if not commands:
    sys.exit("make-manpage.py: no commands in `cramjet help`")
page = [
    '.TH CRAMJET 1 "" "cramjet %s" "User Commands"' % version,
    ".SH NAME",
    "cramjet \\- reference-based CRAM compression, verification, QC and shipping for sequencing labs",
    ".SH SYNOPSIS",
    ".B cramjet",
    ".I command",
    "[\\fIoptions\\fR]",
    ".SH DESCRIPTION",
    "cramjet compresses FASTQ or SAM/BAM/CRAM to a verified CRAM with its proof (.seqchksum, .md5), "
    "decompresses it exactly, computes QC, ships a set to the archive, and talks to cramjetd, the "
    "appliance daemon. Exit status: 0 success, 1 error, 2 usage, 3 verification found a difference, "
    "4 the daemon or archive is unreachable, 5 a QC verdict of fail.",
    ".SH COMMANDS",
]
for name, summary in commands:
    page += [".SS %s" % name, roff(summary), ".PP", ".nf", roff(run(name, "--help")), ".fi"]
page += [
    ".SH FILES",
    ".TP",
    "/etc/cramjet/cramjetd.toml",
    "cramjetd's configuration (the daemon commands read its journal through it while it is down).",
    ".SH SEE ALSO",
    "samtools(1), cramjetd's documentation in /usr/share/doc/cramjet/",
]
with open(out, "w") as f:
    f.write("\n".join(page) + "\n")
