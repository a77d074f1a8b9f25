#!/usr/bin/python3
"""Counts the occurrences of a string in the readable memory of a process
(/proc/<pid>/maps and /proc/<pid>/mem; needs root or ptrace rights). Used
by the mail tests to show that SMTP_PASS lives in the mailer and nowhere
else. usage: scan_memory.py <pid> <needle>"""
import re
import sys


def main():
    pid, needle = sys.argv[1], sys.argv[2].encode()
    hits = 0
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
            start, end, perms = int(m.group(1), 16), int(m.group(2), 16), m.group(3)
            if not perms.startswith("r") or "[vvar]" in line or "[vsyscall]" in line:
                continue
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except (OSError, ValueError, OverflowError):
                continue
            hits += data.count(needle)
    print(hits)


if __name__ == "__main__":
    main()
