#!/usr/bin/env python3
# Every function a comment or a doc page cites exists in the tree (make check-names, part of
# make check). A citation is a name with parentheses, `name()` or name(...), in a C comment or
# a Markdown page, or a lone name in backquotes in either, `name`; names with no underscore
# are taken only as `name()` (English words come with parentheses too, "entry(s)").
# A name with parentheses exists when code somewhere calls or defines it (outside comments:
# C, shell, the build files), or, in capitals, is a macro or ioctl the code uses; a lone name
# in backquotes exists when code uses it at all (a field, macro, type or a string). A short
# form counts when it ends a longer name at an underscore (process_completions() for
# updk_nvme_qpair_process_completions(), `_write()` for updk_nvme_ns_write()). What the tree
# does not hold on purpose is listed in OUTSIDE, with why; docs/benchmarks-history.md is not
# read, as it names the code of the commits it measured. Prints each miss as file:line: name,
# and exits 1 if there is one.
import re
import subprocess
import sys

# Cited on purpose and not in the tree: other projects' functions the docs compare with, and
# kernel or library calls named to explain a choice.
OUTSIDE = {
    # DPDK's burst call, which updk's is compared with (docs/net.md)
    'rte_eth_rx_burst',
    # the Linux kernel's barriers, which include/updk/mmio.h's are compared with
    'dma_wmb', 'wmb',
    # the kernel function that logs an IOMMU fault (test/vm/foundation.c looks for its lines)
    'dmar_fault_do_one',
    # libc's sleep, named as it shows in strace (docs/benchmarks.md)
    'clock_nanosleep',
    # virtio 1.1 fields named as the specification does (docs/net.md)
    'config_generation', 'avail_event',
    # the Linux functions a refused VFIO group attach comes from, and their checks
    # (lib/vfio/attach_err.c, docs/vfio.md, test/vm/iommu.c)
    'vfio_ioctl_set_iommu', 'vfio_iommu_type1_attach_group', 'vfio_container_attach_group',
    'vfio_group_ioctl_set_container', 'iommu_group_claim_dma_owner', 'iommu_attach_group',
    'iommu_group_has_isolated_msi', 'irq_domain_check_msi_remap', 'IOMMU_CAP_INTR_REMAP',
    'attach_dev', 'vfio_iommu_resv_exclude',
    # QEMU 7.2's NVMe model (hw/nvme/ctrl.c), named where its behaviour explains a choice of the
    # driver (docs/nvme-driver.md, shadow doorbells, SGLs for metadata; docs/benchmarks.md, QD 1)
    'nvme_update_sq_eventidx', 'nvme_update_cq_eventidx', 'nvme_process_db', 'nvme_process_sq',
    'nvme_post_cqes', 'nvme_cq_notifier', 'nvme_sq_notifier', 'nvme_map_mptr',
    # Linux 6.1's NVMe/TCP host (drivers/nvme/host/tcp.c), how its poll queues take an answer
    # (docs/nvmf.md, QD 1 with the host polling)
    'NVME_TCP_Q_POLLING', 'nvme_tcp_data_ready',
}
# pages that name the code of other commits
NOT_READ = {'docs/benchmarks-history.md'}

CODE_EXT = ('.c', '.h', '.sh', '.py', '.mk', '.in')


def tracked():
    out = subprocess.run(['git', 'ls-files'], capture_output=True, text=True, check=True)
    return [f for f in out.stdout.split('\n') if f]


def split_c(text):
    """(code, comments): the code with comments blanked, and [(line, comment text)]."""
    code, comments, i, n = [], [], 0, len(text)
    line = 1
    while i < n:
        c = text[i]
        if text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            comments.append((line, text[i:j]))
            line += text.count('\n', i, j)
            code.append('\n' * text.count('\n', i, j))
            i = j
        elif text.startswith('//', i):
            j = text.find('\n', i)
            j = n if j < 0 else j
            comments.append((line, text[i:j]))
            i = j
        elif c in '"\'':
            j = i + 1
            while j < n and text[j] != c and text[j] != '\n':
                j += 2 if text[j] == '\\' else 1
            code.append(text[i:j + 1])
            line += text.count('\n', i, j + 1)
            i = j + 1
        else:
            if c == '\n':
                line += 1
            code.append(c)
            i += 1
    return ''.join(code), comments


CALL = re.compile(r'\b([A-Za-z_]\w*)\s*\(')
WORD = re.compile(r'\b[A-Za-z_]\w*\b')
# name(...) in prose: no space before the parenthesis
CITED_CALL = re.compile(r'(?<![\w.>-])([A-Za-z_]\w*)\((\)|[^()\n]{0,60}\))')
TICKS = re.compile(r'`([^`\n]+)`')
LONE = re.compile(r'^([A-Za-z_]\w*)(\([^()]*\))?$')


def citations(text, first_line):
    """(line, name, with_parens) for each name cited in a comment or page."""
    for m in TICKS.finditer(text):
        lm = LONE.match(m.group(1).strip())
        if lm and '_' in lm.group(1):
            yield first_line + text.count('\n', 0, m.start()), lm.group(1), bool(lm.group(2))
    for m in CITED_CALL.finditer(text):
        name = m.group(1)
        if '_' in name or m.group(2) == ')':
            yield first_line + text.count('\n', 0, m.start()), name, True


def main():
    files = tracked()
    calls, words, cited = set(), set(), []
    for f in files:
        if f.startswith('test/bench/experiments/') or f in NOT_READ:
            continue
        is_code = f.endswith(CODE_EXT) or f in ('Makefile', 'configure') or \
            f.endswith('/Makefile')
        if not (is_code or f.endswith('.md')):
            continue
        try:
            text = open(f, encoding='utf-8').read()
        except (OSError, UnicodeDecodeError):
            continue
        words.update(re.sub(r'\.\w+$', '', p) for p in f.split('/'))
        if f.endswith('.md'):
            cited += [(f, ln, name, p) for ln, name, p in citations(text, 1)]
        elif f.endswith(('.c', '.h')):
            code, comments = split_c(text)
            calls.update(CALL.findall(code))
            words.update(WORD.findall(code))
            for line, com in comments:
                cited += [(f, ln, name, p) for ln, name, p in citations(com, line)]
        else:
            calls.update(CALL.findall(text))
            words.update(WORD.findall(text))
    def found(name, parens):
        known = calls if parens else words
        if name in OUTSIDE or name in known or (parens and name.isupper() and name in words):
            return True
        tail = name if name.startswith('_') else '_' + name
        return any(k.endswith(tail) for k in known)

    missing = 0
    for f, line, name, parens in sorted(set(cited)):
        if found(name, parens):
            continue
        print('%s:%d: %s%s is cited but not in the tree' % (f, line, name,
                                                              '()' if parens else ''))
        missing += 1
    if missing:
        print('check-names: %d cited name(s) not found: fix the comment or page, or, for a '
              'name outside the tree on purpose, add it to OUTSIDE in %s' % (missing, sys.argv[0]),
              file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
