#!/usr/bin/env python3
# Splits one thread's callgrind profile (--compress-strings=no --compress-pos=no) by who wrote
# the code, for test/bench/callgrind-fio.sh. Every function's self cost goes to its group (fio's
# binary, the engine, updk-perf, drivers/nvme, lib/mem, the rest of the library); a function of
# a system library (libc, the vDSO, ld.so, ...) is charged to the group of the function that
# called it, inclusively (a clock read made by fio is fio's, one made by the engine is the
# engine's). Prints one JSON object: {"groups": {group: Ir}, "calls": {function: calls},
# "top": {function: Ir}, "ours": [functions not fio's]}.
#
#   callgrind_split.py PROFILE OWN_OBJECT...    (objects whose functions are not system ones)
import json
import re
import sys


def group_of(ob, fl, fn, own):
    if ob.endswith("/fio"):
        return "fio"
    for pat, g in (("plugins/fio/", "engine"), ("apps/perf/", "updk-perf"),
                   ("drivers/nvme/", "drivers/nvme"), ("lib/mem/", "lib/mem"),
                   ("sim/", "sim")):
        if pat in fl:
            return g
    # a header's inline function, named after the layer it belongs to
    if re.match(r"(updk_nvme|nvme_|pcie_)", fn):
        return "drivers/nvme"
    if re.match(r"(updk_dma|updk_mem|mem_)", fn):
        return "lib/mem"
    return "lib (other)"


def main():
    path, own = sys.argv[1], sys.argv[2:]
    is_own = lambda ob: any(ob.endswith(o) for o in own)
    groups, calls, top, ours = {}, {}, {}, set()
    ob = fl = fn = ""
    cob = cfn = None
    cur = None  # (ob, fl, fn) of the function whose costs follow
    pending_call = False
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            c0 = line[0]
            if c0.isdigit() or c0 in "+-*":
                parts = line.split()
                ir = int(parts[-1]) if len(parts) > 1 else 0
                if pending_call:
                    pending_call = False
                    # a call's inclusive cost: charged when an own function calls a system one
                    callee_ob = cob if cob is not None else ob
                    if is_own(ob) and not is_own(callee_ob):
                        g = group_of(ob, fl, fn, own)
                        groups[g] = groups.get(g, 0) + ir
                        top[fn] = top.get(fn, 0) + ir
                    cob = cfn = None
                    continue
                if is_own(ob):
                    g = group_of(ob, fl, fn, own)
                    groups[g] = groups.get(g, 0) + ir
                    top[fn] = top.get(fn, 0) + ir
                continue
            key, _, val = line.partition("=")
            if key == "ob":
                ob = val
            elif key == "fl":
                fl = val
            elif key == "fn":
                fn = val
                cob = cfn = None
                if is_own(ob) and group_of(ob, fl, fn, own) != "fio":
                    ours.add(fn.split(".")[0])
            elif key == "cob":
                cob = val
            elif key == "cfn":
                cfn = val
            elif key == "calls":
                calls[cfn] = calls.get(cfn, 0) + int(val.split()[0])
                pending_call = True
    json.dump({"groups": groups, "calls": calls, "top": top, "ours": sorted(ours)}, sys.stdout)


main()
