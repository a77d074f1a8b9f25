#!/usr/bin/env python3
"""Send one malformed IPC frame on a live dreamauth socketpair, for the
integration tests (as root: pidfd_getfd needs ptrace rights over the owner).

usage: inject_frame.py OWNER_PID PEER_PID

Finds the SOCK_SEQPACKET socket held by OWNER_PID whose other end is held by
PEER_PID (from `ss -xp`), takes a copy of it with pidfd_getfd(2) and writes a
frame no decoder accepts (0xc1 is never valid msgpack) as if OWNER_PID had:
PEER_PID then reads the garbage. Exit 0 when sent, 1 when no such socket."""
import ctypes
import os
import re
import subprocess
import sys

SYS_pidfd_open = 434
SYS_pidfd_getfd = 438


def seqpacket_sockets():
    """{inode: (peer_inode, [(pid, fd), ...])} for every unix seqpacket socket."""
    out = subprocess.run(['ss', '-xpH'], check=True, capture_output=True, text=True).stdout
    socks = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 8 or fields[0] != 'u_seq':
            continue
        inode, peer = int(fields[5]), int(fields[7])
        users = [(int(p), int(f)) for p, f in re.findall(r'pid=(\d+),fd=(\d+)', line)]
        socks[inode] = (peer, users)
    return socks


def find_fd(owner, peer):
    socks = seqpacket_sockets()
    for peer_inode, users in socks.values():
        mine = [fd for pid, fd in users if pid == owner]
        theirs = socks.get(peer_inode, (0, []))[1]
        if mine and any(pid == peer for pid, _ in theirs):
            return mine[0]
    return None


def main():
    owner, peer = int(sys.argv[1]), int(sys.argv[2])
    fd = find_fd(owner, peer)
    if fd is None:
        print(f'no socket of pid {owner} leads to pid {peer}', file=sys.stderr)
        return 1
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = libc.syscall(SYS_pidfd_open, owner, 0)
    if pidfd < 0:
        raise OSError(ctypes.get_errno(), 'pidfd_open')
    copy = libc.syscall(SYS_pidfd_getfd, pidfd, fd, 0)
    if copy < 0:
        raise OSError(ctypes.get_errno(), 'pidfd_getfd')
    os.write(copy, b'\xc1')
    os.close(copy)
    os.close(pidfd)
    return 0


if __name__ == '__main__':
    sys.exit(main())
