//! Debian packages of another architecture, without touching this machine's dpkg: a private
//! apt root per architecture and release, in a cache kept between runs, from the mirror this
//! machine's own apt uses.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use pause_harness::Kernel;

use crate::zboot;

/// What one guest boots: the kernel image, its version, and busybox-static.
pub struct Unpacked {
    pub kernel: PathBuf,
    /// The device tree the Kernel names, from the same package.
    pub dtb: Option<PathBuf>,
    pub version: String,
    pub busybox: PathBuf,
}

/// The cache: `$PAUSE_KERNEL_CACHE`, else /var/cache/pause-kernels (outside any clone, so
/// that a fresh clone on the same machine downloads nothing again).
fn cache() -> PathBuf {
    std::env::var_os("PAUSE_KERNEL_CACHE")
        .map_or_else(|| PathBuf::from("/var/cache/pause-kernels"), PathBuf::from)
}

/// Downloads (once per package version) and unpacks `kernel`'s current package and the
/// same release's busybox-static.
pub fn fetch(kernel: &Kernel) -> Unpacked {
    // Guests of one Debian architecture share a root; one fetch at a time keeps apt's own
    // files whole.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let root = cache().join(format!("{}-{}", kernel.debian_arch, kernel.suite));
    let apt = Apt::new(&root, kernel);
    apt.run("apt-get", &["update", "-q"]);
    // The metapackage depends on the kernel of the current ABI. Up to Debian 13 that package
    // holds the image in /boot; from Debian 14 it holds nothing and depends on
    // linux-binary-ABI, which has it in /usr/lib/modules/ABI/.
    let image = apt.dependency(kernel.package, "linux-image-");
    let unpacked = match apt
        .dependencies(&image)
        .into_iter()
        .find(|d| d.starts_with("linux-binary-"))
    {
        Some(binary) => apt.unpack(&binary),
        None => apt.unpack(&image),
    };
    let boot = unpacked.join("boot");
    let (kernel_file, version) = if boot.is_dir() {
        let file = find(&boot, |name| {
            name.starts_with("vmlinuz-") || name.starts_with("vmlinux-")
        });
        let name = file.file_name().unwrap().to_str().unwrap();
        let version = name.split_once('-').unwrap().1.to_string();
        (file, version)
    } else {
        let modules = find(&unpacked.join("usr/lib/modules"), |_| true);
        let version = modules.file_name().unwrap().to_str().unwrap().to_string();
        (modules.join("vmlinuz"), version)
    };
    let kernel_file = zboot::unpacked(&kernel_file);
    let dtb = kernel.dtb.map(|name| {
        let dtbs = unpacked.join(format!("usr/lib/linux-image-{version}"));
        find(&dtbs, |n| n == name)
    });
    let busybox = apt.unpack("busybox-static");
    let busybox = [busybox.join("bin/busybox"), busybox.join("usr/bin/busybox")]
        .into_iter()
        .find(|p| p.is_file())
        .expect("busybox-static holds no busybox");
    Unpacked {
        kernel: kernel_file,
        dtb,
        version,
        busybox,
    }
}

/// The one file in `dir` whose name `matches`.
fn find(dir: &Path, matches: impl Fn(&str) -> bool) -> PathBuf {
    let found: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(&matches))
        .collect();
    assert_eq!(found.len(), 1, "in {}: {found:?}", dir.display());
    found.into_iter().next().unwrap()
}

/// apt-get and apt-cache on a private root for one architecture and release.
struct Apt {
    root: PathBuf,
    options: Vec<String>,
}

impl Apt {
    fn new(root: &Path, kernel: &Kernel) -> Apt {
        for dir in [
            "etc",
            "state/lists/partial",
            "cache/archives/partial",
            "debs",
        ] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        fs::write(root.join("status"), "").unwrap();
        let (main, security) = host_mirrors();
        let suite = kernel.suite;
        fs::write(
            root.join("etc/debian.sources"),
            format!(
                "Types: deb\nURIs: {main}\nSuites: {suite} {suite}-updates\nComponents: main\n\
                 Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n\
                 Types: deb\nURIs: {security}\nSuites: {suite}-security\nComponents: main\n\
                 Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
            ),
        )
        .unwrap();
        let at = root.display();
        let arch = kernel.debian_arch;
        let options = [
            format!("Dir::State={at}/state"),
            format!("Dir::State::status={at}/status"),
            format!("Dir::Cache={at}/cache"),
            "Dir::Etc::sourcelist=/dev/null".into(),
            format!("Dir::Etc::sourceparts={at}/etc"),
            format!("APT::Architecture={arch}"),
            format!("APT::Architectures::={arch}"),
        ];
        Apt {
            root: root.to_path_buf(),
            options: options.into_iter().flat_map(|o| ["-o".into(), o]).collect(),
        }
    }

    /// Runs `tool OPTIONS args`, which must succeed; its stdout.
    fn run(&self, tool: &str, args: &[&str]) -> String {
        let out = Command::new(tool)
            .args(&self.options)
            .args(args)
            .current_dir(self.root.join("debs"))
            .output()
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{tool} {args:?}: {stderr}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// Field `name` of `package`'s current version, as `apt-cache show` gives it.
    fn field(&self, package: &str, name: &str) -> String {
        let show = self.run("apt-cache", &["show", "--no-all-versions", package]);
        let prefix = format!("{name}: ");
        let value = show.lines().find_map(|l| l.strip_prefix(&prefix));
        let value = value.unwrap_or_else(|| panic!("{package}: no {name} in\n{show}"));
        value.to_string()
    }

    /// The names `package`'s current version depends on, version constraints and
    /// alternatives left out.
    fn dependencies(&self, package: &str) -> Vec<String> {
        self.field(package, "Depends")
            .split(',')
            .map(|d| d.split_whitespace().next().unwrap().to_string())
            .collect()
    }

    /// The first package `package` depends on whose name starts with `prefix`.
    fn dependency(&self, package: &str, prefix: &str) -> String {
        let found = self
            .dependencies(package)
            .into_iter()
            .find(|d| d.starts_with(prefix));
        found.unwrap_or_else(|| panic!("{package} depends on no {prefix}*"))
    }

    /// `package`'s current version unpacked into the cache (downloaded if not there yet).
    fn unpack(&self, package: &str) -> PathBuf {
        let version = self.field(package, "Version");
        let dir = self
            .root
            .join("unpacked")
            .join(format!("{package}_{version}"));
        if dir.is_dir() {
            return dir;
        }
        self.run("apt-get", &["download", "-q", package]);
        let deb = find(&self.root.join("debs"), |n| {
            n.starts_with(&format!("{package}_")) && n.ends_with(".deb")
        });
        let partial = self
            .root
            .join("unpacked")
            .join(format!("{package}.partial"));
        let _ = fs::remove_dir_all(&partial);
        fs::create_dir_all(&partial).unwrap();
        let status = Command::new("dpkg-deb")
            .arg("-x")
            .arg(&deb)
            .arg(&partial)
            .status();
        assert!(status.unwrap().success(), "dpkg-deb -x {}", deb.display());
        fs::rename(&partial, &dir).unwrap();
        fs::remove_file(deb).unwrap();
        dir
    }
}

/// The URIs of Debian's main and security archives, as this machine's apt has them.
fn host_mirrors() -> (String, String) {
    let sources = fs::read_to_string("/etc/apt/sources.list.d/debian.sources").unwrap_or_default();
    let mut main = None;
    let mut security = None;
    for stanza in sources.split("\n\n") {
        let field = |name: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .map(|v| v.trim().to_string())
        };
        let (Some(uris), Some(suites)) = (field("URIs"), field("Suites")) else {
            continue;
        };
        let uri = uris.split_whitespace().next().unwrap().to_string();
        match suites.contains("-security") {
            true => security = security.or(Some(uri)),
            false => main = main.or(Some(uri)),
        }
    }
    let missing = "no Debian archive in /etc/apt/sources.list.d/debian.sources";
    let main = main.expect(missing);
    (main.clone(), security.unwrap_or(main))
}
