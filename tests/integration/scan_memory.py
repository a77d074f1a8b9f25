#!/usr/bin/python3
"""Counts the occurrences of a string in the readable memory of a process
(/proc/<pid>/maps and /proc/<pid>/mem; needs root or ptrace rights). Used
by the mail tests to show that SMTP_PASS lives in the mailer and nowhere
else. Prints two counts: every occurrence, and those not right after
"<name>=" (an environment entry: a sanitizer runtime keeps its own copy of
the environment it started with). usage: scan_memory.py <pid> <needle> <name>"""
import re
import sys


def main():
    pid, needle, env_prefix = sys.argv[1], sys.argv[2].encode(), (sys.argv[3] + "=").encode()
    hits = bare = 0
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
            start, end, perms = int(m.group(1), 16), int(m.group(2), 16), m.group(3)
            # Sanitizer shadow and allocator reservations span terabytes of
            # untouched pages: a heap that holds a string is far smaller.
            if (not perms.startswith("r") or "[vvar]" in line or "[vsyscall]" in line
                    or end - start > (1 << 30)):
                continue
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except (OSError, ValueError, OverflowError):
                continue
            i = data.find(needle)
            while i >= 0:
                hits += 1
                bare += data[max(0, i - len(env_prefix)):i] != env_prefix
                i = data.find(needle, i + 1)
    print(hits, bare)


if __name__ == "__main__":
    main()
