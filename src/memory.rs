//! The memory limit: runs and explorations check the process's resident memory now and then
//! and stop (with a message) once it passes the limit, before the allocator would abort.
//!
//! The reading is the resident set size (`VmRSS` in `/proc/self/status`), what the kernel's
//! out-of-memory killer counts too; where it cannot be read (not Linux) there is no limit.

use std::sync::atomic::{AtomicU64, Ordering};

/// The limit in bytes (`u64::MAX`: none).
static LIMIT: AtomicU64 = AtomicU64::new(u64::MAX);
/// How many times [`exceeded`] answered yes: each is something that stopped at the limit.
static HITS: AtomicU64 = AtomicU64::new(0);
/// The bytes in use when [`exceeded`] last answered yes.
static IN_USE_AT_HIT: AtomicU64 = AtomicU64::new(0);

/// The process's resident memory in bytes, if it can be read.
pub fn in_use() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    kib_field(&status, "VmRSS:")
}

/// A `NAME:  N kB` line's value in bytes.
fn kib_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kib: u64 = line[name.len()..].split_whitespace().next()?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Sets the limit (`None`: no limit).
pub fn set_limit(bytes: Option<u64>) {
    LIMIT.store(bytes.unwrap_or(u64::MAX), Ordering::Relaxed);
}

/// The limit in force, if any.
pub fn limit() -> Option<u64> {
    Some(LIMIT.load(Ordering::Relaxed)).filter(|&l| l != u64::MAX)
}

/// Whether the bytes in use passed the limit (counted: see [`hits`]). It reads a file: call it
/// every few milliseconds of work, not on every step.
pub fn exceeded() -> bool {
    let limit = LIMIT.load(Ordering::Relaxed);
    if limit == u64::MAX {
        return false;
    }
    let Some(bytes) = in_use() else { return false };
    let over = bytes > limit;
    if over {
        IN_USE_AT_HIT.store(bytes, Ordering::Relaxed);
        HITS.fetch_add(1, Ordering::Relaxed);
    }
    over
}

/// How many times something stopped at the limit since the process started.
pub fn hits() -> u64 {
    HITS.load(Ordering::Relaxed)
}

/// Does `work`, and says whether something in it stopped at the limit (`Err` carries what
/// it returned anyway, which is then incomplete).
pub fn guarded<T>(work: impl FnOnce() -> T) -> Result<T, T> {
    let before = hits();
    let out = work();
    if hits() == before { Ok(out) } else { Err(out) }
}

/// What a command that stopped at the limit tells its user.
pub fn stopped_message(what: &str) -> String {
    let limit = limit().map_or_else(|| "none".to_string(), show);
    format!(
        "{what} stopped at the memory limit ({} in use, limit {limit}; `--max-memory SIZE` or \
         SCN_MAX_MEMORY sets it, by default three quarters of the memory available at start)",
        show(IN_USE_AT_HIT.load(Ordering::Relaxed))
    )
}

/// The default limit: three quarters of the memory available when scn starts (the lesser of
/// `MemAvailable` in `/proc/meminfo` and the cgroup's `memory.max`), or none where neither
/// can be read.
pub fn default_limit() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| kib_field(&t, "MemAvailable:"));
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok().and_then(|t| t.trim().parse::<u64>().ok());
    let available = match (meminfo, cgroup) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    Some(available / 4 * 3)
}

/// A size as users write it: `512MiB`, `2GB`, `1.5 GiB`, or plain bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    match t.parse::<bytesize::ByteSize>() {
        Ok(size) if size.as_u64() > 0 => Ok(size.as_u64()),
        _ => Err(format!("`{text}` is not a memory size: expected a size such as 512MiB, 2GB or 1.5GiB")),
    }
}

/// A size for messages (`1.5 GiB`).
pub fn show(bytes: u64) -> String {
    bytesize::ByteSize::b(bytes).display().iec().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_as_users_write_them() {
        assert_eq!(parse_size("512MiB"), Ok(512 * 1024 * 1024));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("1.5 GiB"), Ok(3 * 512 * 1024 * 1024));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("0").is_err());
    }

    #[test]
    fn resident_memory_is_read_from_proc() {
        // (The limit is process-wide: tests here do not set it, other tests run beside them.)
        let rss = in_use().expect("Linux has /proc/self/status");
        assert!(rss > 1024 * 1024, "{rss}");
        assert_eq!(kib_field("Name:\tscn\nVmRSS:\t  2048 kB\n", "VmRSS:"), Some(2 * 1024 * 1024));
        assert_eq!(kib_field("VmRSS:\t  lots kB\n", "VmRSS:"), None);
        assert!(default_limit().is_some_and(|l| l > 0));
    }
}
