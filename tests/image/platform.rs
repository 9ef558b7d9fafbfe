//! Each platform of the image: read by skopeo, unpacked by umoci, within its blob budget, and
//! the one a platform request resolves to.

use std::fs;
use std::os::unix::fs::MetadataExt;

use oci_spec::image::{ImageConfiguration, MediaType};
use oci_spec::runtime::Spec;
use pause_harness::*;

use crate::{BLOB_BUDGET, BuiltImage, built, stdout_of};

/// skopeo reads each platform by its tag: the right architecture, and a config that runs
/// `/pause` as 65535:65535.
fn skopeo_reads_the_platform(arch: &'static Arch) {
    if !built(arch) || !have("skopeo", "to read OCI images") {
        return;
    }
    let image = BuiltImage::build(&[]);
    let reference = image.reference(arch.name);
    let inspect: serde_json::Value =
        serde_json::from_slice(&stdout_of("skopeo", &["inspect", &reference])).unwrap();
    let (architecture, variant) = arch.platform();
    assert_eq!(inspect["Architecture"], architecture);
    assert_eq!(inspect["Os"], "linux");
    assert_eq!(
        inspect["Digest"],
        image.tagged(arch.name).digest().to_string()
    );

    let raw = stdout_of("skopeo", &["inspect", "--config", &reference]);
    let config: ImageConfiguration = serde_json::from_slice(&raw).unwrap();
    assert_eq!(config.architecture().to_string(), architecture);
    assert_eq!(config.variant().as_deref(), variant);
    let run = config.config().as_ref().unwrap();
    assert_eq!(run.user().as_deref(), Some("65535:65535"));
    assert_eq!(
        run.entrypoint().as_deref(),
        Some(&["/pause".to_string()][..])
    );
    assert_eq!(run.cmd(), &None);
}

/// umoci unpacks each platform to a rootfs whose only entry is `/pause`: the dist binary,
/// 0755, owned by 0:0; and the runtime config it derives runs it as 65535:65535.
fn umoci_unpacks_only_pause(arch: &'static Arch) {
    if !built(arch)
        || !have("umoci", "to unpack OCI images")
        || !privileged("to unpack files owned by 0:0")
    {
        return;
    }
    let image = BuiltImage::build(&[]);
    let work = tempfile::tempdir().unwrap();
    let bundle = work.path().join("bundle");
    let tagged = format!("{}:{}", image.path().display(), arch.name);
    stdout_of(
        "umoci",
        &["unpack", "--image", &tagged, bundle.to_str().unwrap()],
    );

    let rootfs = bundle.join("rootfs");
    let entries: Vec<_> = fs::read_dir(&rootfs)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, ["pause"], "the rootfs holds only /pause");
    let pause = rootfs.join("pause");
    let meta = fs::symlink_metadata(&pause).unwrap();
    assert!(meta.file_type().is_file());
    assert_eq!(meta.mode() & 0o7777, 0o755);
    assert_eq!((meta.uid(), meta.gid()), (0, 0));
    assert!(fs::read(&pause).unwrap() == fs::read(arch.binary()).unwrap());

    let spec = Spec::load(bundle.join("config.json")).unwrap();
    let process = spec.process().as_ref().unwrap();
    assert_eq!(process.args().as_deref(), Some(&["/pause".to_string()][..]));
    assert_eq!((process.user().uid(), process.user().gid()), (65535, 65535));
}

/// One platform's image is a config, a manifest and one gzip layer, under 2 KiB in all.
fn blobs_fit_in_2_kib(arch: &'static Arch) {
    if !built(arch) {
        return;
    }
    let image = BuiltImage::build(&[]);
    let entry = image.tagged(arch.name);
    let manifest = image.manifest(arch.name);
    let [layer] = &manifest.layers()[..] else {
        panic!("one layer: {manifest:?}");
    };
    assert_eq!(layer.media_type(), &MediaType::ImageLayerGzip);
    let sizes = [&entry, manifest.config(), layer].map(|d| image.blob(d).len() as u64);
    let total: u64 = sizes.iter().sum();
    eprintln!(
        "{}: manifest {} + config {} + layer {} = {total} bytes",
        arch.name, sizes[0], sizes[1], sizes[2]
    );
    assert!(total < BLOB_BUDGET, "{}: {total} bytes of blobs", arch.name);
}

/// A platform request resolves through the index to this platform's manifest: `skopeo copy`
/// with the request's architecture and variant takes exactly that manifest from `latest`
/// (for linux/arm/v6 the Thumb-1 build, not the Thumb-2 one of v7).
fn platform_request_resolves_to_its_manifest(arch: &'static Arch) {
    if !built(arch) || !have("skopeo", "to read OCI images") {
        return;
    }
    let image = BuiltImage::build(&[]);
    let copy = tempfile::tempdir().unwrap();
    let (architecture, variant) = arch.platform();
    let mut request = vec!["--override-os", "linux", "--override-arch", architecture];
    if let Some(variant) = variant {
        request.extend(["--override-variant", variant]);
    }
    let (from, to) = (
        image.reference("latest"),
        format!("dir:{}", copy.path().display()),
    );
    let args = [&request[..], &["copy", &from, &to]].concat();
    stdout_of("skopeo", &args);
    let copied = fs::read(copy.path().join("manifest.json")).unwrap();
    assert!(
        copied == image.blob(&image.tagged(arch.name)),
        "{request:?} resolved to another manifest"
    );
}

per_arch!(
    platform_request_resolves_to_its_manifest,
    skopeo_reads_the_platform,
    umoci_unpacks_only_pause,
    blobs_fit_in_2_kib
);
