#!/usr/bin/env python3
"""cg_layers.py - split a callgrind profile of ternsim by tern layer.

  cg_layers.py [opts] <callgrind.out>   one line: "layer=Ir ..." totals
    --image=ADDR:LEN  where the workload image was mapped (ternsim logs
                      "image at ADDR, LEN bytes"): code there is httpd
    --elf=FILE        the workload ELF, to name its functions
    --funcs=N         also the N costliest functions (self + helpers)
    --calls=F,G,...   also "calls.F=n ..." on the first line: how many
                      times F was called (all callers)

Each function is put in a layer by the source file callgrind names for it
(its fl=, the file of the function, not of code inlined into it):

  driver    virtio/                       netstack  netstack/
  pal       pal/                          httpd     apps/, and code in no
                                                    object inside --image
                                                    (the workload ELF that
                                                    pal/elf_load.c mapped)
  kernel    kernel/ outside kernel/lib    sim       tests/, tools/ternsim/
                                                    (the device simulator,
                                                    the seam, the glue)

Helpers (kernel/lib, libc, the dynamic loader, valgrind's preload, and
any other file) are not a layer: their self cost is handed to their
callers in proportion to the inclusive cost of each call arc, through
chains of helpers, so memcpy called by the netstack counts as netstack.
Self costs are used rather than inclusive ones because the runtime
switches stacks by hand (pal/sched.c), which callgrind's call tree does
not follow; self costs stay exact.  The layers sum to the profile total.
"""
import collections
import os
import re
import sys

ROOT = os.getcwd() + "/"	# run from the repository (callgrind's paths)
LAYERS = ("driver", "netstack", "pal", "httpd", "kernel", "sim", "other")


IMAGE = (0, 0)


def fn_addr(fn):
    try:
        return int(fn, 16) if fn.startswith("0x") else None
    except ValueError:
        return None


def layer_of(obj, fl, fn=""):
    a = fn_addr(fn)
    if a is not None and IMAGE[0] <= a < IMAGE[0] + IMAGE[1]:
        return "httpd"
    f = fl
    if f.startswith(ROOT):
        f = f[len(ROOT):]
    if f.startswith("virtio/"):
        return "driver"
    if f.startswith("netstack/"):
        return "netstack"
    if f.startswith("pal/"):
        return "pal"
    if f.startswith("apps/"):
        return "httpd"
    if f.startswith("kernel/lib/"):
        return None
    if f.startswith("kernel/"):
        return "kernel"
    if f.startswith("tests/") or f.startswith("tools/ternsim/"):
        return "sim"
    return None		# a helper


def parse(path):
    """-> (self cost per function key, arcs {(caller, callee): incl},
    total, events); a function key is (obj, file, name)."""
    names = {"ob": {}, "fl": {}, "fn": {}}
    selfc = collections.Counter()
    arcs = collections.Counter()
    ncalls = collections.Counter()
    ob = fl = fn = None
    cob = cfl = cfn = None
    pending_call = None
    total = None
    rx = re.compile(r"^\((\d+)\)(?: (.*))?$")

    def name(kind, v):
        m = rx.match(v)
        if not m:
            return v
        if m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
            return m.group(2)
        return names[kind][m.group(1)]

    with open(path, errors="replace") as f:
        for ln in f:
            ln = ln.rstrip("\n")
            if not ln:
                continue
            c = ln[0]
            if c.isdigit() or c in "+-*":
                parts = ln.split()
                ir = int(parts[1]) if len(parts) > 1 else 0
                if pending_call is not None:	# calls=0: still active
                    arcs[((ob, fl, fn), (cob or ob, cfl or fl, cfn))] += ir
                    ncalls[cfn] += pending_call
                    pending_call = None
                    cob = cfl = None
                else:
                    selfc[(ob, fl, fn)] += ir
                continue
            if ln.startswith(("summary:", "totals:")):
                total = int(ln.split()[1])
                continue
            key, _, val = ln.partition("=")
            if key == "ob":
                ob = name("ob", val)
            elif key == "fl":
                fl = name("fl", val)
            elif key in ("fi", "fe"):
                name("fl", val)		# registers the id; fn's file stays
            elif key == "fn":
                fn = name("fn", val)
            elif key == "cob":
                cob = name("ob", val)
            elif key in ("cfl", "cfi"):
                cfl = name("fl", val)
            elif key == "cfn":
                cfn = name("fn", val)
            elif key == "calls":
                pending_call = int(val.split()[0])
    return selfc, arcs, total, ncalls


def split(path):
    selfc, arcs, total, ncalls = parse(path)
    funcs = set(selfc) | {a for a, _ in arcs} | {b for _, b in arcs}
    lay = {k: layer_of(k[0] or "", k[1] or "", k[2] or "") for k in funcs}
    callers = collections.defaultdict(list)
    for (a, b), v in arcs.items():
        if a != b:
            callers[b].append((a, v))
    per_layer = collections.Counter()
    per_func = collections.Counter()
    # Helper cost flows to callers; a helper's outgoing share is its own
    # self cost plus what flowed into it from helpers it called.
    inflow = collections.Counter()
    for k, v in selfc.items():
        if lay[k] is not None:
            per_layer[lay[k]] += v
            per_func[k] += v
        else:
            inflow[k] += v
    # Push helper cost up until it lands in a layer (bounded passes; a
    # cycle among helpers only delays, its residue goes to "other").
    for _ in range(64):
        if not inflow:
            break
        nxt = collections.Counter()
        for k, v in inflow.items():
            cs = callers.get(k)
            tot = sum(w for _, w in cs) if cs else 0
            if tot <= 0:
                per_layer["other"] += v
                per_func[k] += v
                continue
            for a, w in cs:
                share = v * w / tot
                if lay[a] is None:
                    nxt[a] += share
                else:
                    per_layer[lay[a]] += share
                    per_func[a] += share
        inflow = nxt
    for k, v in inflow.items():
        per_layer["other"] += v
    return per_layer, per_func, total, lay, ncalls


def elf_syms(path):
    import subprocess
    out = subprocess.run(["nm", "-n", path], capture_output=True, text=True).stdout
    syms = []
    for ln in out.splitlines():
        p = ln.split()
        if len(p) == 3 and p[1] in "tTwW":
            syms.append((int(p[0], 16), p[2]))
    return syms


def sym_name(syms, off):
    best = None
    for a, n in syms:
        if a <= off:
            best = (a, n)
    return "%s+%#x" % (best[1], off - best[0]) if best else "%#x" % off


def main(argv):
    global IMAGE
    nfun = 0
    syms = []
    args = []
    calls = []
    for a in argv[1:]:
        if a.startswith("--funcs="):
            nfun = int(a[8:])
        elif a.startswith("--image="):
            base, _, ln = a[8:].partition(":")
            IMAGE = (int(base, 16), int(ln))
        elif a.startswith("--calls="):
            calls = [f for f in a[8:].split(",") if f]
        elif a.startswith("--elf="):
            syms = elf_syms(a[6:])
        else:
            args.append(a)
    per_layer, per_func, total, lay, ncalls = split(args[0])
    print(" ".join("%s=%d" % (l, round(per_layer.get(l, 0))) for l in LAYERS) +
          " total=%d" % (total or 0) +
          "".join(" calls.%s=%d" % (f, ncalls.get(f, 0)) for f in calls))
    if nfun:
        for k, v in per_func.most_common(nfun):
            fl, fn = k[1], k[2]
            a = fn_addr(fn or "")
            if lay[k] == "httpd" and a is not None and syms:
                fl, fn = "workload", sym_name(syms, a - IMAGE[0])
            if fl.startswith(ROOT):
                fl = fl[len(ROOT):]
            print("%12d  %-8s %s:%s" % (v, lay[k] or "helper", fl, fn))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
