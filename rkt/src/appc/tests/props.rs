//! Property tests: generated valid manifests survive write → parse unchanged, and parsing never
//! panics, whatever the bytes or the JSON.

use std::collections::BTreeMap;

use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use serde_json::Value;

use super::super::isolator::check_app_isolators;
use super::super::json::Json;
use super::super::{
    AcIdentifier, AcName, Annotations, App, Dependency, Environment, Event, EventHandler, Exec,
    ExposedPort, ImageId, ImageManifest, Isolator, Labels, Mount, MountPoint, PodManifest, Port,
    Quantity, Resource, RuntimeApp, RuntimeImage, Seccomp, SelinuxContext, SemVer, UserMap, Volume,
    VolumeKind, VALID_OS_ARCH,
};

const CASES: u32 = 256;

fn ac_name() -> impl Strategy<Value = AcName> {
    "[a-z0-9]{1,5}(-[a-z0-9]{1,5}){0,2}".prop_map(|s| AcName::parse(&s).unwrap())
}

fn ac_id() -> impl Strategy<Value = AcIdentifier> {
    "[a-z0-9]{1,5}([-._~/][a-z0-9]{1,5}){0,3}".prop_map(|s| AcIdentifier::parse(&s).unwrap())
}

/// Any text without NUL, control characters and escapes included.
fn text() -> impl Strategy<Value = String> {
    "[^\\x00]{0,8}"
}

fn semver() -> impl Strategy<Value = SemVer> {
    (
        "[0-9]{1,3}",
        "[0-9]{1,3}",
        "[1-9][0-9]{0,2}",
        "(-[a-z0-9]{1,4})?",
        "(\\+[a-z0-9]{1,3}(\\.[a-z0-9]{1,3})?)?",
    )
        .prop_map(|(a, b, c, pre, build)| {
            SemVer::parse(&format!("{a}.{b}.{c}{pre}{build}")).unwrap()
        })
}

fn image_id() -> impl Strategy<Value = ImageId> {
    "sha512-[0-9a-f]{1,128}".prop_map(|s| ImageId::parse(&s).unwrap())
}

fn labels() -> impl Strategy<Value = Labels> {
    let os_arch = proptest::sample::select(
        VALID_OS_ARCH
            .iter()
            .flat_map(|(os, archs)| archs.iter().map(move |a| (*os, *a)))
            .collect::<Vec<_>>(),
    );
    (btree_map(ac_id(), text(), 0..4), option::of(os_arch)).prop_map(|(free, os_arch)| {
        let mut list: Vec<(AcIdentifier, String)> = free
            .into_iter()
            .filter(|(n, _)| !matches!(n.as_str(), "name" | "os" | "arch"))
            .collect();
        if let Some((os, arch)) = os_arch {
            list.push((AcIdentifier::parse("os").unwrap(), os.into()));
            list.push((AcIdentifier::parse("arch").unwrap(), arch.into()));
        }
        Labels::new(list).unwrap()
    })
}

fn annotations() -> impl Strategy<Value = Annotations> {
    let created = proptest::sample::select(vec![
        "2014-10-27T19:32:27.67021798Z",
        "2020-02-29T00:00:00+01:00",
    ]);
    (btree_map(ac_id(), text(), 0..3), option::of(created)).prop_map(|(free, created)| {
        let mut list: Vec<(AcIdentifier, String)> = free
            .into_iter()
            .filter(|(n, _)| !matches!(n.as_str(), "created" | "homepage" | "documentation"))
            .collect();
        if let Some(c) = created {
            list.push((AcIdentifier::parse("created").unwrap(), c.into()));
            list.push((
                AcIdentifier::parse("homepage").unwrap(),
                "https://example.com/x".into(),
            ));
        }
        Annotations::new(list).unwrap()
    })
}

fn user_map() -> impl Strategy<Value = UserMap> {
    btree_map(text(), text(), 0..3).prop_map(|m: BTreeMap<String, String>| {
        let mut out = UserMap::default();
        for (k, v) in &m {
            out.insert(k, v);
        }
        out
    })
}

fn exec() -> impl Strategy<Value = Exec> {
    vec(text(), 0..3).prop_map(|args| Exec::new(args).unwrap())
}

fn quantity() -> impl Strategy<Value = Quantity> {
    "-?[0-9]{1,4}(\\.[0-9]{0,3})?(m|k|M|G|T|Ki|Mi|Gi|e3|E-2)?"
        .prop_map(|s| Quantity::parse(&s).unwrap())
}

fn isolator() -> impl Strategy<Value = Isolator> {
    let resource = || (option::of(quantity()), option::of(quantity()));
    let set = vec("[A-Z_]{1,8}", 1..3);
    prop_oneof![
        resource().prop_map(|(request, limit)| Isolator::ResourceCpu(Resource {
            default: false,
            request,
            limit
        })),
        resource().prop_map(|(request, limit)| Isolator::ResourceMemory(Resource {
            default: false,
            request,
            limit
        })),
        option::of(quantity()).prop_map(|limit| Isolator::ResourceBlockIops(Resource {
            default: true,
            request: None,
            limit
        })),
        set.clone().prop_map(Isolator::CapabilitiesRetainSet),
        set.clone().prop_map(Isolator::CapabilitiesRemoveSet),
        any::<bool>().prop_map(Isolator::NoNewPrivileges),
        (set.clone(), option::of("E[A-Z0-9]{0,5}"))
            .prop_map(|(set, errno)| Isolator::SeccompRemoveSet(Seccomp { set, errno })),
        (set, option::of("E[A-Z]{1,5}"))
            .prop_map(|(set, errno)| Isolator::SeccompRetainSet(Seccomp { set, errno })),
        (-1000..=1000i32).prop_map(Isolator::OomScoreAdj),
        (2..=262_144u32).prop_map(Isolator::CpuShares),
        (
            "[a-z_]{1,5}",
            "[a-z_]{1,5}",
            "[a-z_]{1,5}",
            "s0(:c[0-9]{1,2})?"
        )
            .prop_map(|(user, role, type_, level)| {
                Isolator::SelinuxContext(SelinuxContext {
                    user,
                    role,
                    type_,
                    level,
                })
            }),
        "[^\\x00]{1,8}".prop_map(Isolator::ApparmorProfile),
        btree_map("[a-z.]{1,8}", text(), 0..3).prop_map(Isolator::Sysctl),
    ]
}

fn unknown_isolator() -> impl Strategy<Value = Isolator> {
    (
        ac_id().prop_filter("unknown names only", |n| !n.as_str().contains('/')),
        json_value(),
    )
        .prop_map(|(name, v)| {
            let value = Json::parse(v.to_string().as_bytes()).unwrap();
            Isolator::Unknown { name, value }
        })
}

fn port() -> impl Strategy<Value = Port> {
    (
        ac_name(),
        "(tcp|udp|sctp)?",
        1..=65535u16,
        any::<bool>(),
        any::<u16>(),
    )
        .prop_map(|(name, protocol, port, socket_activated, c)| {
            let max = 65536 - u32::from(port);
            let count = u16::try_from(1 + u32::from(c) % max).unwrap();
            Port {
                name,
                protocol,
                port,
                count,
                socket_activated,
            }
        })
}

fn app() -> impl Strategy<Value = App> {
    let env = btree_map("[A-Za-z_][A-Za-z0-9_.-]{0,5}", text(), 0..3)
        .prop_map(|m| Environment::new(m.into_iter().collect()).unwrap());
    let handlers = (option::of(exec()), option::of(exec())).prop_map(|(pre, post)| {
        let mut out = Vec::new();
        if let Some(exec) = post {
            out.push(EventHandler {
                name: Event::PostStop,
                exec,
            });
        }
        if let Some(exec) = pre {
            out.push(EventHandler {
                name: Event::PreStart,
                exec,
            });
        }
        out
    });
    let mount_point =
        (ac_name(), "/[^\\x00]{0,8}", any::<bool>()).prop_map(|(name, path, read_only)| {
            MountPoint {
                name,
                path,
                read_only,
            }
        });
    let isolators = vec(isolator(), 0..4).prop_filter("valid app isolator set", |list| {
        check_app_isolators(list, &super::super::error::Path::ROOT).is_ok()
    });
    (
        (
            exec(),
            handlers,
            "[^\\x00]{1,6}",
            "[^\\x00]{1,6}",
            vec(0..u32::MAX, 0..3),
        ),
        (
            option::of("/[a-z/]{0,8}"),
            env,
            vec(mount_point, 0..3),
            vec(port(), 0..3),
            isolators,
        ),
        (user_map(), user_map()),
    )
        .prop_map(|(a, b, c)| App {
            exec: a.0,
            event_handlers: a.1,
            user: a.2,
            group: a.3,
            supplementary_gids: a.4,
            working_directory: b.0,
            environment: b.1,
            mount_points: b.2,
            ports: b.3,
            isolators: b.4,
            user_annotations: c.0,
            user_labels: c.1,
        })
}

fn image_manifest() -> impl Strategy<Value = ImageManifest> {
    let dependency = (
        ac_id(),
        option::of(image_id()),
        labels(),
        option::of(1..u64::MAX),
    )
        .prop_map(|(image_name, image_id, labels, size)| Dependency {
            image_name,
            image_id,
            labels,
            size,
        });
    (
        semver(),
        ac_id(),
        labels(),
        option::of(app()),
        vec(dependency, 0..3),
        vec(text(), 0..3),
        annotations(),
    )
        .prop_map(
            |(ac_version, name, labels, app, dependencies, path_whitelist, annotations)| {
                ImageManifest {
                    ac_version,
                    name,
                    labels,
                    app,
                    dependencies,
                    path_whitelist,
                    annotations,
                }
            },
        )
}

fn volume() -> impl Strategy<Value = Volume> {
    let kind = prop_oneof![
        "/[^\\x00]{0,8}".prop_map(|source| VolumeKind::Host { source }),
        ("0[0-7]{3}|rwx", 0..u32::MAX, 0..u32::MAX)
            .prop_map(|(mode, uid, gid)| VolumeKind::Empty { mode, uid, gid }),
    ];
    (
        ac_name(),
        kind,
        option::of(any::<bool>()),
        option::of(any::<bool>()),
    )
        .prop_map(|(name, kind, read_only, recursive)| Volume {
            name,
            kind,
            read_only,
            recursive,
        })
}

fn pod_manifest() -> impl Strategy<Value = PodManifest> {
    let image = (option::of(ac_id()), image_id(), labels())
        .prop_map(|(name, id, labels)| RuntimeImage { name, id, labels });
    let mount = (ac_name(), "/[^\\x00]{0,8}", option::of(volume())).prop_map(
        |(volume, path, app_volume)| Mount {
            volume,
            path,
            app_volume,
        },
    );
    let runtime_app = (
        ac_name(),
        image,
        option::of(app()),
        any::<bool>(),
        vec(mount, 0..2),
        annotations(),
    )
        .prop_map(
            |(name, image, app, read_only_root_fs, mounts, annotations)| RuntimeApp {
                name,
                image,
                app,
                read_only_root_fs,
                mounts,
                annotations,
            },
        );
    let exposed = (
        ac_name(),
        1..=65535u16,
        option::of(any::<[u8; 4]>()),
        option::of(port()),
    )
        .prop_map(|(name, host_port, ip, pod_port)| ExposedPort {
            name,
            host_port,
            host_ip: ip.map(Into::into),
            pod_port,
        });
    let isolators = vec(prop_oneof![isolator(), unknown_isolator()], 0..4);
    (
        (
            semver(),
            vec(runtime_app, 0..3),
            vec(volume(), 0..3),
            isolators,
        ),
        (annotations(), vec(exposed, 0..2), user_map(), user_map()),
    )
        .prop_map(|(a, b)| PodManifest {
            ac_version: a.0,
            apps: dedup_by_name(a.1, |x| &x.name),
            volumes: dedup_by_name(a.2, |x| &x.name),
            isolators: a.3,
            annotations: b.0,
            ports: b.1,
            user_annotations: b.2,
            user_labels: b.3,
        })
}

fn dedup_by_name<T>(items: Vec<T>, name: impl Fn(&T) -> &AcName) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for item in items {
        if !out.iter().any(|o| name(o) == name(&item)) {
            out.push(item);
        }
    }
    out
}

/// JSON whose object keys come from the manifests' vocabulary, in any case, so that random
/// documents reach deep into the validation.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e6..1e6f64).prop_map(Value::from),
        proptest::sample::select(vec![
            "ImageManifest",
            "PodManifest",
            "0.8.11",
            "0.0.0",
            "example.com/app",
            "a",
            "A",
            "linux",
            "amd64",
            "host",
            "empty",
            "/x",
            "x",
            "sha512-ab",
            "sha512-",
            "500m",
            "1Gi",
            "1GB",
            "pre-start",
            "EPERM",
            "resource/cpu",
            "os/linux/seccomp-retain-set",
            "os/unix/sysctl",
            "2014-10-27T19:32:27Z",
            "https://e.x",
            "",
        ])
        .prop_map(Value::from),
        "[^\\x00]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        let key = prop_oneof![
            proptest::sample::select(vec![
                "acKind",
                "acVersion",
                "name",
                "labels",
                "app",
                "apps",
                "value",
                "exec",
                "user",
                "group",
                "supplementaryGIDs",
                "eventHandlers",
                "workingDirectory",
                "environment",
                "isolators",
                "mountPoints",
                "ports",
                "userAnnotations",
                "userLabels",
                "dependencies",
                "imageName",
                "imageID",
                "size",
                "pathWhitelist",
                "annotations",
                "image",
                "id",
                "mounts",
                "volume",
                "path",
                "appVolume",
                "volumes",
                "kind",
                "source",
                "readOnly",
                "recursive",
                "mode",
                "uid",
                "gid",
                "hostPort",
                "hostIP",
                "podPort",
                "port",
                "count",
                "protocol",
                "socketActivated",
                "request",
                "limit",
                "default",
                "set",
                "errno",
                "profile",
                "level",
                "type",
                "role",
                "readOnlyRootFS",
            ])
            .prop_map(String::from),
            "[a-zA-Z]{1,4}",
        ];
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(key, inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A random document with a manifest's kind and version, so it gets past the first checks.
fn manifest_like() -> impl Strategy<Value = Value> {
    let kind = proptest::sample::select(vec!["ImageManifest", "PodManifest"]);
    (kind, json_value()).prop_map(|(kind, v)| {
        let mut obj = match v {
            Value::Object(m) => m,
            other => [("app".to_owned(), other)].into_iter().collect(),
        };
        obj.insert("acKind".into(), kind.into());
        obj.insert("acVersion".into(), "0.8.11".into());
        obj.entry("name").or_insert_with(|| "example.com/x".into());
        Value::Object(obj)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn image_manifests_round_trip(m in image_manifest()) {
        let out = m.to_json();
        prop_assert_eq!(ImageManifest::from_json(out.as_bytes()), Ok(m.clone()), "{}", out);
        prop_assert_eq!(ImageManifest::from_json(m.to_json_pretty().as_bytes()), Ok(m.clone()));
        // serde_json reads our output as the same JSON, whatever the escaping.
        let ours: Value = serde_json::from_str(&out).unwrap();
        let pretty: Value = serde_json::from_str(&m.to_json_pretty()).unwrap();
        prop_assert_eq!(ours, pretty);
    }

    #[test]
    fn pod_manifests_round_trip(p in pod_manifest()) {
        let out = p.to_json();
        prop_assert_eq!(PodManifest::from_json(out.as_bytes()), Ok(p.clone()), "{}", out);
        prop_assert_eq!(PodManifest::from_json(p.to_json_pretty().as_bytes()), Ok(p.clone()));
    }

    #[test]
    fn parsing_arbitrary_bytes_never_panics(bytes in vec(any::<u8>(), 0..512)) {
        let _ = ImageManifest::from_json(&bytes);
        let _ = PodManifest::from_json(&bytes);
    }

    #[test]
    fn parsing_arbitrary_json_never_panics_and_accepted_documents_round_trip(v in prop_oneof![json_value(), manifest_like()]) {
        let doc = v.to_string();
        if let Ok(m) = ImageManifest::from_json(doc.as_bytes()) {
            prop_assert_eq!(ImageManifest::from_json(m.to_json().as_bytes()), Ok(m));
        }
        if let Ok(p) = PodManifest::from_json(doc.as_bytes()) {
            prop_assert_eq!(PodManifest::from_json(p.to_json().as_bytes()), Ok(p));
        }
    }

    #[test]
    fn sanitized_names_are_valid(s in "\\PC{0,12}") {
        if let Ok(n) = AcName::sanitize(&s) {
            prop_assert_eq!(AcName::parse(n.as_str()), Ok(n.clone()));
        }
        if let Ok(n) = AcIdentifier::sanitize(&s) {
            prop_assert_eq!(AcIdentifier::parse(n.as_str()), Ok(n.clone()));
        }
    }

    #[test]
    fn quantities_never_panic(s in "[-+]?[0-9.]{0,30}[eEinumkKMGTP]{0,3}[-+]?[0-9]{0,25}") {
        if let Ok(q) = Quantity::parse(&s) {
            let _ = (q.value(), q.milli_value());
            prop_assert!(q.nano_value().abs() <= i128::from(i64::MAX) * 1_000_000_000);
        }
    }
}
