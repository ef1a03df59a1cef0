//! What stays resident after start-up. Parsing ~150 flags, compiling the collectors'
//! patterns and setting up logging and the runtime run code that a scrape never runs
//! again; the kernel maps executable pages in 64 KiB blocks as they are first touched,
//! so that one-off code stays counted in the resident set for the life of the process.
//! [`release_startup_code`] drops this process's mapping of its own executable code once
//! serving begins; the pages a scrape needs come back from the page cache on first use
//! (a minor fault, no I/O), the rest stay out. Measured in BENCHMARKS.md.

/// Unmaps the resident pages of this executable's code (its `r-xp` mappings), keeping
/// the file's pages in the page cache. Returns the bytes of address space advised, or
/// 0 when `/proc/self` cannot be read (then nothing is done).
#[allow(unsafe_code)]
pub fn release_startup_code() -> usize {
    let Ok(exe) = std::fs::read_link("/proc/self/exe") else {
        return 0;
    };
    let Ok(maps) = std::fs::read_to_string("/proc/self/smaps") else {
        return 0;
    };
    let mut released = 0;
    for (start, end) in code_ranges(&maps, &exe.to_string_lossy()) {
        // SAFETY: [start, end) is a whole mapping the kernel listed for this process:
        // private, backed by our executable file, not writable, and with no anonymous
        // (copied-on-write) page, neither resident (`Anonymous: 0 kB`) nor swapped out
        // (`Swap: 0 kB`), so every page of it is the file's own bytes (the RELRO
        // segment, which the dynamic loader wrote relocations into, has anonymous pages
        // and is skipped). MADV_DONTNEED on such a mapping only drops page-table
        // entries; the next access faults the same bytes back in from the file, so
        // references into it (string literals, code) stay valid. A copied-on-write page
        // would be lost instead: hence both lines must be present and zero.
        let advised = unsafe {
            rustix::mm::madvise(
                start as *mut std::ffi::c_void,
                end - start,
                rustix::mm::Advice::LinuxDontNeed,
            )
        };
        if advised.is_ok() {
            released += end - start;
        }
    }
    released
}

/// The mappings of `exe` in a `/proc/<pid>/smaps` text that provably hold only the
/// file's own bytes: not writable, and with `Anonymous: 0 kB` and `Swap: 0 kB` (no
/// copied-on-write page, resident or swapped out). A mapping without either line is
/// left alone: its precondition cannot be shown.
fn code_ranges(smaps: &str, exe: &str) -> Vec<(usize, usize)> {
    /// A candidate mapping while its fields are read.
    struct Mapping {
        start: usize,
        end: usize,
        anonymous_zero: bool,
        swap_zero: bool,
    }
    let mut out = Vec::new();
    let mut current: Option<Mapping> = None;
    let mut finish = |m: Option<Mapping>| {
        if let Some(m) = m
            && m.anonymous_zero
            && m.swap_zero
        {
            out.push((m.start, m.end));
        }
    };
    for line in smaps.lines() {
        let mut fields = line.split_ascii_whitespace();
        let first = fields.next().unwrap_or("");
        if let Some((start, end)) = first.split_once('-') {
            // a mapping's header line: "start-end perms offset dev inode path"
            let perms = fields.next().unwrap_or("");
            let path = fields.nth(3).unwrap_or("");
            let candidate = path == exe && perms.ends_with('p') && !perms.contains('w');
            let next = match (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            ) {
                (Ok(start), Ok(end)) if candidate => Some(Mapping {
                    start,
                    end,
                    anonymous_zero: false,
                    swap_zero: false,
                }),
                _ => None,
            };
            finish(std::mem::replace(&mut current, next));
        } else if let Some(m) = &mut current {
            let zero = fields.next() == Some("0");
            match first {
                "Anonymous:" => m.anonymous_zero = zero,
                "Swap:" => m.swap_zero = zero,
                _ => {}
            }
        }
    }
    finish(current);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_executables_code_mappings_are_chosen() {
        let maps = "\
55d4c0a00000-55d4c0b00000 r--p 00000000 fd:01 123 /usr/bin/kitestacks-exporter
Rss:                 968 kB
Anonymous:             0 kB
Swap:                  0 kB
55d4c0b00000-55d4c1000000 r-xp 00100000 fd:01 123 /usr/bin/kitestacks-exporter
Rss:                4240 kB
Anonymous:             0 kB
Swap:                  0 kB
55d4c1000000-55d4c1100000 r--p 00600000 fd:01 123 /usr/bin/kitestacks-exporter
Rss:                 292 kB
Anonymous:           292 kB
Swap:                  0 kB
55d4c1100000-55d4c1200000 rw-p 00700000 fd:01 123 /usr/bin/kitestacks-exporter
Anonymous:             0 kB
Swap:                  0 kB
7f0000000000-7f0000100000 r-xp 00000000 fd:01 456 /usr/lib/x86_64-linux-gnu/libc.so.6
Anonymous:             0 kB
Swap:                  0 kB
7f0000200000-7f0000300000 rw-p 00000000 00:00 0
Anonymous:            64 kB
7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]
Anonymous:            12 kB
";
        // The read-only segment and the code; not the relocated RELRO segment (it has
        // copied-on-write pages), not the writable data, not other files.
        assert_eq!(
            code_ranges(maps, "/usr/bin/kitestacks-exporter"),
            [
                (0x55d4c0a00000, 0x55d4c0b00000),
                (0x55d4c0b00000, 0x55d4c1000000)
            ]
        );
        assert!(code_ranges(maps, "/other").is_empty());
    }

    #[test]
    fn a_mapping_with_swapped_out_or_unknown_pages_is_refused() {
        let exe = "/usr/bin/kitestacks-portal";
        let mapping = |anonymous: &str, swap: &str| {
            format!(
                "5600000a0000-5600000b0000 r--p 00000000 fd:01 7 {exe}\n\
                 Rss:                  64 kB\n{anonymous}{swap}\
                 VmFlags: rd mr mw me\n"
            )
        };
        let zero_anon = "Anonymous:             0 kB\n";
        let zero_swap = "Swap:                  0 kB\n";
        let whole = [(0x5600000a0000, 0x5600000b0000)];
        assert_eq!(code_ranges(&mapping(zero_anon, zero_swap), exe), whole);
        // A copied-on-write page swapped out: MADV_DONTNEED would lose it.
        let swapped = mapping(zero_anon, "Swap:                  4 kB\n");
        assert!(code_ranges(&swapped, exe).is_empty());
        // A kernel that does not say: nothing is proven, nothing is done.
        assert!(code_ranges(&mapping(zero_anon, ""), exe).is_empty());
        assert!(code_ranges(&mapping("", zero_swap), exe).is_empty());
    }

    #[test]
    fn the_process_keeps_running_its_code_after_release() {
        let before = resident_code_kib();
        assert!(release_startup_code() > 0);
        // Code runs on (faulted back in) and computes as before.
        assert_eq!((1..=10u64).product::<u64>(), 3_628_800);
        assert!(resident_code_kib() < before, "{before}");
    }

    /// Resident KiB of this executable's code mappings (from smaps).
    fn resident_code_kib() -> u64 {
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let exe = exe.to_string_lossy();
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut total = 0;
        let mut in_code = false;
        for line in smaps.lines() {
            let header = line
                .split_ascii_whitespace()
                .next()
                .is_some_and(|r| r.contains('-'))
                && !line.ends_with(':');
            if header && !line.starts_with(char::is_uppercase) {
                in_code = line.contains(" r-xp ") && line.ends_with(exe.as_ref());
            } else if in_code && let Some(v) = line.strip_prefix("Rss:") {
                total += v
                    .trim()
                    .trim_end_matches(" kB")
                    .trim()
                    .parse::<u64>()
                    .unwrap();
            }
        }
        total
    }
}
