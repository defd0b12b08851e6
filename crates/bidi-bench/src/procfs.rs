//! What the kernel says about a process: CPU time and memory, read from `/proc` (and
//! `clock_gettime` for this process's precise CPU time). Linux only.

use std::time::Duration;

/// User and system CPU time of a process, from `/proc/<pid>/stat` (clock ticks, 10 ms).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTimes {
    /// User time, seconds.
    pub user_s: f64,
    /// System time, seconds.
    pub sys_s: f64,
}

impl CpuTimes {
    /// User plus system, seconds.
    pub fn total_s(&self) -> f64 {
        self.user_s + self.sys_s
    }
}

/// Ticks per second of `/proc/<pid>/stat` (`USER_HZ`, 100 on every Linux we run on).
const USER_HZ: f64 = 100.0;

/// The CPU times of process `pid` ("self" for this one); `None` when unreadable.
pub fn cpu_times(pid: &str) -> Option<CpuTimes> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; fields after its ')' are plain.
    let rest = stat.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let sys: f64 = fields.next()?.parse().ok()?;
    Some(CpuTimes {
        user_s: user / USER_HZ,
        sys_s: sys / USER_HZ,
    })
}

/// This process's CPU time (all threads, user + system) with nanosecond resolution.
pub fn process_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// A `kB` line of `/proc/self/status` (`VmRSS`, `VmHWM`, ...); 0 when absent.
pub fn status_kb(key: &str) -> u64 {
    status_field("self", key)
}

/// The number of a line of `/proc/<pid>/status` (`VmRSS` in kB, `Threads`, ...); 0 when
/// absent. `pid` may be `self`.
pub fn status_field(pid: &str, key: &str) -> u64 {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return 0;
    };
    status
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix(key)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or(0)
}

/// The open file descriptors of process `pid` (`self` for this one); 0 when unreadable.
pub fn open_fds(pid: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// Current resident set size, KiB.
pub fn rss_kb() -> u64 {
    status_kb("VmRSS")
}

/// Peak resident set size (high-water mark), KiB.
pub fn peak_rss_kb() -> u64 {
    status_kb("VmHWM")
}

/// Context switches of this process so far (voluntary + involuntary, summed over its live
/// threads, from `/proc/self/task/*/status`): how often it went to sleep or was preempted.
pub fn context_switches() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter_map(|line| {
                    let (key, value) = line.split_once(':')?;
                    key.ends_with("ctxt_switches")
                        .then(|| value.trim().parse::<u64>().ok())?
                })
                .collect::<Vec<_>>()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        assert!(context_switches() > 0);
        assert!(cpu_times("self").is_some());
        assert!(rss_kb() > 0);
        assert!(status_field("self", "Threads") >= 1);
        assert!(open_fds("self") >= 3, "stdin, stdout, stderr");
        assert!(peak_rss_kb() >= rss_kb());
        let a = process_cpu();
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(process_cpu() > a);
    }
}
