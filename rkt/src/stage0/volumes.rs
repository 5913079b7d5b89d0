//! Volumes and mounts (rkt-behaviour §5.2): the `--volume` and `--mount` grammars, and which
//! host path each app gets where. Pure: the caller creates the `empty` volumes' directories
//! (the [`EmptyDir`]s returned) before stage1-init mounts anything.

use std::path::{Path, PathBuf};

use stage1_init::plan::Mount;

use crate::appc::{AcName, MountPoint, Volume, VolumeKind};

/// An `empty` volume's backing directory, `<pod>/sharedVolumes/<name>`, shared by the apps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EmptyDir {
    pub(crate) path: PathBuf,
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

/// `--volume NAME,kind=host,source=PATH[,readOnly=B][,recursive=B]` or
/// `NAME,kind=empty[,mode=0755][,uid=N][,gid=N][,readOnly=B]` (appc `VolumeFromString`).
pub(crate) fn parse_volume(s: &str) -> Result<Volume, String> {
    let mut parts = s.split(',');
    let name = parts.next().unwrap_or_default();
    let name = AcName::parse(name).map_err(|e| format!("volume name {name:?}: {e}"))?;
    let (mut kind, mut source, mut mode, mut uid, mut gid) = (None, None, None, None, None);
    let (mut read_only, mut recursive) = (None, None);
    let bool_of = |k: &str, v: &str| match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("{k}={v:?}: expected true or false")),
    };
    let id_of = |k: &str, v: &str| {
        v.parse::<u32>()
            .map_err(|_| format!("{k}={v:?}: expected a number"))
    };
    for part in parts {
        let Some((k, v)) = part.split_once('=') else {
            return Err(format!("{part:?}: expected KEY=VALUE"));
        };
        let slot_taken = match k {
            "kind" => kind.replace(v.to_string()).is_some(),
            "source" => source.replace(v.to_string()).is_some(),
            "mode" => mode.replace(v.to_string()).is_some(),
            "uid" => uid.replace(id_of(k, v)?).is_some(),
            "gid" => gid.replace(id_of(k, v)?).is_some(),
            "readOnly" => read_only.replace(bool_of(k, v)?).is_some(),
            "recursive" => recursive.replace(bool_of(k, v)?).is_some(),
            _ => return Err(format!("unknown volume parameter {k:?}")),
        };
        if slot_taken {
            return Err(format!("{k} given twice"));
        }
    }
    let kind = match kind.as_deref() {
        Some("host") => {
            if mode.is_some() || uid.is_some() || gid.is_some() {
                return Err("mode, uid and gid are for empty volumes".into());
            }
            match source {
                Some(src) if src.starts_with('/') && !src.contains('\0') => {
                    VolumeKind::Host { source: src }
                }
                _ => return Err("a host volume needs an absolute source=PATH".into()),
            }
        }
        Some("empty") => {
            if source.is_some() {
                return Err("source for empty volume must be empty".into());
            }
            let mode = mode.unwrap_or_else(|| "0755".into());
            parse_mode(&mode)?;
            VolumeKind::Empty {
                mode,
                uid: uid.unwrap_or(0),
                gid: gid.unwrap_or(0),
            }
        }
        Some(other) => return Err(format!("kind={other:?}: expected host or empty")),
        None => return Err("kind=host or kind=empty is required".into()),
    };
    Ok(Volume {
        name,
        kind,
        read_only,
        recursive,
    })
}

fn parse_mode(mode: &str) -> Result<u32, String> {
    u32::from_str_radix(mode, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| format!("mode={mode:?}: expected octal permissions like 0755"))
}

/// `--mount volume=NAME,target=PATH`: (volume, target).
pub(crate) fn parse_mount(s: &str) -> Result<(String, String), String> {
    let (mut volume, mut target) = (None, None);
    for part in s.split(',') {
        match part.split_once('=') {
            Some(("volume", v)) if volume.is_none() => volume = Some(v.to_string()),
            Some(("target", t)) if target.is_none() => target = Some(t.to_string()),
            _ => return Err(format!("{part:?}: expected volume=NAME,target=PATH")),
        }
    }
    match (volume, target) {
        (Some(v), Some(t)) if !v.is_empty() && !t.is_empty() => Ok((v, t)),
        _ => Err("expected volume=NAME,target=PATH".into()),
    }
}

/// rkt's `IsMountReadOnly`: the volume's `readOnly` if set, else the image mount point's.
fn read_only(vol: &Volume, mount_points: &[MountPoint]) -> bool {
    vol.read_only.unwrap_or_else(|| {
        mount_points
            .iter()
            .any(|mp| mp.name == vol.name && mp.read_only)
    })
}

/// One app's mount requests: the image's mount points, its `--mount`s as (volume, target),
/// and whether its image was converted from Docker (see [`converted_from_docker`]).
pub(crate) type AppMounts<'a> = (&'a [MountPoint], &'a [(String, String)], bool);

/// rkt's `ConvertedFromDocker`: docker2aci marks the images it converts with this annotation;
/// their implicit empty volumes get the image's content at the mount point, as Docker does.
pub(crate) fn converted_from_docker(manifest: &crate::appc::ImageManifest) -> bool {
    manifest
        .annotations
        .iter()
        .any(|(k, _)| k.as_str() == "appc.io/docker/repository")
}

/// The mounts of every app. `apps[i]` is (the image's mount points, the `--mount`s as
/// (volume, target)). A `--mount` names a declared volume; an image mount point without a
/// `--mount` of its name takes the volume of that name, else an implicit `empty` one (0755,
/// root). `volumes` gains the implicit ones; the returned dirs are every empty volume used.
pub(crate) fn plan_mounts(
    pod_dir: &Path,
    volumes: &mut Vec<Volume>,
    apps: &[AppMounts<'_>],
) -> Result<(Vec<Vec<Mount>>, Vec<EmptyDir>), String> {
    for (i, v) in volumes.iter().enumerate() {
        if volumes[..i].iter().any(|o| o.name == v.name) {
            return Err(format!("volume {:?} given twice", v.name.as_str()));
        }
    }
    let mut all = Vec::new();
    let mut empties: Vec<EmptyDir> = Vec::new();
    // The empty volumes made here for image mount points, which Docker images fill.
    let mut implicit: Vec<String> = Vec::new();
    for (mount_points, cli, from_docker) in apps {
        // (volume name, target): --mount first, then the image's mount points not overridden.
        let mut wanted: Vec<(String, String)> = Vec::new();
        for (vol, target) in cli.iter() {
            if !volumes.iter().any(|v| v.name.as_str() == vol) {
                return Err(format!("--mount: no volume named {vol:?} (see --volume)"));
            }
            wanted.push((vol.clone(), target.clone()));
        }
        for mp in mount_points.iter() {
            if cli.iter().any(|(v, _)| v == mp.name.as_str()) {
                continue;
            }
            if !volumes.iter().any(|v| v.name == mp.name) {
                implicit.push(mp.name.as_str().to_string());
                volumes.push(Volume {
                    name: mp.name.clone(),
                    kind: VolumeKind::Empty {
                        mode: "0755".into(),
                        uid: 0,
                        gid: 0,
                    },
                    read_only: None,
                    recursive: None,
                });
            }
            wanted.push((mp.name.as_str().to_string(), mp.path.clone()));
        }
        let mut mounts = Vec::new();
        for (vol, target) in wanted {
            let v = volumes
                .iter()
                .find(|v| v.name.as_str() == vol)
                .ok_or_else(|| format!("no volume named {vol:?}"))?;
            let (source, recursive) = match &v.kind {
                VolumeKind::Host { source } => (PathBuf::from(source), v.recursive.unwrap_or(true)),
                VolumeKind::Empty { mode, uid, gid } => {
                    let path = pod_dir.join("sharedVolumes").join(v.name.as_str());
                    if !empties.iter().any(|e| e.path == path) {
                        empties.push(EmptyDir {
                            path: path.clone(),
                            mode: parse_mode(mode)?,
                            uid: *uid,
                            gid: *gid,
                        });
                    }
                    (path, false)
                }
            };
            // Targets are normalized the way the plan checks them: absolute, no `..`.
            let target = normalize_target(&target)?;
            if mounts.iter().any(|m: &Mount| m.target == target) {
                continue; // a --mount on this path wins over the image's mount point
            }
            mounts.push(Mount {
                source,
                target,
                readonly: read_only(v, mount_points),
                recursive,
                fill: *from_docker && implicit.contains(&vol),
            });
        }
        all.push(mounts);
    }
    Ok((all, empties))
}

/// A mount target as rkt 1.30 took it (`filepath.Join(root, target)`): relative to the app's
/// root, `..` removed lexically and never above the root. Symlinks on the way are resolved
/// later, inside the rootfs, by stage1-init.
fn normalize_target(t: &str) -> Result<String, String> {
    let shown = crate::error::bounded(t);
    if t.contains('\0') {
        return Err(format!("mount target {shown:?} contains a NUL byte"));
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in t.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return Err(format!(
            "mount target {shown:?} is the app's root directory, which a volume would hide"
        ));
    }
    Ok(format!("/{}", parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mp(name: &str, path: &str, ro: bool) -> MountPoint {
        MountPoint {
            name: AcName::parse(name).unwrap(),
            path: path.into(),
            read_only: ro,
        }
    }

    #[test]
    fn volume_grammar() {
        let v = parse_volume("data,kind=host,source=/srv,readOnly=true,recursive=false").unwrap();
        assert_eq!(v.name.as_str(), "data");
        assert_eq!(
            v.kind,
            VolumeKind::Host {
                source: "/srv".into()
            }
        );
        assert_eq!((v.read_only, v.recursive), (Some(true), Some(false)));
        let v = parse_volume("e,kind=empty,mode=0700,uid=5,gid=6").unwrap();
        assert_eq!(
            v.kind,
            VolumeKind::Empty {
                mode: "0700".into(),
                uid: 5,
                gid: 6
            }
        );
        let v = parse_volume("e,kind=empty").unwrap();
        assert!(matches!(v.kind, VolumeKind::Empty { uid: 0, gid: 0, .. }));
        for bad in [
            "Bad,kind=host,source=/x",
            "x,kind=host",
            "x,kind=host,source=rel",
            "x,kind=host,source=/x,mode=0700",
            "x,kind=empty,source=/x",
            "x,kind=empty,mode=999",
            "x,kind=other",
            "x,source=/x",
            "x,kind=host,source=/x,readOnly=yes",
            "x,kind=host,kind=empty,source=/x",
            "x,kind=host,source=/x,bogus=1",
        ] {
            assert!(parse_volume(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mount_grammar() {
        assert_eq!(
            parse_mount("volume=v,target=/data").unwrap(),
            ("v".to_string(), "/data".to_string())
        );
        assert_eq!(
            parse_mount("volume=v,target=rel").unwrap(),
            ("v".to_string(), "rel".to_string())
        );
        for (given, normal) in [
            ("dir1", "/dir1"),
            ("/a/./b//c/", "/a/b/c"),
            ("/dir1/../dir1/.//link/foo", "/dir1/link/foo"),
            ("../../../../foo", "/foo"),
        ] {
            assert_eq!(normalize_target(given).unwrap(), normal);
        }
        for root in ["/", "/a/..", "..", "."] {
            assert!(normalize_target(root).is_err(), "{root}");
        }
        for bad in ["volume=v", "target=/x", "volume=v,target=", "v,/x", ""] {
            assert!(parse_mount(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mount_points_volumes_and_implicit_empty_volumes() {
        let pod = Path::new("/p");
        let mut vols = vec![
            parse_volume("host,kind=host,source=/srv").unwrap(),
            parse_volume("ro,kind=host,source=/etc,readOnly=true").unwrap(),
            parse_volume("shared,kind=empty,mode=0700,uid=3").unwrap(),
        ];
        let img_a = [mp("host", "/data", true), mp("implicit", "/scratch", false)];
        let cli_a = vec![("shared".to_string(), "/s/./x/".to_string())];
        let img_b = [mp("ro", "/etc2", false)];
        let cli_b = vec![
            ("shared".to_string(), "/s".to_string()),
            ("host".to_string(), "/etc2".to_string()),
        ];
        let (mounts, empties) = plan_mounts(
            pod,
            &mut vols,
            &[(&img_a, &cli_a, false), (&img_b, &cli_b, true)],
        )
        .unwrap();
        let a: Vec<(&str, &str, bool, bool)> = mounts[0]
            .iter()
            .map(|m| {
                (
                    m.source.to_str().unwrap(),
                    m.target.as_str(),
                    m.readonly,
                    m.recursive,
                )
            })
            .collect();
        assert_eq!(
            a,
            vec![
                ("/p/sharedVolumes/shared", "/s/x", false, false),
                // The volume has no readOnly: the mount point's applies.
                ("/srv", "/data", true, true),
                ("/p/sharedVolumes/implicit", "/scratch", false, false),
            ]
        );
        // b: the --mount on /etc2 wins over the image's mount point there.
        let b: Vec<(&str, &str)> = mounts[1]
            .iter()
            .map(|m| (m.source.to_str().unwrap(), m.target.as_str()))
            .collect();
        assert_eq!(
            b,
            vec![("/p/sharedVolumes/shared", "/s"), ("/srv", "/etc2")]
        );
        // Docker's semantics fill only the implicit empty volumes of a converted image.
        assert!(mounts.iter().flatten().all(|m| !m.fill));
        let mut docker_vols = vec![parse_volume("given,kind=empty").unwrap()];
        let img = [
            mp("implicit", "/var/lib/db", false),
            mp("given", "/g", false),
        ];
        let (mounts, _) = plan_mounts(pod, &mut docker_vols, &[(&img, &[], true)]).unwrap();
        let fill: Vec<(&str, bool)> = mounts[0]
            .iter()
            .map(|m| (m.target.as_str(), m.fill))
            .collect();
        assert_eq!(fill, [("/var/lib/db", true), ("/g", false)]);
        assert_eq!(
            empties,
            vec![
                EmptyDir {
                    path: "/p/sharedVolumes/shared".into(),
                    mode: 0o700,
                    uid: 3,
                    gid: 0
                },
                EmptyDir {
                    path: "/p/sharedVolumes/implicit".into(),
                    mode: 0o755,
                    uid: 0,
                    gid: 0
                },
            ]
        );
        assert_eq!(vols.len(), 4);

        let mut vols = vec![];
        let cli = vec![("nope".to_string(), "/x".to_string())];
        assert!(plan_mounts(pod, &mut vols, &[(&[], &cli, false)])
            .unwrap_err()
            .contains("no volume named \"nope\""));
        let mut vols = vec![
            parse_volume("a,kind=empty").unwrap(),
            parse_volume("a,kind=empty").unwrap(),
        ];
        assert!(plan_mounts(pod, &mut vols, &[]).is_err());
        let mut vols = vec![parse_volume("a,kind=empty").unwrap()];
        let cli = vec![("a".to_string(), "/x/..".to_string())];
        assert!(plan_mounts(pod, &mut vols, &[(&[], &cli, false)]).is_err());
    }
}
