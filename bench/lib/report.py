#!/usr/bin/env python3
"""Turns a run's raw samples into results.json, report.md, summary.md and (if gnuplot exists)
ratios.png.

    report.py RUNDIR                          writes the files above
    report.py RUNDIR --profile-workload       prints "WORKLOAD<TAB>metric": the bench/profile.sh
                                              workload behind bento-fs's biggest gap to ext4
    report.py RUNDIR --update-readme README   also replaces README's block between
                                              <!-- bench-summary:begin --> and <!-- bench-summary:end -->
                                              with summary.md

RUNDIR/samples.tsv: one line per sample, tab-separated:
    system  workload  metric  unit  better(lower|higher)  rep  value
RUNDIR/meta.json: host/run facts written by run.sh (free-form, printed in the header).
Optional, each measured in the same run by run.sh:
RUNDIR/collector.json: provd's own figures for the bento-prov system (events, database size).
RUNDIR/ingest.json: bench_ingest (collector ingest rate, bytes/event, prov why latency).
RUNDIR/lineage.json: bench_lineage (prov why/impact latency on a busy host's database).
RUNDIR/profile/profile.json: bench/profile.sh's profile of bento-fs's biggest gap (its cause).
RUNDIR/upgrade.json: the live-upgrade experiment (bench_timeline + bench_upgrade; raw output in
RUNDIR/upgrade/, the timeline plot in RUNDIR/upgrade-timeline.png).

The ratio is mean(system) / mean(ext4-ordered) from the same run. "slowdown" folds the
direction in (>1 means worse than ext4-ordered whatever the unit): ratio for times,
1/ratio for throughputs and IOPS.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys

BASE = "ext4-ordered"
FOCUS = "bento-fs"
# FUSE's floor: the same host with an in-memory fs (no block I/O), with the kernel's
# writeback cache and without it (like Bento-fs)
FLOORS = ["memfs", "memfs-wt"]


def floor_in_summary(e):
    """The README summary names the floor next to the untar and small-create metrics."""
    return ((e["workload"], e["metric"]) == ("untar", "untar") or
            (e["workload"] == "smallfiles" and e["metric"].startswith("create 1")))


def load(rundir):
    samples = []
    with open(os.path.join(rundir, "samples.tsv")) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            system, workload, metric, unit, better, rep, value = line.split("\t")
            samples.append(dict(system=system, workload=workload, metric=metric, unit=unit,
                                better=better, rep=int(rep), value=float(value)))
    with open(os.path.join(rundir, "meta.json")) as f:
        meta = json.load(f)
    return samples, meta


def ordered_unique(xs):
    seen = []
    for x in xs:
        if x not in seen:
            seen.append(x)
    return seen


def fmt(v):
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    if abs(v) >= 0.1:
        return f"{v:.2f}"
    return f"{v:.3f}"


MARK_BEGIN = "<!-- bench-summary:begin -->"
MARK_END = "<!-- bench-summary:end -->"


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def pct(x):
    return f"{x * 100:.0f}%"


def grouped(n):
    return f"{n:,.0f}"


def profile_workload(e):
    """The bench/profile.sh workload that reproduces metric entry e on its own, or None."""
    wl, m = e["workload"], e["metric"]
    if wl == "untar":
        return "rmrf" if m.startswith("rm") else "untar"
    if wl == "tar":
        return "tarcold"
    if wl == "grep":
        return "grepwarm" if "warm" in m else "grepcold"
    if wl == "smallfiles":
        return "smalldelete" if m.startswith("delete") else "smallfiles"
    if wl == "mix":
        p = m.split()[0]
        return f"mix-{p}" if p in ("varmail", "fileserver", "webserver", "createdel") else None
    if wl == "seqio" and "threads" not in m:
        f = m.split()  # seq write 1M | seq read 1M cold | rand read 4K cold | seq read 32K cached | rand write 32K
        rw = {"seq write": "write", "seq read": "read", "rand read": "randread",
              "rand write": "randwrite"}.get(" ".join(f[:2]))
        if rw is None or len(f) < 3:
            return None
        if rw == "read" and "cached" in m:
            rw = "readwarm"
        return f"fio-{rw}-{f[2].lower()}"
    return None


def cause_text(p, nproc_default=2, short=False):
    """One paragraph naming where the time goes, from bench/profile.sh's profile.json
    (short: without the CPU split and the symbols, for the README)."""
    split = p.get("workload_cpu_split", {})
    busy = p.get("cpus_busy", 0.0)
    nproc = p.get("nproc", nproc_default)
    module = split.get("module", 0.0)
    kern = split.get("app_kernel", 0.0) + split.get("host_kernel", 0.0)
    parts = []
    files = p.get("files") or 0
    if p.get("ops_per_file"):
        parts.append(f"{p['ops_per_file']:.1f} FUSE requests per file reach the file system")
    else:
        parts.append(f"{grouped(p.get('fuse_ops', 0))} FUSE requests reach the file system")
    req = p.get("requests_by_opcode") or {}
    if req:
        top = sorted(req.items(), key=lambda kv: -kv[1])[:6]
        per = (lambda n: f"{n / files:.1f}") if files else grouped
        parts[-1] += (" (by opcode" + (", per file" if files else "") + ": " +
                      ", ".join(f"{k} {per(n)}" for k, n in top) + ")")
        gx = req.get("GETXATTR", 0)
        writes = req.get("WRITE", 0)
        if files and writes and gx / files >= 0.5:
            parts[-1] += (f"; the {per(gx)} GETXATTR per file are the kernel asking for "
                          "security.capability before writes (FUSE never marks an inode S_NOSEC)")
    if short:
        parts.append(f"the workload's processes kept {busy:.2f} of {nproc} CPUs busy")
    else:
        parts.append(f"the workload's processes ({', '.join(p.get('app_comms', []))} and the bentofs "
                     f"host) kept {busy:.2f} of {nproc} CPUs busy over {p.get('seconds', 0):.1f} s "
                     f"(load {p.get('load', '?')}, other processes {pct(p.get('others_share', 0))} "
                     "of all samples)")
    contention = ""
    if p.get("others_share", 0) >= 0.25:
        contention = (f" (under contention: other processes had {pct(p['others_share'])} of the "
                      "sampled CPU time, so part of the waiting is for a CPU)")
        if short:
            contention = " (part of it for a CPU: the host was loaded)"
    if module < 0.15 and busy < 0.9:
        verdict = ("**latency-bound**: most of the wall time is spent waiting for request/reply round "
                   "trips between the application, the kernel's FUSE client and the bentofs host, not "
                   f"computing{contention}; Bento-fs's own code is only {pct(module)} of the workload's CPU")
    elif kern >= 0.5:
        verdict = ("**CPU-bound in the kernel** (FUSE client, /dev/fuse transfers, page cache): "
                   f"{pct(kern)} of the workload's CPU; Bento-fs's own code {pct(module)}")
    elif module >= 0.3:
        verdict = f"**CPU-bound in Bento-fs's own code**: {pct(module)} of the workload's CPU"
    else:
        verdict = (f"CPU spread over kernel ({pct(kern)}), Bento-fs ({pct(module)}) and the host's "
                   "other user code")
    cpu = (f"Its CPU: application user {pct(split.get('app_user', 0))}, application kernel "
           f"{pct(split.get('app_kernel', 0))}, host kernel {pct(split.get('host_kernel', 0))}, "
           f"Bento-fs module {pct(module)}, libfuse {pct(split.get('libfuse', 0))}, other host user "
           f"code {pct(split.get('host_user_other', 0))}")
    if short:
        return "; ".join(parts) + f" — {verdict}."
    syms = p.get("top_symbols", [])[:4]
    top = ""
    if syms:
        top = "; top symbols: " + ", ".join(
            f"`{x['symbol'][:48]}` ({x['comm']}, {pct(x['share_of_workload_cpu'])})" for x in syms)
    return "; ".join(parts) + f" — {verdict}. {cpu}{top}."


def cause_lines(results):
    """The report's paragraph on the cause of bento-fs's biggest gap (from the profile)."""
    prof = results.get("profile")
    if not prof:
        return ["**Cause**: not profiled in this run (`bench/run.sh --profile` or `--update-readme` "
                "profiles the biggest gap with `bench/profile.sh`).\n"]
    g = prof.get("gap")
    which = f"{g['workload']} / {g['metric']}, {g['slowdown']:.1f}x" if g else "?"
    big = results.get("biggest_gap", {})
    if g and (g["workload"], g["metric"]) != (big.get("workload"), big.get("metric")):
        which += (f"; the biggest gap, {big.get('workload')} / {big.get('metric')}, has no "
                  "stand-alone profile workload")
    return [f"**Cause** (perf profile of `{prof['workload']}` on bento-fs in this run — {which}; "
            f"[profile/profile.md](profile/profile.md)): {prof['cause']}\n"]


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    rundir = args[0]
    want_profile_wl = "--profile-workload" in args
    readme = None
    if "--update-readme" in args:
        i = args.index("--update-readme")
        if i + 1 >= len(args):
            print("report.py: --update-readme needs the README path", file=sys.stderr)
            sys.exit(2)
        readme = args[i + 1]
    samples, meta = load(rundir)
    systems = [s for s in meta.get("systems", []) if any(x["system"] == s for x in samples)]
    systems += [s for s in ordered_unique(x["system"] for x in samples) if s not in systems]
    metrics = ordered_unique((x["workload"], x["metric"]) for x in samples)

    results = {"meta": meta, "metrics": []}
    for wl, m in metrics:
        rows = [x for x in samples if x["workload"] == wl and x["metric"] == m]
        unit, better = rows[0]["unit"], rows[0]["better"]
        entry = {"workload": wl, "metric": m, "unit": unit, "better": better, "systems": {}}
        for s in systems:
            vals = [x["value"] for x in sorted(rows, key=lambda r: r["rep"]) if x["system"] == s]
            if not vals:
                continue
            entry["systems"][s] = {
                "samples": vals,
                "n": len(vals),
                "mean": statistics.fmean(vals),
                "stddev": statistics.stdev(vals) if len(vals) > 1 else 0.0,
                "min": min(vals),
                "max": max(vals),
            }
        base = entry["systems"].get(BASE)
        for s, st in entry["systems"].items():
            if base and base["mean"] > 0 and st["mean"] > 0:
                st["ratio_vs_ext4_ordered"] = st["mean"] / base["mean"]
                st["slowdown_vs_ext4_ordered"] = (st["ratio_vs_ext4_ordered"] if better == "lower"
                                                  else 1.0 / st["ratio_vs_ext4_ordered"])
        results["metrics"].append(entry)

    others = [s for s in systems if s != BASE]
    gaps = {s: [] for s in others}
    for e in results["metrics"]:
        for s in others:
            st = e["systems"].get(s)
            if st and st.get("slowdown_vs_ext4_ordered") is not None:
                gaps[s].append((st["slowdown_vs_ext4_ordered"], e))
    ranked = sorted(gaps.get(FOCUS, []), key=lambda t: -t[0])
    if want_profile_wl:
        # the biggest gap that profile.sh can reproduce on its own
        for sd, e in ranked:
            w = profile_workload(e)
            if w:
                print(f"{w}\t{e['workload']} / {e['metric']} ({sd:.1f}x)")
                return
        return
    if ranked:
        sd, e = ranked[0]
        results["biggest_gap"] = {"system": FOCUS, "workload": e["workload"], "metric": e["metric"],
                                  "slowdown": sd, "unit": e["unit"],
                                  "mean": e["systems"][FOCUS]["mean"],
                                  "ext4_ordered_mean": e["systems"][BASE]["mean"],
                                  "profile_workload": profile_workload(e)}
    profile = load_json(os.path.join(rundir, "profile", "profile.json"))
    if profile:
        results["profile"] = profile
        results["profile"]["cause"] = cause_text(profile, meta.get("nproc", 2))
        # which gap the profile stands for (the biggest one profile.sh can reproduce)
        for sd, e in ranked:
            if profile_workload(e) == profile.get("workload"):
                results["profile"]["gap"] = {"workload": e["workload"], "metric": e["metric"],
                                             "slowdown": sd}
                break

    # Tracking overhead: bento-prov vs bento-fs, same run.
    overhead = []
    if "bento-prov" in systems and FOCUS in systems:
        for e in results["metrics"]:
            a, b = e["systems"].get("bento-prov"), e["systems"].get(FOCUS)
            if a and b and a["mean"] > 0 and b["mean"] > 0:
                slow = a["mean"] / b["mean"] if e["better"] == "lower" else b["mean"] / a["mean"]
                e["tracking_overhead"] = slow - 1.0
                overhead.append((e, slow))
    if overhead:
        results["tracking_overhead_mean"] = statistics.fmean(sl for _, sl in overhead) - 1.0
    collector = load_json(os.path.join(rundir, "collector.json"))
    ingest = load_json(os.path.join(rundir, "ingest.json"))
    results["lineage"] = load_json(os.path.join(rundir, "lineage.json"))
    if collector or ingest:
        results["provenance"] = {}
        if collector:
            results["provenance"]["collector_run"] = collector
        if ingest:
            results["provenance"]["ingest"] = ingest

    upgrade = load_json(os.path.join(rundir, "upgrade.json"))
    if upgrade:
        results["live_upgrade"] = upgrade

    with open(os.path.join(rundir, "results.json"), "w") as f:
        json.dump(results, f, indent=1)

    # ---- report.md ----
    out = []
    out.append(f"# Bento benchmark report ({meta.get('mode', '?')} mode)\n")
    out.append("| fact | value |\n|---|---|")
    for k in ("date", "kernel", "nproc", "loadavg_start", "loadavg_end", "cpu", "mem",
              "git", "build", "reps", "tree", "io_file", "smallfiles", "bigdir", "cold", "duration_s"):
        if k in meta:
            out.append(f"| {k} | {str(meta[k]).replace('|', '/')} |")
    out.append("")
    if meta.get("notes"):
        for n in meta["notes"]:
            out.append(f"- {n}")
        out.append("")
    out.append("**CPU contention**: other engineers compile on this 2-core host while this runs; "
               "load averages above are the only record of it. Compare ratios within one run, "
               "not absolute numbers across runs.\n")

    # summary: slowdown matrix + biggest gap
    if results["metrics"]:
        out.append("## Summary: slowdown vs ext4-ordered (>1 = worse; same run)\n")
        out.append("| workload / metric | " + " | ".join(others) + " |")
        out.append("|---|" + "---:|" * len(others))
    for e in results["metrics"]:
        cells = []
        for s in others:
            st = e["systems"].get(s)
            sd = st.get("slowdown_vs_ext4_ordered") if st else None
            cells.append(f"{sd:.2f}x" if sd is not None else "–")
        out.append(f"| {e['workload']} / {e['metric']} | " + " | ".join(cells) + " |")
    out.append("")
    for s in (FOCUS, "bindfs"):
        if gaps.get(s):
            sd, e = max(gaps[s], key=lambda t: t[0])
            st = e["systems"][s]
            b = e["systems"][BASE]
            out.append(f"**Biggest gap to ext4-ordered for {s}**: {e['workload']} / {e['metric']} — "
                       f"{fmt(st['mean'])} {e['unit']} vs {fmt(b['mean'])} {e['unit']} "
                       f"(**{sd:.1f}x** worse).")
            top3 = sorted(gaps[s], key=lambda t: -t[0])[:3]
            out.append(f"  Top 3 for {s}: " + "; ".join(
                f"{x['workload']}/{x['metric']} {v:.1f}x" for v, x in top3) + ".\n")
            if s == FOCUS:
                out.extend(cause_lines(results))
    if gaps.get(FOCUS) and gaps.get("bindfs"):
        vs = []
        for e in results["metrics"]:
            a, b = e["systems"].get(FOCUS), e["systems"].get("bindfs")
            if a and b and "slowdown_vs_ext4_ordered" in a and "slowdown_vs_ext4_ordered" in b:
                vs.append((a["slowdown_vs_ext4_ordered"] / b["slowdown_vs_ext4_ordered"], e))
        if vs:
            worst = max(vs, key=lambda t: t[0])
            best = min(vs, key=lambda t: t[0])
            out.append(f"Against plain FUSE (bindfs): {FOCUS} is worst on {worst[1]['workload']}/"
                       f"{worst[1]['metric']} ({worst[0]:.2f}x bindfs's slowdown) and best on "
                       f"{best[1]['workload']}/{best[1]['metric']} ({best[0]:.2f}x).\n")
    if results["metrics"] and (os.path.exists(os.path.join(rundir, "ratios.png")) or shutil.which("gnuplot")):
        out.append("![slowdown vs ext4-ordered](ratios.png)\n")

    out.extend(floor_lines(results))
    out.extend(transport_lines(results))

    # Tracking overhead: Bento-prov (provenance log on, under the collector) vs Bento-fs.
    if overhead:
        c = collector or {}
        how = ("under the collector `provd`" + (" with the eBPF probes" if c.get("probes") else
                                                " **--no-probes**") if collector else "")
        out.append(f"## Tracking overhead: bento-prov vs bento-fs (same run; + = slower)\n")
        if how:
            out.append(f"bento-prov ran {how}; see *Provenance* below for the collector's own figures.\n")
        out.append("| workload / metric | bento-fs | bento-prov | overhead |")
        out.append("|---|---:|---:|---:|")
        for e, slow in overhead:
            out.append(f"| {e['workload']} / {e['metric']} | {fmt(e['systems'][FOCUS]['mean'])} "
                       f"{e['unit']} | {fmt(e['systems']['bento-prov']['mean'])} {e['unit']} | "
                       f"{(slow - 1) * 100:+.1f}% |")
        out.append(f"\nMean overhead over {len(overhead)} metrics: "
                   f"**{results['tracking_overhead_mean'] * 100:+.1f}%** "
                   "(the paper's Bento-prov: +13..68% on untar/grep/varmail).\n")

    if collector or ingest:
        out.append("## Provenance: the collector and `prov why` (same run)\n")
    if collector:
        c = collector
        if c.get("probes"):
            src = "with the eBPF probes (they report every process on the host)"
        else:
            src = "**with --no-probes** (file-system records only)"
            if c.get("probes_fallback_reason"):
                src += f": the probes could not be loaded — {c['probes_fallback_reason']}"
        out.append(f"**During the bento-prov run**: `provd --db <scratch>/prov.db --mount <mnt>` "
                   f"{src}, started at every mount ({c['starts']}x) and stopped with SIGTERM "
                   "before every unmount (it drains the log, commits and exits; the next one "
                   "resumes at the committed cursor).\n")
        written = c.get("fs_records_written")
        out.append("| figure | value |\n|---|---:|")
        out.append(f"| events ingested | {grouped(c['events'])} |")
        out.append(f"| — fs records (provd's committed counter) | {grouped(c['fs_records'])} |")
        if written is not None:
            out.append(f"| — fs records the file system wrote (log next_seq − 1) | {grouped(written)} |")
        pk = c.get("probe_events_by_kind", {})
        rows_txt = (f"exec {grouped(pk.get('exec', 0))}, fork {grouped(pk.get('fork', 0))}, "
                    f"thread {grouped(pk.get('thread', 0))}, exit {grouped(pk.get('exit', 0))}")
        if c.get("probe_events_source") == "provd_status":
            out.append(f"| — probe events (provd's own counter; by the rows they made: {rows_txt}) | "
                       f"{grouped(c['probe_events'])} |")
        else:
            out.append(f"| — probe events (≈, from the rows they made: {rows_txt}) | "
                       f"{grouped(c['probe_events'])} |")
        out.append(f"| database size (after a WAL checkpoint) | {c['db_bytes'] / 1048576:.1f} MiB |")
        out.append(f"| **bytes per event** | **{c['bytes_per_event']:.0f}** |")
        out.append(f"| bytes per fs record (probe rows included) | {c['bytes_per_fs_record']:.0f} |")
        big_tables = sorted((c.get("rows") or {}).items(), key=lambda kv: -kv[1])[:4]
        if big_tables:
            out.append("| largest tables (rows) | " + ", ".join(f"{k} {grouped(v)}" for k, v in big_tables) + " |")
        out.append(f"| collector CPU (user+sys, all instances) | {c['cpu_s']:.1f} s "
                   f"({c['cpu_us_per_event']:.0f} µs/event) |")
        out.append(f"| drain at stop (SIGTERM → exit): longest / total over {c['stops']} stops | "
                   f"{c['drain_s_max']:.2f} s / {c['drain_s_total']:.1f} s |")
        if c.get("waits"):
            cap = c.get("log_capacity") or 0
            out.append(f"| backlog before a timed step: largest (of the {cap / 1048576:.0f} MiB log) | "
                       f"{c['backlog_max_bytes'] / 1048576:.1f} MiB (before {c.get('backlog_max_at')}) |")
            out.append(f"| waited for the collector to catch up (untimed): total / longest over "
                       f"{c['waits']} steps | {c['catch_up_s_total']:.1f} s / {c['catch_up_s_max']:.1f} s |")
        out.append(f"| records not written because the log was full (a gap) | {c.get('log_refused')} |")
        out.append(f"| malformed records / lost probe events | {c.get('malformed', 0)} / {c.get('probe_lost', 0)} |")
        out.append(f"| provd exits ≠ 0 / warnings in provd.log | {c.get('bad_exits', 0)} / {c.get('log_messages', 0)} |")
        out.append("")
        if c.get("backlog_max_bytes", 0) > 1048576:
            out.append(f"The collector fell behind the file system: up to "
                       f"{c['backlog_max_bytes'] / 1048576:.1f} MiB of log were still unread when a "
                       "step ended. Before each timed step run.sh waits (untimed) until it has caught "
                       "up; without that, sustained logging faster than provd ingests fills the log "
                       "and Bento-prov stops recording (operations go on; one gap record marks the "
                       "hole once there is room).\n")
        if written is not None and written != c["fs_records"]:
            out.append(f"**Mismatch**: the file system wrote {grouped(written)} records, the collector "
                       f"committed {grouped(c['fs_records'])}.\n")
        for m in c.get("log_sample", []):
            out.append(f"- provd.log: `{m[:200]}`")
        if c.get("log_sample"):
            out.append("")
    if ingest:
        i = ingest
        out.append(f"**Collector ingest and queries** (`bench_ingest {i.get('args', '')}`: synthetic "
                   "jobs — fork, exec, read an input, write an output through create/write/release/"
                   "rename, exit — through the real collector code into a SQLite file on /dev/shm, "
                   "10,000 events per transaction like provd; then `prov why` of 200 random outputs; "
                   f"load {i.get('load_start', '?')} at its start):\n")
        out.append("| figure | value |\n|---|---:|")
        out.append(f"| events | {grouped(i['events'])} in {i['seconds']:.2f} s |")
        out.append(f"| **ingest rate** | **{grouped(i['events_per_s'])} events/s** (target 100,000) |")
        out.append(f"| database | {i['db_bytes'] / 1048576:.1f} MiB = **{i['bytes_per_event']:.0f} bytes/event** |")
        out.append(f"| **`prov why` latency** on that graph | **p50 {i['why_p50_ms']:.2f} ms, "
                   f"p99 {i['why_p99_ms']:.2f} ms** |")
        out.append("")
    if results.get("lineage"):
        out.append(lineage_line(results["lineage"]) + "\n")

    if upgrade:
        out.extend(upgrade_lines(upgrade))

    if results["metrics"]:
        out.append("## Per workload\n")
    last_wl = None
    for e in results["metrics"]:
        if e["workload"] != last_wl:
            out.append(f"### {e['workload']}\n")
            desc = meta.get("workloads", {}).get(e["workload"])
            if desc:
                out.append(desc + "\n")
            last_wl = e["workload"]
        arrow = "lower is better" if e["better"] == "lower" else "higher is better"
        out.append(f"**{e['metric']}** ({e['unit']}, {arrow})\n")
        out.append("| system | mean | stddev | n | ratio vs ext4-ordered | slowdown |")
        out.append("|---|---:|---:|---:|---:|---:|")
        for s in systems:
            st = e["systems"].get(s)
            if not st:
                continue
            r = st.get("ratio_vs_ext4_ordered")
            sd = st.get("slowdown_vs_ext4_ordered")
            out.append(f"| {s} | {fmt(st['mean'])} | {fmt(st['stddev'])} | {st['n']} | "
                       f"{r:.2f} |" if r is not None else f"| {s} | {fmt(st['mean'])} | "
                       f"{fmt(st['stddev'])} | {st['n']} | – |")
            if sd is not None:
                out[-1] += f" {sd:.2f}x |"
            else:
                out[-1] += " – |"
        out.append("")
    out.append("Raw samples: `results.json` (and `samples.tsv`); per-step log: `run.log`.\n")

    # ---- plot ----
    if shutil.which("gnuplot") and others:
        dat = os.path.join(rundir, "ratios.dat")
        with open(dat, "w") as f:
            f.write("metric " + " ".join(others) + "\n")
            for e in results["metrics"]:
                vals = []
                for s in others:
                    st = e["systems"].get(s)
                    vals.append(f"{st['slowdown_vs_ext4_ordered']:.4f}"
                                if st and "slowdown_vs_ext4_ordered" in st else "NaN")
                label = f"{e['workload']}/{e['metric']}".replace(" ", "_")
                f.write(f"\"{label}\" " + " ".join(vals) + "\n")
        gp = f"""
set terminal pngcairo noenhanced size 1400,700 font ',9'
set output '{os.path.join(rundir, 'ratios.png')}'
set title 'Slowdown vs ext4-ordered (same run; >1 = worse; log scale)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set yrange [0.1:*]
set grid ytics
set xtics rotate by -40 scale 0
set bmargin 11
set rmargin 12
set key top left
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2
plot for [i=2:{len(others) + 1}] '{dat}' using i:xtic(1) title columnheader(i)
"""
        r = subprocess.run(["gnuplot"], input=gp, text=True, capture_output=True)
        if r.returncode != 0:
            out.append(f"(plot failed: {r.stderr.strip()[:200]})\n")

    with open(os.path.join(rundir, "report.md"), "w") as f:
        f.write("\n".join(out))

    summary = summary_block(rundir, meta, results, overhead, collector, ingest, upgrade)
    with open(os.path.join(rundir, "summary.md"), "w") as f:
        f.write(summary)
    if readme:
        update_readme(readme, summary)
    print(os.path.join(rundir, "report.md"))


# The metrics the README names (workload, metric prefix, label), in this order, when present.
KEY_METRICS = [
    ("untar", "untar", "untar of a {files}-file tree"),
    ("untar", "untar + unmount", "untar + unmount (all written back)"),
    ("untar", "rm -rf", "`rm -rf` of it"),
    ("tar", "tar to /dev/null", "cold `tar`"),
    ("grep", "grep -r cold", "cold `grep -r`"),
    ("grep", "grep -r warm", "warm `grep -r`"),
    ("smallfiles", "create 1", "{small} small-file creates"),
    ("smallfiles", "create + unmount", "creates + unmount"),
    ("smallfiles", "delete", "deleting them (cold)"),
    ("seqio", "seq write 1M", "sequential 1 MiB writes"),
    ("seqio", "seq read 1M cold", "cold sequential 1 MiB reads"),
    ("seqio", "rand read 4K cold", "cold random 4 KiB reads"),
    ("seqio", "seq write 128K x4", "4-thread 128 KiB writes"),
    ("mix", "varmail", "varmail"),
    ("mix", "fileserver", "fileserver"),
    ("mix", "webserver", "webserver"),
    ("mix", "createdel", "createdel"),
    ("gitclone", "git clone", "`git clone`"),
    ("gitclone", "git status", "cold `git status`"),
    ("sqlite", "", "sqlite {metric}"),
    ("bigdir", "create", "{metric} empty files in one directory"),
    ("bigdir", "stat", "cold `stat` of random names in it"),
    ("bigdir", "stat", "`stat` of missing names"),
    ("bigdir", "list", "listing it (cold)"),
    ("bigdir", "delete", "deleting them"),
]


def floor_lines(results):
    """How much of bento-fs's slowdown FUSE alone costs: memfs under the same host does no
    block I/O, so its slowdown is the floor a FUSE build cannot go under (same run).
    memfs-wt (no writeback cache, every write reaches the fs) is the like-for-like one."""
    floors = [f for f in FLOORS if any(f in e["systems"] for e in results["metrics"])]
    rows = []
    for e in results["metrics"]:
        sa = e["systems"].get(FOCUS, {}).get("slowdown_vs_ext4_ordered")
        sf = [e["systems"].get(f, {}).get("slowdown_vs_ext4_ordered") for f in floors]
        if sa is not None and any(x is not None for x in sf):
            rows.append((e, sa, sf))
    if not rows:
        return []
    like = floors[-1]  # memfs-wt when it ran
    out = [f"## FUSE's floor: {FOCUS} vs {' and '.join(floors)} (same run; slowdown vs {BASE})\n",
           "memfs is kernel/examples/memfs under the same `bentofs` host: names and data in "
           "memory, no block device; memfs-wt is the same with `-o writethrough` (no writeback "
           f"cache: every write reaches the fs, as with {FOCUS}). Their slowdown is what the FUSE "
           f"round trips alone cost; {FOCUS} / {like} is {FOCUS}'s own share.\n",
           f"| workload / metric | {FOCUS} | " + " | ".join(f"{f} (floor)" for f in floors) +
           f" | {FOCUS} / {like} |",
           "|---|---:|" + "---:|" * len(floors) + "---:|"]
    for e, sa, sf in rows:
        cells = [f"{x:.2f}x" if x is not None else "–" for x in sf]
        q = f"{sa / sf[-1]:.2f}x" if sf[-1] else "–"
        out.append(f"| {e['workload']} / {e['metric']} | {sa:.2f}x | " + " | ".join(cells) + f" | {q} |")
    out.append("")
    return out


def transport_lines(results):
    """The transport axis: each -uring system (bentofs -o uring, FUSE over io_uring) against
    its /dev/fuse twin, the system without the suffix, in the same run."""
    pairs = ordered_unique((s[:-len("-uring")], s) for e in results["metrics"] for s in e["systems"]
                           if s.endswith("-uring") and s[:-len("-uring")] in e["systems"])
    if not pairs:
        return []
    out = ["## Transport: FUSE over io_uring vs /dev/fuse (same run; >1 = io_uring faster)\n",
           "Each `-uring` system is its twin with `bentofs -o uring`; the ratio is twin / uring "
           "for times (uring / twin for rates). Systems ran one after another: compare with the "
           "load averages above.\n",
           "| workload / metric | " + " | ".join(f"{b} vs {a}" for a, b in pairs) + " |",
           "|---|" + "---:|" * len(pairs)]
    for e in results["metrics"]:
        cells, any_cell = [], False
        for a, b in pairs:
            x, y = e["systems"].get(a, {}).get("mean"), e["systems"].get(b, {}).get("mean")
            if x and y:
                cells.append(f"{(x / y if e['better'] == 'lower' else y / x):.2f}x")
                any_cell = True
            else:
                cells.append("–")
        if any_cell:
            out.append(f"| {e['workload']} / {e['metric']} | " + " | ".join(cells) + " |")
    out.append("")
    return out


def key_entries(results):
    used, res = set(), []
    for wl, prefix, label in KEY_METRICS:
        for e in results["metrics"]:
            if e["workload"] == wl and e["metric"].startswith(prefix) and id(e) not in used:
                used.add(id(e))
                res.append((e, label))
                if prefix:
                    break
    return res


def lineage_line(g):
    return (f"**`prov why` / `prov impact` on a busy host** (`bench_lineage {g.get('args', '')}`: "
            f"{grouped(g['events'])} events, {grouped(g['activities'])} activities — shells, "
            "pipelines, Python through pyenv, builds, a logger — through the real collector; "
            f"load {g.get('load_start', '?')}): database {g['db_bytes'] / 1048576:.1f} MiB = "
            f"**{g['bytes_per_event']:.0f} bytes/event**; `prov why` of 300 outputs **p50 "
            f"{g['why_p50_ms']:.1f} ms, p99 {g['why_p99_ms']:.1f} ms** (target 100 ms; longest "
            f"answer {g['why_max_lines']} lines); `prov impact` **p50 {g['impact_p50_ms']:.1f} ms, "
            f"p99 {g['impact_p99_ms']:.1f} ms**.")


def summary_block(rundir, meta, results, overhead, collector, ingest, upgrade=None):
    """The README's benchmark summary: everything bench/run.sh measured in this run."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    where = os.path.relpath(os.path.abspath(rundir), repo)
    if where.startswith(".."):
        where = os.path.abspath(rundir)
    local = " (local, git-ignored)" if where.startswith("bench/results/") else ""
    files = meta.get("tree", "").split(";")[-1].strip().split(" ")[0] or "?"
    try:
        files = grouped(int(files))
    except ValueError:
        pass
    small = meta.get("smallfiles", "").split(" ")[0]
    try:
        small = grouped(int(small))
    except ValueError:
        pass
    git = meta.get("git", "?").split(" (")[0]
    dirty = "" if " (0 files" in meta.get("git", "") else ", working tree modified"
    L = [MARK_BEGIN,
         "<!-- Generated by `bash bench/run.sh --update-readme` from its run's results "
         "(bench/lib/report.py); edits here are overwritten. -->",
         f"**`bench/run.sh --{meta.get('mode', '?')}`** ({meta.get('date', '?')}, git {git}{dirty}; "
         f"{meta.get('nproc', '?')} cores, load {meta.get('loadavg_start', '?')} at start, "
         f"{meta.get('loadavg_end', '?')} at the end; {meta.get('reps', '?')} "
         f"rep{'' if meta.get('reps') == 1 else 's'} per workload; {meta.get('duration_s', 0) / 60:.0f} min). "
         f"Report: `{where}/report.md`{local}.", ""]
    # file systems
    cells = []
    for e, label in key_entries(results):
        st = e["systems"].get(FOCUS, {})
        sd = st.get("slowdown_vs_ext4_ordered")
        if sd is None:
            continue
        text = f"{label.format(files=files, small=small, metric=e['metric'])} {sd:.1f}x"
        bf = e["systems"].get("bindfs", {}).get("slowdown_vs_ext4_ordered")
        fl = [e["systems"].get(f, {}).get("slowdown_vs_ext4_ordered") for f in FLOORS]
        also = []
        if bf is not None and e["workload"] == "untar" and e["metric"] == "untar":
            also.append(f"bindfs, the plain FUSE passthrough: {bf:.1f}x")
        if any(x is not None for x in fl) and floor_in_summary(e):
            also.append("FUSE's floor, in-memory memfs: " + " / ".join(
                f"{x:.1f}x{' write-through' if f == 'memfs-wt' else ''}"
                for f, x in zip(FLOORS, fl) if x is not None))
        if also:
            text += " (" + "; ".join(also) + ")"
        cells.append(text)
    if cells:
        L.append(f"- **Bento-fs vs ext4** (`bentofs` vs ext4 data=ordered on a loop device; slowdown, "
                 f">1 = slower, same run): " + "; ".join(cells) + ".")
    big = results.get("biggest_gap")
    if big:
        line = (f"- **Biggest gap**: {big['workload']} / {big['metric']}, {fmt(big['mean'])} {big['unit']} "
                f"vs {fmt(big['ext4_ordered_mean'])} {big['unit']} (**{big['slowdown']:.1f}x**).")
        for e in results["metrics"]:
            if (e["workload"], e["metric"]) == (big["workload"], big["metric"]):
                fl = [(f, e["systems"].get(f, {}).get("slowdown_vs_ext4_ordered")) for f in FLOORS]
                fl = [(f, x) for f, x in fl if x is not None]
                if fl:
                    line += (" FUSE's floor there (in-memory memfs under the same host): " +
                             " / ".join(f"{x:.1f}x{' write-through' if f == 'memfs-wt' else ''}"
                                        for f, x in fl) + ".")
        prof = results.get("profile")
        if prof:
            g = prof.get("gap", {})
            if g and (g.get("workload"), g.get("metric")) != (big["workload"], big["metric"]):
                line += (f" It has no stand-alone profile; the next one, {g['workload']} / "
                         f"{g['metric']} ({g['slowdown']:.1f}x), was profiled.")
            line += (f" **Cause** (`bench/profile.sh --workload {prof['workload']}`, perf; details in "
                     f"the report): {cause_text(prof, meta.get('nproc', 2), short=True)}")
        else:
            line += " Cause: not profiled in this run."
        L.append(line)
    if overhead:
        c = collector or {}
        how = ("under the collector `provd`" + (" with the eBPF probes" if c.get("probes") else
                                                " **--no-probes**")) if collector else ""
        mean = results["tracking_overhead_mean"]
        parts = [f"{label.format(files=files, small=small, metric=e['metric'])} "
                 f"{e['tracking_overhead'] * 100:+.0f}%"
                 for e, label in key_entries(results) if "tracking_overhead" in e]
        L.append(f"- **Tracking overhead** (Bento-prov vs Bento-fs, same run{', ' + how if how else ''}): "
                 f"mean **{mean * 100:+.1f}%** over {len(overhead)} metrics (the paper's Bento-prov: "
                 f"+13..68%); " + "; ".join(parts) + ".")
    if collector:
        c = collector
        written = c.get("fs_records_written")
        largest = ""
        tables = sorted((c.get("rows") or {}).items(), key=lambda kv: -kv[1])
        if tables and c["events"]:
            largest = (f" (largest table: `{tables[0][0]}`, {grouped(tables[0][1])} rows = "
                       f"{tables[0][1] / c['events']:.1f} per event)")
        exact = (" — every record the fs wrote" if written == c["fs_records"] else
                 f" of {grouped(written)} the fs wrote" if written is not None else "")
        L.append(f"- **Collector during that run** (`provd`{'' if c.get('probes') else ' --no-probes'}, "
                 f"its own counts): {grouped(c['events'])} events ingested ({grouped(c['fs_records'])} "
                 f"fs records{exact}; {'' if c.get('probe_events_source') == 'provd_status' else '~'}"
                 f"{grouped(c['probe_events'])} probe events from every process on the host); database {c['db_bytes'] / 1048576:.1f} MiB = **{c['bytes_per_event']:.0f} "
                 f"bytes/event**{largest}; {c['cpu_s']:.1f} s of CPU ({c['cpu_us_per_event']:.0f} µs/event); "
                 f"longest drain at a stop {c['drain_s_max']:.2f} s; "
                 + (f"it fell up to {c['backlog_max_bytes'] / 1048576:.1f} MiB of log behind "
                    f"(before {c.get('backlog_max_at')}) and run.sh waited {c['catch_up_s_total']:.0f} s "
                    "in all, untimed, for it to catch up before timed steps; "
                    if c.get("backlog_max_bytes", 0) > 1048576 else "")
                 + f"{c.get('log_refused')} records not written for a full log.")
    if ingest:
        i = ingest
        L.append(f"- **Collector ingest and `prov why`** (`bench_ingest {i.get('args', '')}`: synthetic "
                 "jobs through the real collector into SQLite on tmpfs): "
                 f"**{grouped(i['events_per_s'])} events/s** (target 100,000), "
                 f"**{i['bytes_per_event']:.0f} bytes/event**, `prov why` **p50 {i['why_p50_ms']:.2f} ms, "
                 f"p99 {i['why_p99_ms']:.2f} ms** on a graph of {grouped(i['events'])} events.")
    if results.get("lineage"):
        L.append("- " + lineage_line(results["lineage"]))
    if upgrade:
        L.append(upgrade_summary(upgrade))
    L.append(MARK_END)
    return "\n".join(L) + "\n"


TL_NAMES = {"createdel": "create/write/close/unlink loop, 1 thread",
            "fsync": "write 4 KiB + fsync loop"}


def upgrade_lines(u):
    """report.md's "Live upgrade" section, from upgrade.json (bench_timeline + bench_upgrade)."""
    out = ["## Live upgrade (same run)\n",
           "The paper's experiment: `bench_timeline` mounts Bento-fs on a fresh image, runs a loop "
           "and upgrades the module to Bento-prov (provenance tracking) halfway through, counting "
           "completed operations per 5 ms interval; a thread drains the provenance log as the "
           "collector would. *Pause*: the write lock the host holds during the swap, as it "
           "measures it; *latency around the upgrade*: operations overlapping the upgrade ±50 ms. "
           "`bench_upgrade` repeats upgrades of Bento-fs to itself under 3 writer threads. "
           f"Load {u.get('load_start', '?')} at the start, {u.get('load_end', '?')} at the end.\n"]
    tl = u.get("timeline")
    if tl and tl.get("runs"):
        out.append(f"`bench_timeline {u.get('timeline_args', '')}` ({tl.get('seconds')} s per loop, "
                   "upgrade at the midpoint):\n")
        out.append("| loop | upgrade | pause | round trip | op latency around it: p99 / max | "
                   "otherwise: p99 / max | ops/5 ms: median before → lowest near it → median after "
                   "| intervals near it with 0 ops / < half | failed ops |")
        out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in tl["runs"]:
            if "error" in r:
                out.append(f"| {r.get('workload', '?')} | **{r['error']}** | | | | | | | |")
                continue
            a, o = r.get("latency_around_upgrade", {}), r.get("latency_otherwise", {})
            b = r.get("ops_per_5ms") or {}
            ok = "ok" if r.get("upgrade_ok") else f"**FAILED** {r.get('upgrade_error', '')}"
            name = TL_NAMES.get(r["workload"], r["workload"])
            if r["workload"] == "fsync":
                name += f", {r.get('threads')} threads"
            out.append(f"| {name} | {ok} | {r.get('pause_ms', 0):.2f} ms | {r.get('round_trip_ms', 0):.1f} ms | "
                       f"{a.get('p99_ms', 0):.2f} / **{a.get('max_ms', 0):.2f} ms** | "
                       f"{o.get('p99_ms', 0):.2f} / {o.get('max_ms', 0):.2f} ms | "
                       f"{fmt(b.get('median_before', 0))} → **{b.get('lowest_near_upgrade')}** "
                       f"(at {b.get('lowest_at_ms')} ms) → {fmt(b.get('median_after', 0))} | "
                       f"{b.get('zero_intervals_near_upgrade', '?')} / "
                       f"{b.get('intervals_below_half_near_upgrade', '?')} | {r.get('failed_ops', '?')} |")
        out.append("")
        if u.get("plot"):
            out.append(f"![ops per 5 ms across the upgrade]({u['plot']})\n")
        elsewhere = {r["workload"]: (r.get("ops_per_5ms") or {}).get("zero_intervals_elsewhere")
                     for r in tl["runs"] if "error" not in r}
        if any(elsewhere.values()):
            out.append("Intervals with 0 ops away from the upgrade (more than 50 ms from it), for "
                       "comparison: " + ", ".join(f"{k} {v}" for k, v in elsewhere.items()) +
                       " — stalls the upgrade did not cause (host load, write-back).\n")
        out.append("Per-interval counts: `upgrade/createdel.csv`, `upgrade/fsync.csv`; the "
                   "programs' own output: `upgrade/timeline.json`, `upgrade/bench_timeline.out`.\n")
    else:
        out.append("`bench_timeline` produced no results (see run.log).\n")
    up = u.get("upgrades")
    if up:
        out.append(f"`bench_upgrade {u.get('upgrade_args', '')}`: {up['upgrades']} upgrades of Bento-fs "
                   f"({up.get('failed_upgrades', 0)} failed) under {up.get('threads')} writer threads, "
                   f"{grouped(up.get('syscalls', 0))} syscalls ({up.get('failed_syscalls', 0)} failed):\n")
        out.append("| | p50 | p99 | max |\n|---|---:|---:|---:|")
        for k, label in (("pause", "**pause** (write lock held)"), ("wait", "wait for in-flight calls"),
                         ("round_trip", "upgrade round trip (client)"),
                         ("worst_syscall_during_upgrade", "longest syscall during an upgrade"),
                         ("syscall_baseline", "syscall latency otherwise")):
            d = up.get(k, {})
            out.append(f"| {label} | {d.get('p50_ms', 0):.3f} ms | {d.get('p99_ms', 0):.3f} ms | "
                       f"{d.get('max_ms', 0):.3f} ms |")
        out.append("")
    else:
        out.append("`bench_upgrade` produced no results (see run.log).\n")
    uu = u.get("upgrades_uring")
    if uu:
        p = uu.get("pause", {})
        w = uu.get("worst_syscall_during_upgrade", {})
        out.append(f"Over io_uring (`--options uring`, {uu.get('transport', '?')}): {uu['upgrades']} "
                   f"upgrades ({uu.get('failed_upgrades', 0)} failed, {uu.get('failed_syscalls', 0)} "
                   f"failed syscalls): **pause** p50 {p.get('p50_ms', 0):.3f} / p99 "
                   f"{p.get('p99_ms', 0):.3f} / max {p.get('max_ms', 0):.3f} ms; longest syscall "
                   f"during an upgrade p50 {w.get('p50_ms', 0):.3f} / p99 {w.get('p99_ms', 0):.3f} ms.\n")
    return out


def upgrade_summary(u):
    """The README summary's line on the live upgrade."""
    parts = []
    for r in (u.get("timeline") or {}).get("runs", []):
        if "error" in r:
            parts.append(f"{r.get('workload')}: {r['error']}")
            continue
        a, b = r.get("latency_around_upgrade", {}), r.get("ops_per_5ms") or {}
        name = "create/delete loop" if r["workload"] == "createdel" else \
            f"{r.get('threads')}-thread write+fsync loop"
        parts.append(f"{name}: pause {r.get('pause_ms', 0):.2f} ms"
                     + ("" if r.get("upgrade_ok") else " (**upgrade FAILED**)")
                     + f", op latency around it p99 {a.get('p99_ms', 0):.2f} / max "
                     f"**{a.get('max_ms', 0):.1f} ms**, ops per 5 ms {fmt(b.get('median_before', 0))} → "
                     f"lowest {b.get('lowest_near_upgrade')} → {fmt(b.get('median_after', 0))}, "
                     f"{r.get('failed_ops', '?')} failed ops")
    up = u.get("upgrades")
    if up:
        p = up.get("pause", {})
        parts.append(f"`bench_upgrade`, {up['upgrades']} upgrades Bento-fs → Bento-fs under "
                     f"{up.get('threads')} writer threads: pause p50 "
                     f"{p.get('p50_ms', 0):.2f} / p99 {p.get('p99_ms', 0):.2f} / max **{p.get('max_ms', 0):.2f} ms**, "
                     f"longest syscall during one {up.get('worst_syscall_during_upgrade', {}).get('max_ms', 0):.1f} ms, "
                     f"{up.get('failed_upgrades', 0)} failed upgrades, {up.get('failed_syscalls', 0)} failed syscalls")
    plot = f"; plot `{u['plot']}` in the run dir" if u.get("plot") else ""
    return (f"- **Live upgrade Bento-fs → Bento-prov** (`bench_timeline`: ops per 5 ms across the "
            f"upgrade{plot}): " + "; ".join(parts) + ".")


def update_readme(path, block):
    with open(path) as f:
        text = f.read()
    a, b = text.find(MARK_BEGIN), text.find(MARK_END)
    if a < 0 or b < 0 or b < a or text.count(MARK_BEGIN) != 1 or text.count(MARK_END) != 1:
        print(f"report.py: {path} needs exactly one {MARK_BEGIN} ... {MARK_END} block",
              file=sys.stderr)
        sys.exit(1)
    new = text[:a] + block.rstrip("\n") + text[b + len(MARK_END):]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(new)
    shutil.copymode(path, tmp)
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
