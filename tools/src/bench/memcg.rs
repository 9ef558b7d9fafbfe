//! The memory controller's files: where its hierarchy is mounted, in which version, and what
//! a cgroup is charged as each version tells it.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The memory cgroup hierarchy of this machine.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Version {
    V1,
    V2,
}

impl Version {
    pub(super) fn name(self) -> &'static str {
        match self {
            Version::V1 => "cgroup v1",
            Version::V2 => "cgroup v2",
        }
    }
}

/// Where the memory controller is mounted, and in which version.
pub(super) struct Hierarchy {
    pub(super) version: Version,
    pub(super) dir: PathBuf,
}

impl Hierarchy {
    /// The v1 memory hierarchy if one is mounted (a hybrid host mounts v2 beside it, without
    /// the memory controller), else a v2 hierarchy that offers the memory controller.
    pub(super) fn here() -> Result<Hierarchy> {
        let mounts = procfs::process::Process::myself()?.mountinfo()?;
        let v1 = mounts
            .iter()
            .find(|m| m.fs_type == "cgroup" && m.super_options.contains_key("memory"));
        if let Some(m) = v1 {
            return Ok(Hierarchy {
                version: Version::V1,
                dir: m.mount_point.clone(),
            });
        }
        for m in mounts.iter().filter(|m| m.fs_type == "cgroup2") {
            let controllers = fs::read_to_string(m.mount_point.join("cgroup.controllers"))?;
            if controllers.split_whitespace().any(|c| c == "memory") {
                return Ok(Hierarchy {
                    version: Version::V2,
                    dir: m.mount_point.clone(),
                });
            }
        }
        bail!("no cgroup hierarchy with the memory controller is mounted")
    }

    /// What cgroup `dir` is charged now, in bytes.
    pub(super) fn read(&self, dir: &Path) -> Result<Reading> {
        let text = fs::read_to_string(dir.join("memory.stat"))?;
        let stat = parse_stat(&text);
        let stat = |key: &str| {
            stat.get(key)
                .copied()
                .with_context(|| format!("no {key} in {}/memory.stat", dir.display()))
        };
        let number = |file: &str| -> Result<u64> {
            let path = dir.join(file);
            let text = fs::read_to_string(&path)?;
            text.trim()
                .parse()
                .with_context(|| format!("{}: {text:?}", path.display()))
        };
        Ok(match self.version {
            // v1 charges kernel memory to memory.usage_in_bytes too, and counts it apart in
            // memory.kmem.usage_in_bytes; memory.stat's rss and cache are the user pages.
            Version::V1 => Reading {
                as_read: number("memory.usage_in_bytes")?,
                user: stat("rss")? + stat("cache")?,
                kernel: number("memory.kmem.usage_in_bytes")?,
            },
            // v2 has no kmem file: memory.stat's kernel (stacks, page tables, slab, percpu,
            // vmalloc...) and sock are the kernel's part, anon and file the user pages.
            Version::V2 => Reading {
                as_read: number("memory.current")?,
                user: stat("anon")? + stat("file")?,
                kernel: stat("kernel")? + stat("sock")?,
            },
        })
    }
}

/// memory.stat's `key value` lines.
fn parse_stat(text: &str) -> HashMap<&str, u64> {
    text.lines()
        .filter_map(|line| {
            let (key, value) = line.split_once(' ')?;
            Some((key, value.trim().parse().ok()?))
        })
        .collect()
}

/// One reading of a cgroup, in bytes.
#[derive(Clone)]
pub(super) struct Reading {
    pub(super) as_read: u64,
    pub(super) user: u64,
    pub(super) kernel: u64,
}

impl Reading {
    pub(super) fn charge(&self) -> u64 {
        self.user + self.kernel
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_stat_lines_are_read_by_key() {
        let stat =
            parse_stat("cache 8192\nrss 4096\nhierarchical_memory_limit 9223372036854771712\n");
        assert_eq!(stat.get("rss"), Some(&4096));
        assert_eq!(stat.get("cache"), Some(&8192));
        assert_eq!(stat.get("swap"), None);
    }

    /// Each version's charge is its user pages plus its kernel's, from the files it has.
    #[test]
    fn each_version_reads_its_own_files() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| fs::write(dir.path().join(name), text).unwrap();
        write(
            "memory.stat",
            "rss 4096\ncache 8192\nanon 1024\nfile 2048\nkernel 512\nsock 256\n",
        );
        write("memory.usage_in_bytes", "40960\n");
        write("memory.kmem.usage_in_bytes", "16384\n");
        write("memory.current", "30720\n");
        let read = |version| {
            let hierarchy = Hierarchy {
                version,
                dir: PathBuf::new(),
            };
            let r = hierarchy.read(dir.path()).unwrap();
            (r.as_read, r.user, r.kernel, r.charge())
        };
        assert_eq!(read(Version::V1), (40960, 12288, 16384, 28672));
        assert_eq!(read(Version::V2), (30720, 3072, 768, 3840));
    }
}
