#!/usr/bin/env python3
"""Snakemake's --cluster-status for Slurm without accounting: a job's state from scontrol.

Prints running, success or failed for the job id given. scontrol keeps a finished job for
MinJobAge (300 s by default); a job it no longer knows is reported failed, and Snakemake then
checks the job's outputs and runs it again when they are missing."""
import subprocess
import sys

RUNNING = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING", "STAGE_OUT",
           "SIGNALING", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "STOPPED"}


def main():
    job = sys.argv[1]
    try:
        out = subprocess.run(["scontrol", "-o", "show", "job", job], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        print("running")  # the controller is busy or restarting: ask again later
        return
    state = ""
    for field in out.stdout.split():
        if field.startswith("JobState="):
            state = field.split("=", 1)[1]
    if not state:
        print("failed" if "Invalid job id" in out.stderr else "running")
    elif state == "COMPLETED":
        print("success")
    elif state in RUNNING:
        print("running")
    else:  # FAILED, CANCELLED, TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, PREEMPTED, BOOT_FAIL, DEADLINE
        print("failed")


if __name__ == "__main__":
    main()
