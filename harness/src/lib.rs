//! The std harness's shared parts, one module per mechanism. Every test runs the release
//! binaries in `dist/` (built by `just dist`) and the image in `dist/oci`, so what is
//! tested is what ships.

pub mod arch;
pub mod busybox;
pub mod docker;
pub mod enclave;
pub mod imports;
#[cfg(feature = "cri")]
pub mod k8s;
pub mod kernel;
pub mod layout;
pub mod oci;
pub mod pause;
pub mod pod;
pub mod podman;
pub mod policy;
pub mod process;
pub mod procfs;
pub mod registry;
pub mod signals;
pub mod skip;
pub mod trixie;
pub mod workspace;

pub use arch::*;
pub use kernel::Kernel;
pub use layout::*;
pub use pause::*;
pub use pod::*;
pub use process::*;
pub use procfs::*;
pub use skip::*;
pub use workspace::*;
